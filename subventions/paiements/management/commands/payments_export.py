"""Put every due payment of a financeur in a new liste de paiements and write its file (CSV, XLSX or SEPA)."""

from __future__ import annotations

import datetime
import os
import tempfile
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from subventions.paiements.enums import DOCUMENTS_LISTE, FormatExport
from subventions.paiements.services import Criteres, PaiementRefuse, RienAPayer, liste_creer, sepa_configure
from subventions.referentiel.models import Financeur
from workflows.documents import document_courant
from workflows.transitions import TransitionRefusee


class Command(BaseCommand):
    help = (
        "Crée une liste de paiements avec tous les paiements dus d'un financeur (échéance jusqu'à --due-before "
        "incluse, si donnée) et écrit son fichier. Relancée sans nouveau paiement dû, elle le dit et n'écrit rien."
    )

    def add_arguments(self, parser):
        parser.add_argument("--financeur", required=True, help="Code (par exemple « etat ») ou identifiant.")
        parser.add_argument("--due-before", dest="due_before", help="Échéance maximale, AAAA-MM-JJ (incluse).")
        parser.add_argument("--format", dest="format_", required=True, help="csv, xlsx ou sepa.")
        parser.add_argument("--out", required=True, help="Fichier à écrire.")

    def handle(self, *args, financeur, due_before, format_, out, **options):
        financeur_obj = _financeur(financeur)
        echeance_max = _date(due_before)
        format_choisi = _format(format_)
        sortie = Path(out)
        if not sortie.parent.resolve().is_dir():
            raise CommandError(f"Le dossier de « {out} » n'existe pas.")
        if format_choisi == FormatExport.SEPA and not sepa_configure(financeur_obj):
            raise CommandError(
                f"Le compte SEPA de {financeur_obj.nom} (donneur d'ordre) n'est pas renseigné : "
                "choisissez --format csv ou xlsx, ou complétez le financeur."
            )
        try:
            resultat = liste_creer(
                criteres=Criteres(financeur=financeur_obj, echeance_max=echeance_max), acteur=None, cle=None
            )
        except RienAPayer as exc:
            self._bloques(exc.bloques)
            self.stdout.write(f"{exc} Aucune liste créée, aucun fichier écrit.")
            return
        except (PaiementRefuse, TransitionRefusee) as exc:
            raise CommandError(str(exc)) from exc
        liste = resultat.liste
        nature, _extension, _mime = DOCUMENTS_LISTE[format_choisi]
        document = document_courant(liste, nature)
        with document.fichier.open("rb") as fichier:
            contenu = fichier.read()
        _ecrire(sortie, contenu)
        self._bloques(resultat.bloques)
        self.stdout.write(
            f"Liste {liste.numero} : {liste.nb_paiements} paiement(s), {liste.montant_total} € — "
            f"fichier {format_choisi.value} écrit dans {sortie} (SHA-256 {document.sha256})."
        )

    def _bloques(self, bloques) -> None:
        for paiement, motif in bloques:
            self.stderr.write(f"Bloqué {paiement.reference} ({paiement.echeancier.acte.porteur.nom}) : {motif}")


def _ecrire(chemin: Path, contenu: bytes) -> None:
    """Write through a temporary file renamed at the end: a reader never sees half a file."""
    descripteur, temporaire = tempfile.mkstemp(dir=chemin.parent.resolve(), prefix=f".{chemin.name}.")
    try:
        with os.fdopen(descripteur, "wb") as fichier:
            fichier.write(contenu)
        os.replace(temporaire, chemin)
    except BaseException:
        Path(temporaire).unlink(missing_ok=True)
        raise


def _financeur(valeur: str) -> Financeur:
    valeur = (valeur or "").strip()
    financeur = Financeur.objects.filter(code=valeur).first()
    if financeur is None and valeur.isdigit():
        financeur = Financeur.objects.filter(pk=int(valeur)).first()
    if financeur is None:
        codes = ", ".join(Financeur.objects.order_by("code").values_list("code", flat=True))
        raise CommandError(f"Financeur inconnu : « {valeur} ». Codes connus : {codes or 'aucun'}.")
    return financeur


def _date(valeur: str | None) -> datetime.date | None:
    if valeur is None:
        return None
    try:
        return datetime.date.fromisoformat(valeur.strip())
    except ValueError:
        raise CommandError(
            f"--due-before attend une date AAAA-MM-JJ (par exemple 2015-12-31), pas « {valeur} »."
        ) from None


def _format(valeur: str) -> FormatExport:
    valeur = (valeur or "").strip().lower()
    if valeur not in FormatExport.values:
        raise CommandError(f"Format inconnu : « {valeur} ». Formats possibles : {', '.join(FormatExport.values)}.")
    return FormatExport(valeur)
