"""Emails to the porteur: compléments, irrecevable, décision and the beat reminders — written once, sent after
commit, in French, to the porteur's active members."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.conf import settings
from django.utils import timezone

from subventions.comptes.enums import Role
from subventions.demandes import services
from subventions.demandes.models import Demande, LigneFinancement
from subventions.demandes.notifications import notifier_complements, notifier_decision, notifier_irrecevable
from subventions.demandes.tasks import rappeler_cloture, rappeler_complements
from tests.factories import CampagneFactory, FinanceurFactory, MembreFactory, UserFactory, agent, demande_complete
from workflows.models import Courriel

pytestmark = pytest.mark.django_db

PARIS = ZoneInfo("Europe/Paris")
NBSP = "\u00a0"


def _forcer(demande: Demande, statut: str, **champs) -> Demande:
    Demande.objects.filter(pk=demande.pk).update(statut=statut, **champs)
    return Demande.objects.get(pk=demande.pk)


def _aujourdhui():
    return timezone.localdate(timezone=PARIS)


@pytest.fixture
def monde():
    demande = demande_complete(intitule="Ateliers d'écriture")
    demande = _forcer(demande, "deposee", numero=f"{demande.campagne.exercice}-000042")
    gestionnaire = MembreFactory(porteur=demande.porteur, role="gestionnaire").user
    parti = MembreFactory(porteur=demande.porteur, role="lecteur", user=UserFactory(is_active=False)).user
    etranger = MembreFactory().user  # a member of another association
    etat = demande.campagne.financeurs.get(code="etat")
    return {
        "demande": demande,
        "rl": demande.cree_par,
        "gestionnaire": gestionnaire,
        "parti": parti,
        "etranger": etranger,
        "instr": agent(Role.INSTRUCTEUR, financeurs=[etat]),
        "etat": etat,
    }


def _lien(demande: Demande) -> str:
    return f"{settings.SUBVENTIONS_SITE_URL}/demandes/{demande.pk}/"


def test_complements_email_says_what_is_missing_by_when_with_a_link(
    monde, mailoutbox, django_capture_on_commit_callbacks
):
    echeance = _aujourdhui() + timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        services.demande_demander_complements(
            demande=monde["demande"], user=monde["instr"], message="Le RIB joint est illisible.", echeance=echeance
        )
    assert len(mailoutbox) == 1
    courriel = mailoutbox[0]
    assert sorted(courriel.to) == sorted([monde["rl"].email, monde["gestionnaire"].email])
    assert monde["parti"].email not in courriel.to and monde["etranger"].email not in courriel.to
    assert courriel.subject.startswith("Compléments demandés pour votre demande ")
    assert monde["demande"].numero in courriel.subject
    assert "Le RIB joint est illisible." in courriel.body
    assert f"au plus tard le {echeance:%d/%m/%Y}" in courriel.body
    assert _lien(monde["demande"]) in courriel.body
    assert "&#x27;" not in courriel.body and "Ateliers d'écriture" in courriel.body  # plain text, never escaped


def test_complements_notice_is_written_once_per_request(monde, mailoutbox, django_capture_on_commit_callbacks):
    echeance = _aujourdhui() + timedelta(days=10)
    with django_capture_on_commit_callbacks(execute=True):
        demande = services.demande_demander_complements(
            demande=monde["demande"], user=monde["instr"], message="Budget", echeance=echeance
        )
        assert notifier_complements(demande=demande, message="Budget", echeance=echeance) is None
    assert len(mailoutbox) == 1
    # A second round of complements is a new event: a new email.
    demande = _forcer(demande, "deposee")
    with django_capture_on_commit_callbacks(execute=True):
        services.demande_demander_complements(
            demande=demande, user=monde["instr"], message="Statuts signés", echeance=echeance + timedelta(days=1)
        )
    assert [("Statuts signés" in m.body) for m in mailoutbox] == [False, True]
    assert Courriel.objects.filter(modele__startswith=f"complements:{demande.pk}:").count() == 2


def test_refused_complements_send_nothing(monde, mailoutbox, django_capture_on_commit_callbacks):
    demande = _forcer(monde["demande"], "en_instruction")
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(services.TransitionRefusee):
        services.demande_demander_complements(
            demande=demande, user=monde["instr"], message="Budget", echeance=_aujourdhui() + timedelta(days=5)
        )
    assert mailoutbox == [] and not Courriel.objects.exists()


def test_irrecevable_email_gives_the_motif_once(monde, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        demande = services.demande_declarer_irrecevable(
            demande=monde["demande"], user=monde["instr"], motif="L'action ne concerne aucun quartier prioritaire."
        )
        assert notifier_irrecevable(demande=demande, motif="encore") is None
    assert len(mailoutbox) == 1
    courriel = mailoutbox[0]
    assert sorted(courriel.to) == sorted([monde["rl"].email, monde["gestionnaire"].email])
    assert "irrecevable" in courriel.subject
    assert "L'action ne concerne aucun quartier prioritaire." in courriel.body
    assert _lien(demande) in courriel.body


def test_decision_email_lists_each_line_with_its_granted_amount(monde, mailoutbox, django_capture_on_commit_callbacks):
    demande = _forcer(monde["demande"], "validee")
    LigneFinancement.objects.filter(demande=demande, financeur=monde["etat"]).update(
        statut="accordee", montant_accorde=Decimal("6500.00")
    )
    with django_capture_on_commit_callbacks(execute=True):
        notifier_decision(demande=demande)
        assert notifier_decision(demande=demande) is None
    assert len(mailoutbox) == 1
    courriel = mailoutbox[0]
    assert courriel.subject.startswith("Décision sur votre demande ")
    assert "Décision : Validée" in courriel.body
    assert f"État : Accordée, montant accordé 6{NBSP}500,00{NBSP}€ (demandé : 8{NBSP}000,00{NBSP}€)" in courriel.body
    assert "Ville de Test" not in courriel.body  # a line with nothing asked is not a decision
    assert _lien(demande) in courriel.body


# --- Reminders (Celery beat) -------------------------------------------------------------------------------------


def test_complements_reminder_goes_3_days_before_the_deadline_only(
    monde, mailoutbox, django_capture_on_commit_callbacks
):
    campagne, porteur = monde["demande"].campagne, monde["demande"].porteur
    attendues = {}
    for jours in (2, 3, 4):
        d = demande_complete(membre=porteur.membres.first(), campagne=campagne, intitule=f"Dans {jours} jours")
        attendues[jours] = _forcer(d, "a_completer", echeance_complements=_aujourdhui() + timedelta(days=jours))
    # Same deadline but already sent back: no reminder.
    _forcer(monde["demande"], "deposee", echeance_complements=_aujourdhui() + timedelta(days=3))
    with django_capture_on_commit_callbacks(execute=True):
        assert rappeler_complements() == 1
    with django_capture_on_commit_callbacks(execute=True):
        assert rappeler_complements() == 0  # beat ran twice (or a retry): nothing more
    assert len(mailoutbox) == 1
    courriel = mailoutbox[0]
    echeance = _aujourdhui() + timedelta(days=3)
    assert courriel.subject == f"Rappel : compléments attendus le {echeance:%d/%m/%Y} — Dans 3 jours"
    assert f"au plus tard le {echeance:%d/%m/%Y}, dans 3 jours" in courriel.body
    assert _lien(attendues[3]) in courriel.body
    assert sorted(courriel.to) == sorted([monde["rl"].email, monde["gestionnaire"].email])


def _campagne_fermant(jour, heure=time(12, 0)):
    cloture = datetime.combine(jour, heure, tzinfo=PARIS)
    return CampagneFactory(
        ouverture=cloture - timedelta(days=60), cloture=cloture, financeurs=[FinanceurFactory(code="etat")]
    )


def test_closing_reminder_goes_to_drafts_of_campagnes_closing_in_7_days(
    mailoutbox, django_capture_on_commit_callbacks
):
    dans_7 = _aujourdhui() + timedelta(days=7)
    ferme = _campagne_fermant(dans_7)
    # 00:30 in Paris is still the evening before in UTC: the day counts in Paris.
    ferme_tot = _campagne_fermant(dans_7, time(0, 30))
    brouillon = demande_complete(campagne=ferme, intitule="Brouillon à déposer")
    tot = demande_complete(campagne=ferme_tot, intitule="Brouillon, clôture à minuit trente")
    _forcer(demande_complete(campagne=ferme, intitule="Déjà déposée"), "deposee")
    demande_complete(campagne=_campagne_fermant(dans_7 - timedelta(days=1)), intitule="Dans 6 jours")
    demande_complete(campagne=_campagne_fermant(dans_7 + timedelta(days=1)), intitule="Dans 8 jours")
    with django_capture_on_commit_callbacks(execute=True):
        assert rappeler_cloture() == 2
    with django_capture_on_commit_callbacks(execute=True):
        assert rappeler_cloture() == 0
    assert len(mailoutbox) == 2
    par_demande = {m.body.split("La demande « ")[1].split(" »")[0]: m for m in mailoutbox}
    assert set(par_demande) == {brouillon.intitule, tot.intitule}
    courriel = par_demande[brouillon.intitule]
    assert courriel.to == [brouillon.cree_par.email]
    assert f"ferme le {dans_7:%d/%m/%Y} à 12:00 (heure de Paris), dans 7 jours" in courriel.body
    assert "n'a pas été déposée" in courriel.body
    assert _lien(brouillon) in courriel.body


def test_reminders_are_scheduled_every_morning_at_8():
    from subventions.celery import app

    for nom in ("rappeler_complements", "rappeler_cloture"):
        entree = next(e for e in settings.CELERY_BEAT_SCHEDULE.values() if e["task"].endswith(f".{nom}"))
        assert entree["task"] in app.tasks
        assert entree["schedule"].hour == {8} and entree["schedule"].minute == {0}
    assert settings.CELERY_TIMEZONE == "Europe/Paris"
