"""Conventionnement: one document (convention or arrêté attributif) per financeur, porteur and exercice."""

from django.apps import AppConfig


class ConventionsConfig(AppConfig):
    name = "subventions.conventions"
    label = "conventions"
    verbose_name = "Conventions"

    def ready(self) -> None:
        from subventions.conventions import receivers  # noqa: F401  (blocked documents issued once fixed)
