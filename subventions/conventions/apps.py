"""Conventionnement: one document (convention or arrêté attributif) per financeur, porteur and exercice."""

from django.apps import AppConfig


class ConventionsConfig(AppConfig):
    name = "subventions.conventions"
    label = "conventions"
    verbose_name = "Conventions"
