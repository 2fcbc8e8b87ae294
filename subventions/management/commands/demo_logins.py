"""Prints one demo login per role."""

from django.conf import settings
from django.core.management.base import BaseCommand

from subventions import demo


class Command(BaseCommand):
    help = "Affiche les comptes de démonstration, un par rôle."

    def handle(self, *args, **options):
        self.stdout.write(f"Comptes de démonstration (mot de passe : {settings.SUBVENTIONS_DEMO_PASSWORD})")
        for compte in demo.COMPTES:
            role = compte.role.label if compte.role else "Association (porteur)"
            self.stdout.write(f"  {role:<28} {compte.email:<34} → http://127.0.0.1:8000{compte.espace}")
        self.stdout.write(
            "Les agents ont la double authentification activée ; code du moment : "
            "python manage.py demo_totp EMAIL (ou .venv/bin/python manage.py demo_totp EMAIL)."
        )
