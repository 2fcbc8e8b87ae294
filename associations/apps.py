"""The porteurs: registry, members and their roles, document vault, the portal."""

from django.apps import AppConfig


class AssociationsConfig(AppConfig):
    name = "associations"
    verbose_name = "Associations (porteurs)"
