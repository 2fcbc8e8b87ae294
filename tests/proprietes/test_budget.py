"""The budget prévisionnel of a demande at scale: whatever amounts are typed in its form, the totals shown while
typing, the totals stored and the completeness check agree to the cent, and the balance rules (charges = produits,
86 = 87, a line 74 > 0) are enforced exactly — never with a rounding tolerance."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.db import transaction
from hypothesis import given, settings
from hypothesis import strategies as st

from subventions.demandes.enums import COMPTES_CHARGES, COMPTES_PRODUITS
from subventions.demandes.etapes import demande_manques
from subventions.demandes.forms import BudgetForm, afficher_montant, nom_champ_compte, nom_champ_financeur
from subventions.demandes.models import MONTANT_MAX, ZERO
from tests.factories import demande_complete
from tests.proprietes.conftest import BASE, compter

pytestmark = pytest.mark.django_db

# Mostly small amounts (so that balanced budgets come up), some up to the maximum.
montants = st.one_of(
    st.just(ZERO),
    st.integers(0, 5_000_00).map(lambda c: Decimal(c) / 100),
    st.integers(0, 999_999_999).map(lambda c: Decimal(c) / 100),
)


@pytest.fixture
def demande():
    return demande_complete()


def _budget(data, demande) -> tuple[dict[str, str], dict[str, Decimal]]:
    """POST data typed the French way, and the amounts meant (missing = zero)."""
    valeurs: dict[str, Decimal] = {}
    for code, _l in COMPTES_CHARGES + COMPTES_PRODUITS:
        valeurs[nom_champ_compte(code)] = data.draw(montants, label=code)
    for financeur in demande.campagne.financeurs.all():
        valeurs[nom_champ_financeur(financeur.pk)] = data.draw(montants, label=financeur.code)
    if data.draw(st.booleans(), label="équilibrer"):
        # Put the gap on line 70 (or on the charges) so that the budget balances exactly.
        produits = sum((v for k, v in valeurs.items() if k not in _charges()), ZERO)
        ecart = sum((valeurs[k] for k in _charges()), ZERO) - produits
        cle = nom_champ_compte("70") if ecart >= 0 else nom_champ_compte("60")
        if valeurs[cle] + abs(ecart) <= MONTANT_MAX:  # else the budget stays unbalanced (a line has a maximum)
            valeurs[cle] += abs(ecart)
        valeurs[nom_champ_compte("87")] = valeurs[nom_champ_compte("86")]
    post = {nom: afficher_montant(v) if v else "" for nom, v in valeurs.items()}
    return post, valeurs


def _charges() -> set[str]:
    return {nom_champ_compte(code) for code, _l in COMPTES_CHARGES}


@settings(BASE, max_examples=40)
@given(data=st.data())
def test_typed_totals_stored_totals_and_the_balance_rule_agree_to_the_cent(demande, data):
    compter("base")
    with transaction.atomic():
        post, valeurs = _budget(data, demande)
        formulaire = BudgetForm(post, demande=demande)
        assert formulaire.is_valid(), formulaire.errors
        charges = sum((valeurs[k] for k in _charges()), ZERO)
        produits = sum((v for k, v in valeurs.items() if k not in _charges()), ZERO)
        typed = formulaire.totaux()
        assert (typed["charges"], typed["produits"], typed["ecart"]) == (charges, produits, charges - produits)

        formulaire.enregistrer(demande)
        stocke = demande.totaux()
        assert (stocke["charges"], stocke["produits"], stocke["ecart"]) == (charges, produits, charges - produits)
        assert stocke["demande"] == typed["demande"]
        # Reopening the form shows the same amounts (what is displayed reads back as typed).
        relu = BudgetForm(demande=demande)
        assert all(relu.fields[nom].initial in (None, valeurs[nom]) for nom in valeurs)
        assert all(relu.fields[nom].initial == valeurs[nom] for nom in valeurs if valeurs[nom])

        budget = [m.message for m in demande_manques(demande) if m.etape == "budget"]
        desequilibre = any("pas équilibré" in m for m in budget)
        assert desequilibre == (charges > 0 and charges != produits)
        contributions = any("86 égale le 87" in m for m in budget)
        assert contributions == (valeurs[nom_champ_compte("86")] != valeurs[nom_champ_compte("87")])
        assert any("ligne 74" in m for m in budget) == (stocke["demande"] <= 0)
        transaction.set_rollback(True)
