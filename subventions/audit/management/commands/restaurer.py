"""`make restore FILE=…`: replace the database and the media folder by those of a backup archive."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from subventions.audit.sauvegardes import SauvegardeErreur, restaurer


class Command(BaseCommand):
    help = "Restaure une sauvegarde (base et fichiers) : les données actuelles sont remplacées."

    def add_arguments(self, parser):
        parser.add_argument("fichier", help="Archive sauvegarde-AAAAMMJJ-HHMMSS.tar.gz")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive")

    def handle(self, *args, fichier: str, interactive: bool = True, **options):
        if interactive:
            reponse = input(
                "La base et les fichiers actuels seront remplacés par ceux de la sauvegarde. Tapez « oui » : "
            )
            if reponse.strip().lower() != "oui":
                raise CommandError("Restauration annulée.")
        try:
            manifeste = restaurer(fichier=Path(fichier))
        except SauvegardeErreur as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(
            f"Sauvegarde du {manifeste['cree_le']} restaurée ({manifeste['moteur']}, "
            f"{manifeste['fichiers_media']} fichier(s))."
        )
