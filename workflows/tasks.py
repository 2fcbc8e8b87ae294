"""Thin Celery tasks of the workflow machinery."""

from __future__ import annotations

from datetime import timedelta

from celery import shared_task
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from workflows.enums import StatutCourriel
from workflows.models import Courriel
from workflows.services import courriel_envoyer, delai_nouvel_essai


@shared_task(bind=True, max_retries=7, acks_late=True)
def envoyer_courriel(self, courriel_id: int) -> bool:
    try:
        return courriel_envoyer(courriel_id=courriel_id)
    except Courriel.DoesNotExist:
        return False
    except Exception as exc:
        # Exponential backoff: 30 s, 1 min, 2 min … about one hour in all (the row says when: prochain_essai).
        delai = delai_nouvel_essai(self.request.retries + 1).total_seconds()
        raise self.retry(exc=exc, countdown=delai) from exc


@shared_task
def courriels_relancer() -> int:
    """Queue again the emails still waiting (the broker was down, or a worker died): never sent and older than
    5 minutes, or failed and whose retry is 5 minutes late. An email waiting for its retry is left to it, so that a
    mail server that is down is tried on the backoff schedule, not every 5 minutes."""
    maintenant = timezone.now()
    seuil = maintenant - timedelta(minutes=5)
    en_retard = Q(prochain_essai__isnull=True, cree_le__lt=seuil) | Q(prochain_essai__lt=seuil)
    ids = list(Courriel.objects.filter(en_retard, statut=StatutCourriel.EN_ATTENTE).values_list("pk", flat=True)[:500])
    for pk in ids:
        transaction.on_commit(lambda pk=pk: envoyer_courriel.delay(pk))
    return len(ids)
