"""Thin Celery tasks of the workflow machinery."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from workflows.enums import StatutCourriel
from workflows.models import Courriel
from workflows.services import courriel_envoyer


@shared_task(bind=True, max_retries=7, acks_late=True)
def envoyer_courriel(self, courriel_id: int) -> bool:
    try:
        return courriel_envoyer(courriel_id=courriel_id)
    except Courriel.DoesNotExist:
        return False
    except Exception as exc:
        # Exponential backoff: 30 s, 1 min, 2 min … about one hour in all.
        raise self.retry(exc=exc, countdown=30 * 2**self.request.retries) from exc


@shared_task
def courriels_relancer() -> int:
    """Queue again the emails still waiting (the broker was down, or a worker died)."""
    seuil = timezone.now() - timedelta(minutes=5)
    ids = list(
        Courriel.objects.filter(statut=StatutCourriel.EN_ATTENTE, cree_le__lt=seuil).values_list("pk", flat=True)[:500]
    )
    for pk in ids:
        transaction.on_commit(lambda pk=pk: envoyer_courriel.delay(pk))
    return len(ids)
