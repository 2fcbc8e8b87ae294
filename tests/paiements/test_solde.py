"""`solde_rendre_exigible`, the entry point of the future compte-rendu financier: the solde due in full, reduced,
cancelled, or turned into a reversement when more was paid than is due."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone

from subventions.comptes.enums import Role
from subventions.paiements.models import AcomptePrevu, Paiement, Reversement
from subventions.paiements.services import (
    Criteres,
    PaiementRefuse,
    liste_creer,
    paiement_payer,
    solde_rendre_exigible,
)
from tests.factories import agent
from tests.paiements.aides import acte, avance, etat, finance, paiements, recharger
from workflows.models import TransitionLog

pytestmark = pytest.mark.django_db


def _avance_payee(financeur, montant="10000.00", **kw):
    objet = acte(financeur, montant, **kw)
    user = finance(financeur)
    liste_creer(criteres=Criteres(financeur=financeur), acteur=user)
    paiement_payer(paiement=avance(objet), acteur=user, reference="VIR-1", date=timezone.localdate())
    return objet


@pytest.fixture
def instructeur():
    return agent(Role.INSTRUCTEUR, tous=True)


def test_full_amount_due_makes_the_planned_solde_payable(instructeur):
    objet = _avance_payee(etat())
    resultat = solde_rendre_exigible(objet, montant_du=Decimal("10000.00"), acteur=instructeur)
    assert resultat.reversement is None and resultat.deja_verse == Decimal("5000.00")
    solde = recharger(resultat.solde)
    assert (solde.statut, solde.montant, solde.echeance) == ("a_payer", Decimal("5000.00"), timezone.localdate())
    log = TransitionLog.objects.get(object_id=solde.pk, transition="rendre_exigible")
    assert log.acteur == instructeur and log.extra == {"montant_du": "10000.00", "deja_verse": "5000.00"}


def test_under_spending_reduces_the_solde(instructeur):
    objet = _avance_payee(etat())
    resultat = solde_rendre_exigible(objet, montant_du=Decimal("8000.00"), acteur=instructeur, motif="Coût réel 80 %")
    assert recharger(resultat.solde).montant == Decimal("3000.00")
    assert not Reversement.objects.exists()


def test_exactly_what_was_paid_cancels_the_solde(instructeur):
    objet = _avance_payee(etat())
    resultat = solde_rendre_exigible(objet, montant_du=Decimal("5000.00"), acteur=instructeur)
    assert resultat.solde is None and resultat.reversement is None
    assert Paiement.objects.get(echeancier__acte=objet, nature="solde").statut == "annule"


def test_more_paid_than_due_records_a_reversement_and_cancels_the_solde(instructeur):
    objet = _avance_payee(etat())
    resultat = solde_rendre_exigible(objet, montant_du=Decimal("3500.00"), acteur=instructeur)
    assert resultat.solde is None
    reversement = Reversement.objects.get()
    assert (reversement.acte, reversement.montant, reversement.statut) == (objet, Decimal("1500.00"), "a_emettre")
    assert reversement.financeur == objet.financeur and reversement.cree_par == instructeur
    assert Paiement.objects.get(echeancier__acte=objet, nature="solde").statut == "annule"
    with pytest.raises(PaiementRefuse, match="déjà été traité"):
        solde_rendre_exigible(objet, montant_du=Decimal("3500.00"), acteur=instructeur)


def test_a_planned_acompte_is_folded_into_the_solde(instructeur):
    financeur = etat(taux_avance=Decimal("50"))
    AcomptePrevu.objects.create(financeur=financeur, rang=1, taux=Decimal("50"), delai_mois=6)
    objet = _avance_payee(financeur)
    assert [p.nature for p in paiements(objet)] == ["avance", "acompte"], "100 %: no solde row"
    resultat = solde_rendre_exigible(objet, montant_du=Decimal("9000.00"), acteur=instructeur)
    assert Paiement.objects.get(echeancier__acte=objet, nature="acompte").statut == "annule"
    solde = recharger(resultat.solde)
    assert (solde.nature, solde.montant, solde.statut) == ("solde", Decimal("4000.00"), "a_payer")
    assert solde.reference == f"{objet.numero}-SO"


@pytest.mark.parametrize(
    ("montant", "message"),
    [("10000.01", "dépasse le montant attribué"), ("-1", "positif ou nul"), ("10.001", "au centime")],
)
def test_impossible_amounts_are_refused(instructeur, montant, message):
    objet = _avance_payee(etat())
    with pytest.raises(PaiementRefuse, match=message):
        solde_rendre_exigible(objet, montant_du=Decimal(montant), acteur=instructeur)


def test_an_advance_not_yet_paid_must_be_settled_first(instructeur):
    objet = acte(etat())
    with pytest.raises(PaiementRefuse, match="pas encore réglé"):
        solde_rendre_exigible(objet, montant_du=Decimal("10000.00"), acteur=instructeur)
    assert Paiement.objects.get(echeancier__acte=objet, nature="solde").statut == "prevu"


def test_the_solde_then_goes_in_a_liste_like_any_payment(instructeur):
    financeur = etat()
    objet = _avance_payee(financeur)
    solde_rendre_exigible(objet, montant_du=Decimal("9000.00"), acteur=instructeur)
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=finance(financeur)).liste
    assert liste.montant_total == Decimal("4000.00")
    assert liste.lignes.get().paiement.nature == "solde"
    assert timezone.localdate() >= liste.date_execution
