"""The outbox: a row in the transaction, sent once after commit, retried on failure, re-queued when stuck."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.core import mail
from django.db import transaction

from workflows.enums import StatutCourriel
from workflows.models import Courriel
from workflows.services import courriel_envoyer, courriel_programmer


@pytest.mark.django_db
def test_email_is_sent_after_commit_only(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        courriel = courriel_programmer(destinataires=["a@exemple.test"], sujet="Dépôt reçu", texte="Bonjour")
    assert mailoutbox == []
    assert courriel.statut == StatutCourriel.EN_ATTENTE
    for callback in callbacks:
        callback()
    courriel.refresh_from_db()
    assert courriel.statut == StatutCourriel.ENVOYE
    assert [m.subject for m in mailoutbox] == ["Dépôt reçu"]


@pytest.mark.django_db
def test_rolled_back_transaction_sends_nothing(mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        try:
            with transaction.atomic():
                courriel_programmer(destinataires=["a@exemple.test"], sujet="Jamais", texte="…")
                raise RuntimeError("échec métier")
        except RuntimeError:
            pass
    assert Courriel.objects.count() == 0
    assert mailoutbox == []


@pytest.mark.django_db
def test_sending_twice_sends_once(mailoutbox):
    courriel = Courriel.objects.create(destinataires=["a@exemple.test"], sujet="Une fois", texte="…")
    assert courriel_envoyer(courriel_id=courriel.pk) is True
    assert courriel_envoyer(courriel_id=courriel.pk) is False
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_smtp_failure_keeps_the_error_and_the_row(monkeypatch, mailoutbox):
    courriel = Courriel.objects.create(destinataires=["a@exemple.test"], sujet="Panne", texte="…")

    def panne(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP injoignable")

    monkeypatch.setattr(mail.EmailMessage, "send", panne)
    with pytest.raises(ConnectionRefusedError):
        courriel_envoyer(courriel_id=courriel.pk)
    courriel.refresh_from_db()
    assert courriel.statut == StatutCourriel.EN_ATTENTE
    assert courriel.tentatives == 1
    assert "SMTP injoignable" in courriel.derniere_erreur
    monkeypatch.undo()
    assert courriel_envoyer(courriel_id=courriel.pk) is True


@pytest.mark.django_db
def test_periodic_task_requeues_stuck_emails(mailoutbox, django_capture_on_commit_callbacks):
    from django.utils import timezone

    from workflows.tasks import courriels_relancer

    vieux = Courriel.objects.create(destinataires=["a@exemple.test"], sujet="Bloqué", texte="…")
    Courriel.objects.filter(pk=vieux.pk).update(cree_le=timezone.now() - timedelta(hours=1))
    Courriel.objects.create(destinataires=["b@exemple.test"], sujet="Récent", texte="…")
    with django_capture_on_commit_callbacks(execute=True):
        assert courriels_relancer() == 1
    assert [m.subject for m in mailoutbox] == ["Bloqué"]


@pytest.mark.django_db
def test_periodic_task_leaves_a_failed_email_to_its_backoff(mailoutbox, django_capture_on_commit_callbacks):
    """A mail server down: the failed email is retried on the backoff schedule (prochain_essai), not every 5 minutes
    by the catch-up task; only a retry that is 5 minutes late (its task was lost) is queued again."""
    from django.utils import timezone

    from workflows.services import delai_nouvel_essai
    from workflows.tasks import courriels_relancer

    maintenant = timezone.now()
    attend = Courriel.objects.create(destinataires=["a@exemple.test"], sujet="Attend son essai", texte="…")
    perdu = Courriel.objects.create(destinataires=["b@exemple.test"], sujet="Essai perdu", texte="…")
    Courriel.objects.filter(pk=attend.pk).update(
        cree_le=maintenant - timedelta(hours=1), tentatives=4, prochain_essai=maintenant + timedelta(minutes=3)
    )
    Courriel.objects.filter(pk=perdu.pk).update(
        cree_le=maintenant - timedelta(hours=2), tentatives=6, prochain_essai=maintenant - timedelta(minutes=6)
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert courriels_relancer() == 1
    assert [m.subject for m in mailoutbox] == ["Essai perdu"]
    assert delai_nouvel_essai(1) == timedelta(seconds=30) and delai_nouvel_essai(4) == timedelta(minutes=4)


@pytest.mark.django_db
def test_a_failed_attempt_says_when_the_next_one_is(monkeypatch, settings):
    from django.utils import timezone

    from workflows.services import courriel_envoyer

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    courriel = Courriel.objects.create(destinataires=["a@exemple.test"], sujet="Serveur en panne", texte="…")

    def panne(self, *args, **kwargs):
        raise ConnectionRefusedError("SMTP indisponible")

    monkeypatch.setattr("django.core.mail.backends.locmem.EmailBackend.send_messages", panne)
    avant = timezone.now()
    with pytest.raises(ConnectionRefusedError):
        courriel_envoyer(courriel_id=courriel.pk)
    courriel.refresh_from_db()
    assert courriel.tentatives == 1 and courriel.statut == StatutCourriel.EN_ATTENTE
    assert avant + timedelta(seconds=30) <= courriel.prochain_essai <= timezone.now() + timedelta(seconds=30)
    monkeypatch.undo()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert courriel_envoyer(courriel_id=courriel.pk) is True
    courriel.refresh_from_db()
    assert courriel.statut == StatutCourriel.ENVOYE and courriel.prochain_essai is None


@pytest.mark.real_queue
@pytest.mark.django_db(transaction=True)
def test_task_goes_through_the_configured_broker_to_a_real_worker(settings):
    """Filesystem broker by default, Redis when CELERY_BROKER_URL says so (CI)."""
    from celery.contrib.testing.worker import start_worker

    from subventions.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert app.conf.task_always_eager is False
    courriel = Courriel.objects.create(destinataires=["a@exemple.test"], sujet="Par la file", texte="…")
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        from workflows.tasks import envoyer_courriel

        envoyer_courriel.delay(courriel.pk)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            courriel.refresh_from_db()
            if courriel.statut == StatutCourriel.ENVOYE:
                break
            time.sleep(0.2)
    assert courriel.statut == StatutCourriel.ENVOYE
