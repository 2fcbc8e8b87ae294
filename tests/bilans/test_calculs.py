"""The compte-rendu's arithmetic, on Decimal: gaps in € and %, the cost of an action, the grant finally due on both
sides of the financeur's tolerance, indicators' achievement."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from subventions.bilans import calculs
from subventions.bilans.notifications import moins_un_mois

D = Decimal


@pytest.mark.parametrize(
    ("prevu", "realise", "euros", "pourcent"),
    [
        ("2000.00", "1700.00", "-300.00", "-15.0"),
        ("2000.00", "2100.00", "100.00", "5.0"),
        ("3000.00", "1000.00", "-2000.00", "-66.7"),  # rounded half up to 0.1
        ("1000.00", "1000.00", "0.00", "0.0"),
        ("0.00", "250.00", "250.00", None),  # nothing planned: no percentage
    ],
)
def test_gap_in_euros_and_percent(prevu, realise, euros, pourcent):
    e, pct = calculs.ecart(D(prevu), D(realise))
    assert isinstance(e, Decimal) and e == D(euros)
    assert pct == (None if pourcent is None else D(pourcent))
    assert pct is None or isinstance(pct, Decimal)


def test_no_gap_before_the_actual_is_entered():
    assert calculs.ecart(D("100.00"), None) == (None, None)


def test_the_cost_is_the_charges_without_contributions_in_kind():
    lignes = [
        ("charge", "60", D("2000.00")),
        ("charge", "64", D("8000.00")),
        ("charge", "86", D("1000.00")),  # bénévolat valued: not spent
        ("produit", "75", D("2000.00")),
        ("produit", "87", D("1000.00")),
        ("charge", "62", None),  # not entered yet
    ]
    assert calculs.cout(lignes) == D("10000.00")


def _retenu(reel: str, *, accorde="8000.00", prevu="10000.00", tolerance="10") -> Decimal:
    return calculs.montant_retenu(accorde=D(accorde), cout_prevu=D(prevu), cout_reel=D(reel), tolerance=D(tolerance))


def test_exactly_at_the_tolerance_the_full_grant_is_due():
    assert _retenu("9000.00") == D("8000.00")  # 10 % under, tolerance 10 %: kept


def test_one_cent_beyond_the_tolerance_the_grant_is_reduced_in_proportion():
    # 8000 × 8999.99 / 10000 = 7199.992 → 7199.99
    assert _retenu("8999.99") == D("7199.99")


def test_spending_more_than_planned_never_raises_the_grant():
    assert _retenu("14000.00") == D("8000.00")


def test_reduction_is_rounded_to_the_cent_half_up():
    # 1000 × 1999.99 / 3000 = 666.663… → 666.66 ; 1000 × 500.01 / 3000 = 166.67
    assert _retenu("1999.99", accorde="1000.00", prevu="3000.00") == D("666.66")
    assert _retenu("500.01", accorde="1000.00", prevu="3000.00") == D("166.67")


def test_a_financeur_with_another_tolerance():
    assert _retenu("8000.00", tolerance="20") == D("8000.00")
    assert _retenu("8000.00", tolerance="5") == D("6400.00")
    assert _retenu("9999.99", tolerance="0") == D("7999.99")


def test_nothing_spent_nothing_due_and_nothing_planned_keeps_the_grant():
    assert _retenu("0.00") == D("0.00")
    assert _retenu("0.00", prevu="0.00") == D("8000.00")


cents = st.integers(min_value=0, max_value=10**9).map(lambda n: D(n) / 100)


@given(accorde=cents, prevu=cents, reel=cents, tolerance=st.integers(0, 100).map(D))
def test_the_grant_retained_is_never_above_the_grant_nor_negative_and_in_cents(accorde, prevu, reel, tolerance):
    retenu = calculs.montant_retenu(accorde=accorde, cout_prevu=prevu, cout_reel=reel, tolerance=tolerance)
    assert D("0") <= retenu <= accorde
    assert retenu == retenu.quantize(D("0.01"))
    if prevu > 0 and reel < prevu and (prevu - reel) * 100 > tolerance * prevu:
        assert abs(retenu - accorde * reel / prevu) <= D("0.005")
    else:
        assert retenu == accorde


@given(accorde=cents, prevu=cents.filter(lambda p: p > 0), a=cents, b=cents)
def test_spending_more_never_lowers_the_grant_retained(accorde, prevu, a, b):
    bas, haut = sorted((a, b))
    kw = {"accorde": accorde, "cout_prevu": prevu, "tolerance": D("10")}
    assert calculs.montant_retenu(cout_reel=bas, **kw) <= calculs.montant_retenu(cout_reel=haut, **kw)


@pytest.mark.parametrize(
    ("realise", "cible", "taux"),
    [("30", "30", D("100")), ("12", "30", D("40")), ("12,5", "10", D("125")), ("oui", "oui", None), ("3", "", None)],
)
def test_indicator_achievement(realise, cible, taux):
    assert calculs.taux(realise, cible) == taux


@pytest.mark.parametrize(
    ("valeur", "texte"),
    [(D("-300.00"), "\u2212300,00\u00a0€"), (D("1234.5"), "+1\u00a0234,50\u00a0€"), (None, "—")],
)
def test_signed_amounts_use_a_true_minus_sign(valeur, texte):
    assert calculs.montant_signe(valeur) == texte


def test_percentages_read_the_french_way():
    assert calculs.lisible(D("10.00")) == "10"
    assert calculs.lisible(D("12.50")) == "12,5"
    assert calculs.pourcent_signe(D("-15.0")) == "\u221215,0\u00a0%"


@pytest.mark.parametrize(
    ("jour", "avant"),
    [
        (date(2016, 6, 30), date(2016, 5, 30)),
        (date(2016, 3, 31), date(2016, 2, 29)),  # a shorter month: its last day
        (date(2016, 1, 15), date(2015, 12, 15)),
    ],
)
def test_one_month_before(jour, avant):
    assert moins_un_mois(jour) == avant
