"""The référentiel: financeurs, contrat de ville (piliers → objectifs), QPV, territoires."""

from django.apps import AppConfig


class ReferentielConfig(AppConfig):
    name = "subventions.referentiel"
    label = "referentiel"
    verbose_name = "Référentiel"
