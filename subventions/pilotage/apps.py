"""Pilotage: dashboards, programme statistics, SCDL open data, imports of past programmes."""

from django.apps import AppConfig


class PilotageConfig(AppConfig):
    name = "subventions.pilotage"
    label = "pilotage"
    verbose_name = "Pilotage"
