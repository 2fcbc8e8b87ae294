"""`python manage.py comptes_rendus_ouvrir [--exercice AAAA]`: open the comptes-rendus of every executory acte that
lacks them (actes signed before the bilans app was installed, or while the task queue was down)."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from subventions.bilans.services import comptes_rendus_ouvrir_manquants


class Command(BaseCommand):
    help = "Ouvre les comptes-rendus financiers manquants des actes exécutoires."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--exercice", type=int, help="Seulement les actes de cet exercice.")

    def handle(self, *args, exercice: int | None = None, **options) -> None:
        n = comptes_rendus_ouvrir_manquants(exercice=exercice)
        self.stdout.write(f"Comptes-rendus ouverts : {n}")
