"""The payment workflow: each transition from its allowed states only, by finance staff of the financeur only, through
workflows (logged); the state field cannot be written directly."""

from __future__ import annotations

import datetime

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from subventions.comptes.enums import Role
from subventions.paiements.enums import StatutPaiement
from subventions.paiements.models import Paiement
from tests.factories import agent
from tests.paiements.aides import acte, avance, etat, finance, forcer_statut, recharger, ville
from workflows.models import TransitionLog
from workflows.transitions import TransitionRefusee, transition_appliquer

pytestmark = pytest.mark.django_db

TRANSITIONS = {
    "rendre_exigible": ({"prevu"}, "a_payer"),
    "exporter": ({"a_payer"}, "exporte"),
    "liberer": ({"exporte"}, "a_payer"),
    "payer": ({"exporte"}, "paye"),
    "rejeter": ({"exporte"}, "rejete"),
    "reprendre": ({"rejete"}, "a_payer"),
    "annuler": ({"prevu", "a_payer", "rejete"}, "annule"),
}
CAS = [(t, s) for t in TRANSITIONS for s in StatutPaiement.values]


def _preparer(paiement: Paiement, statut: str) -> Paiement:
    champs = {}
    if statut == "paye":
        champs = {"reglement_reference": "MANDAT-1", "reglement_date": datetime.date(2015, 7, 1)}
    if statut == "rejete":
        champs = {"motif_rejet": "Compte clos"}
    return forcer_statut(paiement, statut, **champs)


def _avant(transition):
    if transition == "payer":
        return lambda p: (
            setattr(p, "reglement_reference", "VIR-1"),
            setattr(p, "reglement_date", timezone.localdate()),
        )
    if transition == "rejeter":
        return lambda p: setattr(p, "motif_rejet", "IBAN inconnu")
    return None


@pytest.mark.parametrize(("transition", "source"), CAS)
def test_each_transition_is_taken_from_its_allowed_states_only(transition, source):
    financeur = etat()
    paiement = _preparer(avance(acte(financeur)), source)
    user = finance(financeur)
    sources, cible = TRANSITIONS[transition]
    if source in sources:
        apres = transition_appliquer(obj=paiement, transition=transition, acteur=user, avant=_avant(transition))
        assert recharger(apres).statut == cible
        assert TransitionLog.objects.filter(object_id=paiement.pk, transition=transition, acteur=user).exists()
    else:
        with pytest.raises(TransitionRefusee):
            transition_appliquer(obj=paiement, transition=transition, acteur=user, avant=_avant(transition))
        assert recharger(paiement).statut == source


@pytest.mark.parametrize(
    "qui",
    [
        lambda f: finance(ville()),
        lambda f: agent(Role.INSTRUCTEUR, financeurs=[f]),
        lambda f: agent(Role.SIGNATAIRE, financeurs=[f]),
    ],
    ids=["finance d'un autre financeur", "instructeur du financeur", "signataire du financeur"],
)
def test_only_finance_staff_of_the_financeur_may_act(qui):
    financeur = etat()
    paiement = avance(acte(financeur))
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        transition_appliquer(obj=paiement, transition="exporter", acteur=qui(financeur))
    assert recharger(paiement).statut == "a_payer"
    admin = agent(Role.ADMINISTRATEUR, tous=True)
    transition_appliquer(obj=paiement, transition="exporter", acteur=admin)
    assert recharger(paiement).statut == "exporte"


def test_the_state_cannot_be_written_directly():
    paiement = avance(acte(etat()))
    with pytest.raises(AttributeError):
        paiement.statut = "paye"


def test_the_database_refuses_a_paid_payment_without_reference_or_date():
    paiement = avance(acte(etat()))
    with pytest.raises(IntegrityError), transaction.atomic():
        Paiement.objects.filter(pk=paiement.pk).update(statut="paye", reglement_date=datetime.date(2015, 7, 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        Paiement.objects.filter(pk=paiement.pk).update(statut="rejete")
