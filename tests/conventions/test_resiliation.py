"""Résiliation of an acte: what was not yet sent to the bank is cancelled with it, nothing else."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from subventions.comptes.enums import Role
from subventions.conventions.models import StatutActe
from subventions.conventions.services import acte_resilier
from subventions.paiements.models import AcomptePrevu
from tests.factories import agent
from tests.paiements.aides import acte, avance, etat, forcer_statut, paiements
from workflows.models import TransitionLog

pytestmark = pytest.mark.django_db


def test_a_terminated_convention_is_not_paid_at_the_next_liste():
    financeur = etat()  # 50 % at signature
    AcomptePrevu.objects.create(financeur=financeur, rang=1, taux=Decimal("20"), delai_mois=6)
    convention = acte(financeur, "10000.00")
    # The advance was paid in July (mandate and date of the payment, as the payment return records them).
    forcer_statut(avance(convention), "paye", reglement_reference="MANDAT-2015-0042", reglement_date=date(2015, 7, 20))
    signataire = agent(Role.SIGNATAIRE, financeurs=[financeur])

    resiliee = acte_resilier(convention, acteur=signataire, motif="Action abandonnée en septembre")

    assert resiliee.statut == StatutActe.RESILIEE
    assert [(p.nature, p.montant, p.statut) for p in paiements(convention)] == [
        ("avance", Decimal("5000.00"), "paye"),
        ("acompte", Decimal("2000.00"), "annule"),
        ("solde", Decimal("3000.00"), "annule"),
    ]
    commentaires = set(
        TransitionLog.objects.filter(transition="annuler", cible="annule").values_list("commentaire", flat=True)
    )
    assert commentaires == {f"Acte {convention.numero} résilié : Action abandonnée en septembre"}


def test_a_payment_already_sent_to_the_bank_is_left_to_finance():
    financeur = etat()
    convention = acte(financeur, "8000.00")
    forcer_statut(avance(convention), "exporte")  # in a liste the bank has received
    acte_resilier(convention, acteur=agent(Role.SIGNATAIRE, financeurs=[financeur]), motif="Dissolution")
    assert [(p.nature, p.statut) for p in paiements(convention)] == [("avance", "exporte"), ("solde", "annule")]
