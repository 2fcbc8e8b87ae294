"""Writes a financeur's SCDL "subventions" file (v2.1.1) for a year: its conventions, arrêtés and avenants."""

from __future__ import annotations

import sys

from django.core.management.base import BaseCommand, CommandError

from subventions.pilotage import scdl
from subventions.pilotage.arguments import annee_argument, financeur_argument
from subventions.templatetags.subventions_tags import formater_montant


class Command(BaseCommand):
    help = (
        "Données essentielles des conventions de subvention (décret 2017-779) au format SCDL « subventions » "
        f"v{scdl.VERSION} : une ligne par convention, arrêté attributif ou avenant du financeur pour l'exercice "
        "--annee, devenu exécutoire (signé, notifié, ou soldé depuis ; les documents résiliés ou pas encore signés "
        "ne sont pas publiés). Colonnes, ordre, formats et valeurs du schéma officiel : UTF-8, séparateur virgule, "
        "dates AAAA-MM-JJ, décimales avec un point ; idAttribuant est le SIRET du financeur (obligatoire), "
        "idBeneficiaire celui du porteur (les documents d'un porteur sans SIRET sont écartés et listés, sauf une "
        "aide en nature à une association identifiée par son RNA) ; pourcentageSubvention la part du budget des "
        "actions (charges hors contributions en nature) que finance la subvention ; conditionsVersement et "
        "datesPeriodeVersement viennent "
        "de l'échéancier."
    )

    def add_arguments(self, parser):
        parser.add_argument("--financeur", required=True, help="Code (par exemple « etat ») ou identifiant.")
        parser.add_argument("--annee", required=True, help="Exercice des documents, par exemple 2015.")
        parser.add_argument("--out", required=True, help="Fichier CSV à écrire (« - » : la sortie standard).")

    def handle(self, *args, financeur, annee, out, **options):
        financeur = financeur_argument(financeur)
        annee = annee_argument(annee, "--annee")
        try:
            scdl.verifier_financeur(financeur)
        except scdl.ExportScdlImpossible as exc:
            raise CommandError(str(exc)) from exc
        actes = scdl.actes_scdl(financeur=financeur, annee=annee)
        resume = scdl.resume(actes)
        ecartes = scdl.ecartes(financeur=financeur, annee=annee)
        morceaux = scdl.csv_scdl(scdl.lignes_scdl(actes))
        if out == "-":
            for morceau in morceaux:
                sys.stdout.write(morceau)
            # The file goes to stdout: what was left out goes to stderr, so that the CSV stays valid.
            if ecartes:
                self.stderr.write(self._ecartes(ecartes))
            return
        try:
            with open(out, "w", encoding="utf-8", newline="") as fichier:
                for morceau in morceaux:
                    fichier.write(morceau)
        except OSError as exc:
            raise CommandError(f"Impossible d'écrire {out} : {exc}.") from exc
        self.stdout.write(
            f"{out} : {resume['n']} ligne(s) SCDL v{scdl.VERSION} pour {financeur.nom}, exercice {annee} "
            f"(montant total {formater_montant(resume['total'] or 0)})."
        )
        if ecartes:
            self.stdout.write(self._ecartes(ecartes))

    @staticmethod
    def _ecartes(numeros: list[str]) -> str:
        return (
            f"{len(numeros)} lignes écartées : bénéficiaire sans SIRET ({', '.join(numeros)}). Complétez le SIRET "
            "de ces porteurs puis exportez à nouveau."
        )
