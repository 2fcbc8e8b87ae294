"""Campagnes and enveloppes: dates, participation of the financeur, pilier split."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from subventions.campagnes.enums import PhaseCampagne
from subventions.campagnes.models import Enveloppe
from tests.factories import CampagneFactory, EnveloppeFactory, FinanceurFactory, PilierFactory

pytestmark = pytest.mark.django_db


def test_closing_before_opening_is_rejected():
    campagne = CampagneFactory.build(contrat=CampagneFactory().contrat, exercice=2031)
    campagne.cloture = campagne.ouverture - timedelta(hours=1)
    with pytest.raises(ValidationError) as exc:
        campagne.full_clean()
    assert "postérieure à l'ouverture" in str(exc.value.message_dict["cloture"])


def test_closing_date_is_also_a_database_constraint():
    campagne = CampagneFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        type(campagne).objects.filter(pk=campagne.pk).update(cloture=campagne.ouverture)


def test_phase_follows_the_dates():
    now = timezone.now()
    assert CampagneFactory().phase(now) == PhaseCampagne.OUVERTE
    assert CampagneFactory(close=True).phase(now) == PhaseCampagne.CLOSE
    assert CampagneFactory(a_venir=True).phase(now) == PhaseCampagne.A_VENIR


def test_enveloppe_needs_a_participating_financeur():
    campagne = CampagneFactory()
    enveloppe = Enveloppe(campagne=campagne, financeur=FinanceurFactory(), montant=Decimal("1000"))
    with pytest.raises(ValidationError) as exc:
        enveloppe.full_clean()
    assert "ne participe pas" in str(exc.value.message_dict["financeur"])


def test_one_global_enveloppe_per_financeur_and_campagne():
    financeur = FinanceurFactory()
    campagne = CampagneFactory(financeurs=[financeur])
    EnveloppeFactory(campagne=campagne, financeur=financeur)
    with pytest.raises(IntegrityError), transaction.atomic():
        EnveloppeFactory(campagne=campagne, financeur=financeur)


def test_pilier_split_cannot_exceed_the_global_enveloppe():
    financeur = FinanceurFactory()
    campagne = CampagneFactory(financeurs=[financeur])
    p1 = PilierFactory(contrat=campagne.contrat)
    p2 = PilierFactory(contrat=campagne.contrat)
    EnveloppeFactory(campagne=campagne, financeur=financeur, montant=Decimal("1000.00"))
    Enveloppe(campagne=campagne, financeur=financeur, pilier=p1, montant=Decimal("600.00")).full_clean()
    EnveloppeFactory(campagne=campagne, financeur=financeur, pilier=p1, montant=Decimal("600.00"))
    with pytest.raises(ValidationError, match="dépasserait l'enveloppe globale"):
        Enveloppe(campagne=campagne, financeur=financeur, pilier=p2, montant=Decimal("400.01")).full_clean()


def test_negative_or_zero_amount_rejected():
    financeur = FinanceurFactory()
    campagne = CampagneFactory(financeurs=[financeur])
    with pytest.raises(ValidationError) as exc:
        Enveloppe(campagne=campagne, financeur=financeur, montant=Decimal("0")).full_clean()
    assert "positif" in str(exc.value.message_dict["montant"])
