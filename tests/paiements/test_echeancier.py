"""The échéancier: its arithmetic (property-based), its creation when an acte becomes executory, once."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

import pytest
from django.db import IntegrityError, transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from subventions.conventions.models import ActeAttribution
from subventions.conventions.signals import acte_executoire
from subventions.paiements.enums import NaturePaiement
from subventions.paiements.models import AcomptePrevu, Echeancier, Paiement
from subventions.paiements.services import PaiementRefuse, echeancier_creer, echeancier_repartir
from tests.paiements.aides import acte, avance, etat, paiements, rendre_executoire, ville
from workflows.models import TransitionLog

CENTIME = Decimal("0.01")
montants = st.integers(min_value=0, max_value=10**11 - 1).map(lambda c: Decimal(c) / 100)
taux = st.integers(min_value=0, max_value=10000).map(lambda t: Decimal(t) / 100)


@settings(max_examples=400, deadline=None)
@given(montant=montants, avance_taux=taux, acomptes=st.lists(taux, max_size=4))
def test_the_parts_add_up_to_the_total_to_the_cent(montant, avance_taux, acomptes):
    parts = echeancier_repartir(montant_total=montant, taux_avance=avance_taux, taux_acomptes=acomptes)
    assert sum(m for _n, _r, m in parts) == montant
    assert all(m > 0 and m == m.quantize(CENTIME) for _n, _r, m in parts), "no zero, negative or sub-cent payment"
    natures = [n for n, _r, _m in parts]
    assert natures.count(NaturePaiement.SOLDE) <= 1 and natures.count(NaturePaiement.AVANCE) <= 1
    assert natures == sorted(natures, key=[NaturePaiement.AVANCE, NaturePaiement.ACOMPTE, NaturePaiement.SOLDE].index)
    avance_attendue = (montant * min(avance_taux, Decimal(100)) / 100).quantize(CENTIME, rounding=ROUND_HALF_UP)
    assert {(n, r): m for n, r, m in parts}.get((NaturePaiement.AVANCE, 1), Decimal(0)) == avance_attendue


@settings(max_examples=200, deadline=None)
@given(montant=montants.filter(lambda m: m > 0), avance_taux=taux, acomptes=st.lists(taux, max_size=3))
def test_the_solde_takes_the_rounding_rest_and_disappears_at_100_percent(montant, avance_taux, acomptes):
    parts = echeancier_repartir(montant_total=montant, taux_avance=avance_taux, taux_acomptes=acomptes)
    solde = [m for n, _r, m in parts if n == NaturePaiement.SOLDE]
    if avance_taux + sum(acomptes) >= 100:
        assert not solde
    else:
        attendu = montant - (montant * (avance_taux + sum(acomptes)) / 100).quantize(CENTIME, rounding=ROUND_HALF_UP)
        assert solde == ([attendu] if attendu else [])


def test_a_third_of_a_cent_goes_on_the_solde():
    parts = echeancier_repartir(
        montant_total=Decimal("100.00"), taux_avance=Decimal("33.33"), taux_acomptes=[Decimal("33.33")]
    )
    assert parts == [
        ("avance", 1, Decimal("33.33")),
        ("acompte", 1, Decimal("33.33")),
        ("solde", 1, Decimal("33.34")),
    ]


def test_amounts_that_are_not_cents_are_refused():
    with pytest.raises(ValueError):
        echeancier_repartir(montant_total=Decimal("10.001"), taux_avance=Decimal("50"))


@pytest.mark.django_db
def test_an_executory_convention_gets_its_advance_due_and_its_solde_planned():
    financeur = etat()
    convention = acte(financeur, "12345.67")
    av, solde = paiements(convention)
    assert (av.nature, av.montant, av.statut) == ("avance", Decimal("6172.84"), "a_payer")
    assert (solde.nature, solde.montant, solde.statut) == ("solde", Decimal("6172.83"), "prevu")
    assert av.reference == f"{convention.numero}-AV" and solde.reference == f"{convention.numero}-SO"
    assert solde.echeance.isoformat() == "2016-06-30"
    assert av.financeur == financeur
    log = TransitionLog.objects.get(object_id=av.pk, transition="rendre_exigible")
    assert (log.source, log.cible, log.acteur) == ("prevu", "a_payer", None)


@pytest.mark.django_db
def test_a_second_signal_for_the_same_acte_creates_nothing():
    convention = acte(etat(), "8000.00")
    acte_executoire.send(sender=ActeAttribution, acte=convention)
    echeancier_creer(acte=convention)
    assert Echeancier.objects.count() == 1
    assert Paiement.objects.count() == 2
    assert TransitionLog.objects.filter(transition="rendre_exigible").count() == 1


@pytest.mark.django_db
def test_an_arrete_notified_and_an_avenant_get_their_own_schedule():
    financeur = ville()
    arrete = acte(financeur, "5000.00", nature="arrete", statut="notifiee")
    avenant = ActeAttribution.objects.create(
        financeur=financeur,
        porteur=arrete.porteur,
        campagne=arrete.campagne,
        exercice=arrete.exercice,
        nature="arrete",
        numero="VILLE-TEST-2015-0999",
        montant_total=Decimal("1000.00"),
        est_avenant=True,
        parent=arrete,
    )
    rendre_executoire(avenant, statut="notifiee")
    assert [(p.nature, p.montant) for p in paiements(arrete)] == [
        ("avance", Decimal("4000.00")),
        ("solde", Decimal("1000.00")),
    ]
    assert [(p.nature, p.montant, p.statut) for p in paiements(avenant)] == [
        ("avance", Decimal("800.00"), "a_payer"),
        ("solde", Decimal("200.00"), "prevu"),
    ]


@pytest.mark.django_db
def test_a_100_percent_advance_has_no_solde_row():
    convention = acte(etat(code="caf", nom="CAF", taux_avance=Decimal("100")), "3000.00")
    assert [(p.nature, p.montant, p.statut) for p in paiements(convention)] == [
        ("avance", Decimal("3000.00"), "a_payer")
    ]


@pytest.mark.django_db
def test_acomptes_of_the_financeur_are_planned_between_advance_and_solde():
    financeur = etat(taux_avance=Decimal("40"))
    AcomptePrevu.objects.create(financeur=financeur, rang=1, taux=Decimal("30"), delai_mois=6)
    convention = acte(financeur, "1000.00")
    av, acompte, solde = paiements(convention)
    assert (acompte.nature, acompte.montant, acompte.statut) == ("acompte", Decimal("300.00"), "prevu")
    assert acompte.reference.endswith("-AC1")
    six_mois = av.echeance.replace(
        year=av.echeance.year + (av.echeance.month + 5) // 12, month=(av.echeance.month + 5) % 12 + 1, day=1
    )
    assert (acompte.echeance.year, acompte.echeance.month) == (six_mois.year, six_mois.month)
    assert av.montant + acompte.montant + solde.montant == Decimal("1000.00")


@pytest.mark.django_db
def test_a_zero_advance_leaves_only_the_planned_solde():
    convention = acte(etat(taux_avance=Decimal("0")), "2000.00")
    assert [(p.nature, p.statut) for p in paiements(convention)] == [("solde", "prevu")]


@pytest.mark.django_db
def test_an_acte_that_is_not_executory_gets_no_schedule():
    brouillon = acte(etat(), executoire=False)
    with pytest.raises(PaiementRefuse, match="n'est pas exécutoire"):
        echeancier_creer(acte=brouillon)
    assert not Echeancier.objects.exists()


@pytest.mark.django_db
@pytest.mark.parametrize("montant", ["0.00", "-10.00"])
def test_the_database_refuses_a_zero_or_negative_payment(montant):
    convention = acte(etat())
    with pytest.raises(IntegrityError), transaction.atomic():
        Paiement.objects.filter(pk=avance(convention).pk).update(montant=Decimal(montant))
