"""Paiements: échéancier of each executory acte, payment workflow, payment listes and their exports."""

from django.apps import AppConfig


class PaiementsConfig(AppConfig):
    name = "subventions.paiements"
    label = "paiements"
    verbose_name = "Paiements"

    def ready(self) -> None:
        from subventions.paiements import receivers  # noqa: F401  (connects to conventions' acte_executoire)
