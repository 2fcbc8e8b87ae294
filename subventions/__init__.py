"""Subventions: the yearly subsidy programme of a contrat de ville, from request to payment."""

from subventions.celery import app as celery_app

__all__ = ["celery_app"]
