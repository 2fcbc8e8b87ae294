"""Shared workflow machinery: transition service and log (next issues), notification outbox."""

from django.apps import AppConfig


class WorkflowsConfig(AppConfig):
    name = "workflows"
    verbose_name = "Workflows et notifications"
