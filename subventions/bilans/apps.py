"""Bilans: the compte-rendu financier of each funded action (CERFA n° 15059), its validation, solde and reversement."""

from django.apps import AppConfig


class BilansConfig(AppConfig):
    name = "subventions.bilans"
    label = "bilans"
    verbose_name = "Comptes rendus financiers"

    def ready(self) -> None:
        from subventions.bilans import receivers  # noqa: F401  (acte executory; advance paid)
