"""Imports a spreadsheet of past subsidies (SCDL or older layouts, CSV or XLSX) and prints a French report."""

from __future__ import annotations

import json
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from subventions.pilotage.arguments import annee_argument, financeur_argument
from subventions.pilotage.lecture import FichierIlisible
from subventions.pilotage.services import subventions_importer


class Command(BaseCommand):
    help = (
        "Importe des subventions attribuées (programmes passés, données d'autres financeurs) depuis un fichier CSV "
        "(séparateur point-virgule, virgule ou tabulation ; UTF-8 avec ou sans BOM, Windows-1252, latin-1) ou XLSX, "
        "en colonnes SCDL (toute version) ou dans l'ancienne disposition COLL_/ATTRIB_/SUB_. Montants en notation "
        "française ou anglaise. Chaque ligne devient une action validée de la campagne historique de son année, avec "
        "son montant accordé ; le porteur est retrouvé par SIRET valide puis par nom, ou créé (sans SIRET quand le "
        "fichier n'en donne pas de valide : le rapport le signale, SIRET à compléter) ; puis les conventions et "
        "arrêtés sont bâtis selon la règle de regroupement habituelle, enregistrés comme exécutoires à la date de la "
        "convention et clos (soldés : ni document, ni échéancier, ni compte-rendu, ni rappel). Tout se fait en une "
        "transaction ; une ligne déjà importée ne "
        "l'est pas deux fois ; un fichier illisible ne change rien."
    )

    def add_arguments(self, parser):
        parser.add_argument("fichier", help="Chemin du fichier CSV ou XLSX.")
        parser.add_argument(
            "--financeur", help="Code ou identifiant du financeur de toutes les lignes (sinon : lu dans le fichier)."
        )
        parser.add_argument("--annee", help="Exercice des lignes sans date de convention ni période de versement.")
        parser.add_argument("--dry-run", action="store_true", dest="simulation", help="Tout vérifier, ne rien écrire.")
        parser.add_argument("--report", dest="rapport", help="Écrire aussi le rapport en JSON dans ce fichier.")

    def handle(self, *args, fichier, financeur, annee, simulation, rapport, **options):
        chemin = Path(fichier)
        try:
            contenu = chemin.read_bytes()
        except OSError as exc:
            raise CommandError(f"Impossible de lire {fichier} : {exc}.") from exc
        try:
            resultat = subventions_importer(
                contenu=contenu,
                nom_fichier=chemin.name,
                financeur=financeur_argument(financeur),
                simulation=simulation,
                annee=annee_argument(annee, "--annee") if annee else None,
            )
        except FichierIlisible as exc:
            raise CommandError(f"{chemin.name} : {exc} Rien n'a été importé.") from exc
        for ligne in resultat.lignes_texte():
            self.stdout.write(ligne)
        if rapport:
            Path(rapport).write_text(json.dumps(resultat.en_dict(), ensure_ascii=False, indent=2), encoding="utf-8")
