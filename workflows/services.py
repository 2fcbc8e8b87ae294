"""Writes of the workflow machinery: queue an email in the outbox, send it once."""

from __future__ import annotations

import logging
from datetime import timedelta
from email.utils import parseaddr

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone

from workflows.enums import StatutCourriel
from workflows.models import Courriel

logger = logging.getLogger(__name__)

MAX_TENTATIVES = 8


def delai_nouvel_essai(tentatives: int) -> timedelta:
    """Wait before the next attempt after `tentatives` failed ones: 30 s, 1 min, 2 min … (about an hour in all)."""
    return timedelta(seconds=30 * 2 ** max(0, tentatives - 1))


def courriel_programmer(
    *, destinataires: list[str], sujet: str, texte: str, html: str = "", modele: str = ""
) -> Courriel:
    """Write the email in the outbox (inside the caller's transaction) and send it after commit."""
    from workflows.tasks import envoyer_courriel

    courriel = Courriel(destinataires=destinataires, sujet=sujet[:255], texte=texte, html=html, modele=modele)
    courriel.full_clean()
    courriel.save()
    transaction.on_commit(lambda: _mettre_en_file(envoyer_courriel, courriel.pk))
    return courriel


def _mettre_en_file(task, pk: int) -> None:
    # A broker that is down must not lose the email: the row stays en_attente and the periodic
    # courriels_relancer task queues it again once the broker is back.
    try:
        task.delay(pk)
    except Exception:  # noqa: BLE001 - any broker error; the outbox row is the source of truth
        logger.warning("Courriel %s laissé dans la boîte d'envoi : file de tâches indisponible.", pk, exc_info=True)


def message_id(courriel: Courriel) -> str:
    """The same Message-ID on every attempt to send one outbox row.

    Sending is at least once: a worker that dies after the SMTP server accepted the message but before the row is
    committed as sent leaves it en_attente, and the next attempt sends it again. With one Message-ID, the copies are
    one message for the mail servers and clients that deduplicate on it."""
    domaine = parseaddr(settings.DEFAULT_FROM_EMAIL)[1].rpartition("@")[2] or "subventions.localhost"
    return f"<courriel-{courriel.pk}.{int(courriel.cree_le.timestamp())}@{domaine}>"


def courriel_envoyer(*, courriel_id: int) -> bool:
    """Send one outbox email; safe to run twice (a sent email is never sent again). Returns True if sent now.

    The row stays locked while the message goes out, so two workers never send it both. A failure is
    recorded (attempts, error) and committed, then re-raised so that the task retries with backoff.
    """
    erreur: Exception | None = None
    with transaction.atomic():
        courriel = Courriel.objects.select_for_update().get(pk=courriel_id)
        if courriel.statut != StatutCourriel.EN_ATTENTE:
            return False
        courriel.tentatives += 1
        message = EmailMultiAlternatives(
            subject=courriel.sujet,
            body=courriel.texte,
            from_email=settings.DEFAULT_FROM_EMAIL,
            to=courriel.destinataires,
            headers={"Message-ID": message_id(courriel)},
        )
        if courriel.html:
            message.attach_alternative(courriel.html, "text/html")
        try:
            message.send()
        except Exception as exc:  # noqa: BLE001 - any transport error is recorded, then re-raised below
            erreur = exc
            courriel.derniere_erreur = f"{type(exc).__name__}: {exc}"
            if courriel.tentatives >= MAX_TENTATIVES:
                courriel.statut = StatutCourriel.ECHEC
                courriel.prochain_essai = None
            else:
                courriel.prochain_essai = timezone.now() + delai_nouvel_essai(courriel.tentatives)
        else:
            courriel.statut = StatutCourriel.ENVOYE
            courriel.envoye_le = timezone.now()
            courriel.derniere_erreur = ""
            courriel.prochain_essai = None
        courriel.save(update_fields=["tentatives", "derniere_erreur", "statut", "envoye_le", "prochain_essai"])
    if erreur is not None:
        if courriel.statut == StatutCourriel.ECHEC:
            logger.error("Courriel %s abandonné après %s essais : %s", courriel.pk, courriel.tentatives, erreur)
            return False
        raise erreur
    return True
