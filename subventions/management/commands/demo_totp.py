"""Prints the current TOTP code of a demo staff account (the demo has no phone to scan a QR code)."""

from allauth.mfa import app_settings
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from subventions import demo


class Command(BaseCommand):
    help = "Affiche le code TOTP courant d'un compte agent de démonstration."

    def add_arguments(self, parser):
        parser.add_argument("email")

    def handle(self, *args, email, **options):
        comptes = {c.email: c for c in demo.COMPTES if c.role}
        if email not in comptes:
            raise CommandError(f"{email} n'est pas un compte agent de démonstration ({', '.join(comptes)}).")
        compteur = int(timezone.now().timestamp()) // app_settings.TOTP_PERIOD
        self.stdout.write(format_hotp_value(hotp_value(demo.secret_totp_demo(email), compteur)))
