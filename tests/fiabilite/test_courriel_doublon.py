"""The one window where the outbox sends twice, and what limits its harm: a worker that dies after the SMTP server
accepted the message but before the row is committed as sent. Every attempt carries the same Message-ID."""

from __future__ import annotations

import pytest

from workflows.enums import StatutCourriel
from workflows.models import Courriel
from workflows.services import courriel_envoyer, message_id

pytestmark = pytest.mark.django_db


class MortDuWorker(BaseException):
    """What SIGKILL looks like from inside the transaction: it never commits (not an Exception: nothing catches it)."""


def test_a_worker_dying_between_smtp_and_commit_resends_with_the_same_message_id(monkeypatch, mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "Subventions <no-reply@subventions.example.org>"
    courriel = Courriel.objects.create(destinataires=["a@exemple.test"], sujet="Dépôt reçu", texte="…")
    sauver = Courriel.save

    def mourir_au_commit(self, *args, **kwargs):
        if self.statut == StatutCourriel.ENVOYE:
            raise MortDuWorker
        return sauver(self, *args, **kwargs)

    monkeypatch.setattr(Courriel, "save", mourir_au_commit)
    with pytest.raises(MortDuWorker):
        courriel_envoyer(courriel_id=courriel.pk)
    monkeypatch.undo()
    courriel.refresh_from_db()
    assert courriel.statut == StatutCourriel.EN_ATTENTE and courriel.tentatives == 0  # rolled back

    assert courriel_envoyer(courriel_id=courriel.pk) is True
    assert courriel_envoyer(courriel_id=courriel.pk) is False  # sent: never again
    ids = [m.message()["Message-ID"] for m in mailoutbox]
    assert len(ids) == 2 and ids[0] == ids[1] == message_id(courriel)
    assert ids[0].endswith("@subventions.example.org>")
