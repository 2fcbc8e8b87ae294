"""Campagnes (appels à projets) and the enveloppes each financeur puts into them."""

from django.apps import AppConfig


class CampagnesConfig(AppConfig):
    name = "subventions.campagnes"
    label = "campagnes"
    verbose_name = "Campagnes"
