"""Amounts typed in the budget (demandes.forms.MontantField): any Decimal in cents between 0 and 9 999 999,99 €,
typed the French or the English way, reads back as itself; anything else is a French form error, never an exception;
and the budget totals are exact Decimal sums (no float anywhere)."""

from __future__ import annotations

from decimal import Decimal

from django import forms
from hypothesis import given
from hypothesis import strategies as st

from subventions.demandes.forms import MontantField, afficher_montant
from subventions.demandes.models import MONTANT_MAX, ZERO
from tests.proprietes.conftest import PEU, compter, francais

centimes = st.integers(min_value=0, max_value=int(MONTANT_MAX * 100)).map(lambda c: Decimal(c) / 100)


def tapes(montant: Decimal, draw) -> str:
    entiers, decimales = f"{montant:.2f}".split(".")
    milliers = draw(st.sampled_from(["", " ", "\u00a0", "\u202f"]))
    groupes = f"{int(entiers):,}".replace(",", milliers)
    forme = draw(st.sampled_from(["fr", "en", "brut", "affiche"]))
    if forme == "fr":
        texte = f"{groupes},{decimales}"
    elif forme == "en":
        texte = f"{int(entiers):,}.{decimales}"
    elif forme == "affiche":
        texte = afficher_montant(montant)
    else:
        texte = f"{montant:.2f}"
    return texte + draw(st.sampled_from(["", " €", "€"]))


@PEU
@given(data=st.data(), montant=centimes)
def test_any_amount_typed_the_french_or_english_way_reads_back_as_itself(data, montant):
    compter()
    assert MontantField().clean(tapes(montant, data.draw)) == montant


@PEU
@given(
    valeur=st.one_of(
        st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
        st.integers(-(10**30), 10**30).map(str),
        st.sampled_from(["NaN", "-0,01", "1e309", "Infinity", "10 000 000,00", "1,234,5", "0,001", "\x00"]),
    )
)
def test_any_other_input_is_a_french_form_error_never_an_exception(valeur):
    compter()
    try:
        montant = MontantField().clean(valeur)
    except forms.ValidationError as erreur:
        assert francais(erreur), erreur.messages
    else:
        assert montant is None or (ZERO <= montant <= MONTANT_MAX and montant == montant.quantize(Decimal("0.01")))


@PEU
@given(lignes=st.lists(centimes, max_size=30))
def test_budget_totals_are_exact_to_the_cent(lignes):
    compter()
    total = sum(lignes, ZERO)
    # The total of the lines equals the total of the cents: no rounding drift, however many lines.
    assert total * 100 == sum(int(m * 100) for m in lignes)
    assert total == total.quantize(Decimal("0.01"))
