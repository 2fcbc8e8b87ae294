"""Thin tasks of the bilans: open an acte's comptes-rendus, settle an acte once its advance is paid, and the morning
reminders (Celery beat, 08:00 Europe/Paris)."""

from __future__ import annotations

import datetime
import logging
from zoneinfo import ZoneInfo

from celery import shared_task
from django.db import InterfaceError, OperationalError
from django.utils import timezone

logger = logging.getLogger(__name__)
PARIS = ZoneInfo("Europe/Paris")
# Errors worth another try: the database restarting, a lock timeout, a dropped connection.
ERREURS_TRANSITOIRES = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def aujourdhui() -> datetime.date:
    """Today in Paris: the due dates the porteurs read are French dates, whatever the worker's timezone."""
    return timezone.localdate(timezone=PARIS)


@shared_task(
    acks_late=True,
    autoretry_for=ERREURS_TRANSITOIRES,
    max_retries=6,
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
)
def ouvrir_comptes_rendus(acte_id: int) -> int:
    """Open the comptes-rendus of an acte that became executory; running it twice opens nothing more."""
    from subventions.bilans.services import comptes_rendus_ouvrir
    from subventions.conventions.models import ActeAttribution

    acte = ActeAttribution.objects.filter(pk=acte_id).first()
    return len(comptes_rendus_ouvrir(acte=acte)) if acte is not None else 0


@shared_task(
    acks_late=True,
    autoretry_for=ERREURS_TRANSITOIRES,
    max_retries=6,
    retry_backoff=30,
    retry_backoff_max=30 * 60,
    retry_jitter=True,
)
def etablir_solde(acte_id: int) -> int:
    """Settle the acte if its comptes-rendus are all validated and it has no décompte yet (1 if settled now)."""
    from subventions.bilans.services import soldes_en_attente_etablir

    return soldes_en_attente_etablir(acte_ids=[acte_id])


@shared_task(acks_late=True, autoretry_for=ERREURS_TRANSITOIRES, max_retries=3, retry_backoff=60)
def rappeler_comptes_rendus(jour: str | None = None) -> int:
    """Email the porteurs whose comptes-rendus are due in one month or today (Europe/Paris; `jour`, AAAA-MM-JJ,
    replaces today for a manual catch-up run). Catches up first on what a broker outage may have left: comptes-rendus
    not opened, soldes not settled. Running it twice on the same day sends nothing more. Returns the number of
    reminders queued now."""
    from subventions.bilans.notifications import rappels_programmer
    from subventions.bilans.services import comptes_rendus_ouvrir_manquants, soldes_en_attente_etablir

    ouverts = comptes_rendus_ouvrir_manquants()
    soldes = soldes_en_attente_etablir()
    if ouverts or soldes:
        logger.info("Rattrapage : %s compte(s)-rendu(s) ouvert(s), %s solde(s) établi(s).", ouverts, soldes)
    return rappels_programmer(aujourdhui=datetime.date.fromisoformat(jour) if jour else aujourdhui())
