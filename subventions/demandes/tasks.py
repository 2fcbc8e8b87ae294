"""Thin tasks of the demandes app, and the outbox write they call."""

from __future__ import annotations

import logging

from celery import shared_task
from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import Prefetch
from django.template.loader import render_to_string

from subventions.demandes.models import Demande, LigneFinancement
from workflows.models import Courriel
from workflows.services import courriel_programmer

logger = logging.getLogger(__name__)

# Errors worth another try: the database restarting or failing over, a lock timeout, a dropped connection.
# Anything else (a template error, a bug) would fail the same way again and is left to the logs.
ERREURS_TRANSITOIRES = (OperationalError, InterfaceError, ConnectionError, TimeoutError)


def modele_courriel_depot(demande_id: int) -> str:
    """The outbox key of a demande's deposit notice: one notice per demande, whoever asks for it and how often."""
    return f"depot:{demande_id}"


def courriel_depot_programmer(*, demande_id: int, verrouillee: Demande | None = None) -> Courriel | None:
    """Write the deposit notice in the outbox, once per demande; it is sent after commit by the outbox task.

    Returns None when there is nothing to do: the notice already exists, or the demande is gone or not deposited.
    The demande row is locked first so that two runs at the same time (a retried task, two workers) queue one notice.
    `verrouillee` is the demande already locked by the caller's transaction (the deposit), with its porteur, campagne
    and financement lines loaded: it is used as it is.
    """
    with transaction.atomic():
        if verrouillee is None:
            if not Demande.objects.select_for_update().filter(pk=demande_id).exclude(numero="").exists():
                return None
        elif not verrouillee.numero:
            return None
        if Courriel.objects.filter(modele=modele_courriel_depot(demande_id)).exists():
            return None
        demande = verrouillee or (
            Demande.objects.select_related("porteur", "campagne", "depose_par")
            .prefetch_related(
                Prefetch("lignes_financement", queryset=LigneFinancement.objects.select_related("financeur"))
            )
            .get(pk=demande_id)
        )
        membres = demande.porteur.membres.select_related("user").filter(user__is_active=True)
        destinataires = {m.user.email for m in membres}
        if demande.depose_par is not None:
            destinataires.add(demande.depose_par.email)
        if not destinataires:
            return None
        contexte = {"demande": demande, "site": getattr(settings, "SUBVENTIONS_SITE_URL", "http://127.0.0.1:8000")}
        return courriel_programmer(
            destinataires=sorted(destinataires),
            sujet=f"Dépôt de votre demande {demande.numero} — {demande.intitule}",
            texte=render_to_string("demandes/email/depot.txt", contexte),
            modele=modele_courriel_depot(demande_id),
        )


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=ERREURS_TRANSITOIRES,
    max_retries=6,
    retry_backoff=30,  # 30 s, 1 min, 2 min … capped below, with jitter so that retries do not arrive together
    retry_backoff_max=30 * 60,
    retry_jitter=True,
)
def notifier_depot(self, demande_id: int) -> bool:
    """Email the deposit notice to the porteur's members; running it twice sends one email. True if queued now."""
    courriel = courriel_depot_programmer(demande_id=demande_id)
    if courriel is None:
        logger.info("Avis de dépôt de la demande %s : rien à envoyer (déjà programmé ou demande absente).", demande_id)
    return courriel is not None


@shared_task(
    bind=True,
    acks_late=True,
    autoretry_for=ERREURS_TRANSITOIRES,
    max_retries=6,
    retry_backoff=10,
    retry_backoff_max=10 * 60,
    retry_jitter=True,
)
def produire_recepisse(self, demande_id: int) -> bool:
    """Render and store the récépissé of a deposited demande; running it twice stores one document (the demande's
    row is locked while it is rendered). True if the document exists afterwards."""
    from subventions.demandes.services import recepisse_assurer

    demande = Demande.objects.filter(pk=demande_id).first()
    if demande is None:
        logger.info("Récépissé de la demande %s : demande absente, rien à produire.", demande_id)
        return False
    return recepisse_assurer(demande) is not None


# --- Reminders sent by Celery beat (CELERY_BEAT_SCHEDULE, every morning at 08:00 Europe/Paris) -------------------

JOURS_AVANT_ECHEANCE_COMPLEMENTS = 3
JOURS_AVANT_CLOTURE = 7


def _aujourdhui_a_paris():
    # The dates the porteurs read are French dates, whatever the worker's own timezone.
    from zoneinfo import ZoneInfo

    from django.utils import timezone

    paris = ZoneInfo("Europe/Paris")
    return timezone.localdate(timezone=paris), paris


@shared_task(acks_late=True, autoretry_for=ERREURS_TRANSITOIRES, max_retries=3, retry_backoff=60)
def rappeler_complements() -> int:
    """Remind each porteur whose complements are due in 3 days (Europe/Paris); running it twice sends one reminder
    per demande and deadline. Returns the number of reminders queued now."""
    from datetime import timedelta

    from subventions.demandes.enums import StatutDemande
    from subventions.demandes.notifications import notifier_rappel_complements

    aujourdhui, _paris = _aujourdhui_a_paris()
    echeance = aujourdhui + timedelta(days=JOURS_AVANT_ECHEANCE_COMPLEMENTS)
    demandes = Demande.objects.filter(statut=StatutDemande.A_COMPLETER, echeance_complements=echeance).select_related(
        "porteur", "campagne"
    )
    envoyes = 0
    for demande in demandes.iterator():
        if notifier_rappel_complements(demande=demande) is not None:
            envoyes += 1
    return envoyes


@shared_task(acks_late=True, autoretry_for=ERREURS_TRANSITOIRES, max_retries=3, retry_backoff=60)
def rappeler_cloture() -> int:
    """Remind the porteurs of every brouillon whose campagne closes in 7 days (by date, Europe/Paris); running it
    twice sends one reminder per brouillon. Returns the number of reminders queued now."""
    from datetime import datetime, time, timedelta

    from subventions.demandes.enums import StatutDemande
    from subventions.demandes.notifications import notifier_rappel_cloture

    aujourdhui, paris = _aujourdhui_a_paris()
    jour = aujourdhui + timedelta(days=JOURS_AVANT_CLOTURE)
    debut = datetime.combine(jour, time.min, tzinfo=paris)
    fin = datetime.combine(jour + timedelta(days=1), time.min, tzinfo=paris)
    demandes = Demande.objects.filter(
        statut=StatutDemande.BROUILLON, campagne__cloture__gte=debut, campagne__cloture__lt=fin
    ).select_related("porteur", "campagne")
    envoyes = 0
    for demande in demandes.iterator():
        if notifier_rappel_cloture(demande=demande, cloture=jour) is not None:
            envoyes += 1
    return envoyes
