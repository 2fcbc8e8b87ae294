"""Accounts: the custom User (email login) and staff habilitations."""

from django.apps import AppConfig


class ComptesConfig(AppConfig):
    name = "subventions.comptes"
    label = "comptes"
    verbose_name = "Comptes et habilitations"
