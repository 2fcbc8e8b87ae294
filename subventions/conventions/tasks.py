"""Thin tasks: build the documents after a séance is closed, issue blocked documents once the porteur is fixed."""

from __future__ import annotations

import logging

from celery import shared_task

from subventions.demandes.tasks import ERREURS_TRANSITOIRES

logger = logging.getLogger(__name__)


@shared_task(
    acks_late=True,
    autoretry_for=ERREURS_TRANSITOIRES,
    max_retries=6,
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
)
def conventions_batir_campagne(campagne_id: int) -> dict[str, int]:
    """Group the campagne's granted lines into documents and render them; idempotent, so a retry or a second
    delivery (late acknowledgement) changes nothing that was already done."""
    from subventions.campagnes.models import Campagne
    from subventions.conventions.services import conventions_batir

    campagne = Campagne.objects.filter(pk=campagne_id).first()
    if campagne is None:
        logger.warning("Campagne %s absente : aucune convention à bâtir.", campagne_id)
        return {}
    resultat = conventions_batir(campagne=campagne)
    logger.info("Conventions de la campagne %s : %s", campagne.exercice, resultat)
    return resultat


@shared_task(acks_late=True, autoretry_for=ERREURS_TRANSITOIRES, max_retries=6, retry_backoff=30, retry_jitter=True)
def actes_debloquer_porteur(porteur_id: int) -> int:
    from subventions.conventions.services import actes_debloquer

    return actes_debloquer(porteur_id=porteur_id)
