"""The morning reminders (Celery beat): one month before the due date (30 June of the next year) and on the day,
one email per porteur listing its comptes-rendus still to file; run twice, sent once. Dates are frozen."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings

from subventions.bilans import tasks
from subventions.bilans.notifications import rappels_programmer
from tests.bilans import aides

pytestmark = pytest.mark.django_db


@pytest.fixture
def m():
    m = aides.monde()
    acte = aides.acte(m, aides.action(m), aides.action(m, intitule="Soutien scolaire"))
    # A third action of the porteur, already deposited: no reminder for it.
    depose = aides.acte(m, aides.action(m, intitule="Sorties familles"), exercice=2016)
    aides.deposer(aides.compte_rendu(depose), m.gestionnaire)
    m.acte = acte
    return m


def _geler(monkeypatch, jour: date) -> None:
    monkeypatch.setattr(tasks, "aujourdhui", lambda: jour)


def test_one_month_before_then_on_the_day_once_each(m, monkeypatch, mailoutbox, django_capture_on_commit_callbacks):
    envois = {}
    for jour in (date(2016, 5, 29), date(2016, 5, 30), date(2016, 5, 30), date(2016, 6, 29), date(2016, 6, 30)):
        _geler(monkeypatch, jour)
        with django_capture_on_commit_callbacks(execute=True):
            envois.setdefault(jour, []).append(tasks.rappeler_comptes_rendus())
    assert envois == {
        date(2016, 5, 29): [0],
        date(2016, 5, 30): [1, 0],  # beat ran twice (or a retry): nothing more
        date(2016, 6, 29): [0],
        date(2016, 6, 30): [1],
    }
    assert len(mailoutbox) == 2
    mois, jour_j = mailoutbox
    assert mois.subject == f"Rappel : comptes-rendus financiers à déposer avant le 30/06/2016 — {m.porteur.nom}"
    assert jour_j.subject == f"Dernier jour : comptes-rendus financiers à déposer aujourd'hui — {m.porteur.nom}"
    assert sorted(mois.to) == sorted(u.email for u in (m.representant, m.gestionnaire, m.lecteur))
    assert "Ateliers d'écriture" in mois.body and "Soutien scolaire" in mois.body
    assert "Sorties familles" not in mois.body  # deposited
    assert f"/bilans/porteur/{m.porteur.pk}/" in mois.body


def test_a_compte_rendu_sent_back_for_corrections_is_reminded_too(m):
    from subventions.bilans.services import compte_rendu_demander_corrections

    cr = aides.deposer(aides.compte_rendu(m.acte, m.acte.lignes.first().ligne), m.gestionnaire)
    compte_rendu_demander_corrections(compte_rendu=cr, acteur=m.instructeur, commentaire="Factures manquantes")
    assert rappels_programmer(aujourdhui=date(2016, 6, 30)) == 1
    from workflows.models import Courriel

    courriel = Courriel.objects.get(modele__startswith="rappel-compte-rendu:")
    assert "(corrections demandées)" in courriel.texte


def test_nothing_to_remind_when_everything_is_deposited(m):
    for cr in m.acte.comptes_rendus.all():
        aides.deposer(cr, m.representant)
    assert rappels_programmer(aujourdhui=date(2016, 5, 30)) == 0


def test_a_manual_run_may_name_its_day(m):
    assert tasks.rappeler_comptes_rendus(jour="2016-05-30") == 1
    assert tasks.rappeler_comptes_rendus(jour="2016-05-30") == 0


def test_the_reminders_are_scheduled_every_morning_at_8():
    from subventions.celery import app

    entree = next(
        e
        for e in settings.CELERY_BEAT_SCHEDULE.values()
        if e["task"] == "subventions.bilans.tasks.rappeler_comptes_rendus"
    )
    assert entree["task"] in app.tasks
    assert entree["schedule"].hour == {8} and entree["schedule"].minute == {0}
