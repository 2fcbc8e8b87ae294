"""The request for one action: content, budget, co-financing lines, pièces, deposit and its récépissé."""

from django.apps import AppConfig


class DemandesConfig(AppConfig):
    name = "subventions.demandes"
    label = "demandes"
    verbose_name = "Demandes de subvention"
