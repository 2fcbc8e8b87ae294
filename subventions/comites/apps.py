"""Comités: séances, ordre du jour, decisions per financeur line, procès-verbal and decision letters."""

from django.apps import AppConfig


class ComitesConfig(AppConfig):
    name = "subventions.comites"
    label = "comites"
    verbose_name = "Comités"
