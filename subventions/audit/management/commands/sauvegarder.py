"""`make backup`: the database and the media folder in one archive under var/backups/."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from subventions.audit.sauvegardes import SauvegardeErreur, sauvegarder


class Command(BaseCommand):
    help = "Sauvegarde la base (pg_dump ou SQLite) et les fichiers (media) dans une archive horodatée."

    def add_arguments(self, parser):
        parser.add_argument("--dossier", help="Dossier de destination (défaut : var/backups/).")

    def handle(self, *args, dossier: str | None = None, **options):
        try:
            cible = sauvegarder(dossier=Path(dossier) if dossier else None)
        except SauvegardeErreur as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(f"Sauvegarde écrite : {cible} ({cible.stat().st_size} octets).")
