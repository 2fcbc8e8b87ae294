"""Periodic task: purge the drafts past their retention period (Celery beat, once a day)."""

from __future__ import annotations

from celery import shared_task

from subventions.audit import services


@shared_task
def purger_brouillons() -> int:
    """Can run twice: a second run finds nothing left to delete."""
    return len(services.brouillons_purger()["supprimes"])
