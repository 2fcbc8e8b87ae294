"""Validation of the référentiel: identifiers are checked with French messages, constraints hold."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from subventions.referentiel.models import QPV, Financeur
from subventions.referentiel.validators import valider_rna
from tests.factories import FinanceurFactory, siret_valide

pytestmark = pytest.mark.django_db


def _financeur(**kwargs) -> Financeur:
    values = {"code": "ville-test", "nom": "Ville", "type": "commune", "siret": siret_valide(1)}
    values.update(kwargs)
    return Financeur(**values)


def test_valid_financeur_passes_full_clean():
    _financeur(sepa_nom="Ville", sepa_iban="FR76 3000 1007 9412 3456 7890 185", sepa_bic="bdfefrppcct").full_clean()


@pytest.mark.parametrize(
    ("siret", "message"),
    [("1234567890123", "14 chiffres"), ("1234567890123A", "que des chiffres"), ("21130055300017", "clé de contrôle")],
)
def test_invalid_siret_is_rejected_in_french(siret, message):
    with pytest.raises(ValidationError) as exc:
        _financeur(siret=siret).full_clean()
    assert message in str(exc.value.message_dict["siret"])


def test_la_poste_siret_exception_is_accepted():
    # La Poste's establishments do not satisfy Luhn; python-stdnum applies the official exception.
    _financeur(siret="35600000000048").full_clean()


def test_invalid_iban_and_bic_are_rejected():
    with pytest.raises(ValidationError) as exc:
        _financeur(sepa_nom="Ville", sepa_iban="FR7630001007941234567890186", sepa_bic="BDFEFRPPCCT").full_clean()
    assert "IBAN n'est pas valide" in str(exc.value.message_dict["sepa_iban"])
    with pytest.raises(ValidationError) as exc:
        _financeur(sepa_nom="Ville", sepa_iban="FR7630001007941234567890185", sepa_bic="BD1").full_clean()
    assert "BIC n'est pas valide" in str(exc.value.message_dict["sepa_bic"])


def test_sepa_fields_go_together():
    with pytest.raises(ValidationError, match="ensemble le nom, l'IBAN et le BIC"):
        _financeur(sepa_iban="FR7630001007941234567890185").full_clean()


def test_code_format_and_uniqueness():
    with pytest.raises(ValidationError) as exc:
        _financeur(code="Ville Marseille").full_clean()
    assert "minuscules" in str(exc.value.message_dict["code"])
    FinanceurFactory(code="etat")
    with pytest.raises(ValidationError):
        _financeur(code="etat").full_clean()


def test_percentages_are_bounded_in_the_database():
    f = FinanceurFactory()
    f.part_max = Decimal("120")
    with pytest.raises(ValidationError):
        f.full_clean()
    with pytest.raises(IntegrityError):
        Financeur.objects.filter(pk=f.pk).update(part_max=Decimal("120"))


@pytest.mark.parametrize("code", ["QP013001", "QP02A001", "QP974001", "QN01301M"])
def test_qpv_codes_of_both_generations(code):
    QPV(code=code, nom="Quartier", commune="Ville").full_clean()


@pytest.mark.parametrize("code", ["QP13001", "XX013001", "qp013001", "QN0130"])
def test_bad_qpv_codes(code):
    with pytest.raises(ValidationError, match="code QPV"):
        QPV(code=code, nom="Quartier", commune="Ville").full_clean()


def test_rna():
    valider_rna("W133012345")
    with pytest.raises(ValidationError, match="W suivi de 9 chiffres"):
        valider_rna("W13301234")
