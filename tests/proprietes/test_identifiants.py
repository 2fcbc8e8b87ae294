"""SIRET, SIREN, RNA, IBAN and BIC at scale: valid numbers, however they are typed, round-trip through normalisation
and validation; anything else is refused with a Django ValidationError in French, never another exception."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from hypothesis import assume, given
from hypothesis import strategies as st
from schwifty import IBAN
from schwifty.exceptions import SchwiftyException
from stdnum import luhn

from subventions.pilotage import lecture
from subventions.referentiel.validators import (
    normaliser_iban,
    normaliser_siret,
    raison_bic,
    raison_iban,
    siren_de,
    valider_bic,
    valider_iban,
    valider_rna,
    valider_siren,
    valider_siret,
)
from tests.proprietes.conftest import PEU, compter, francais

chiffres = st.text(alphabet="0123456789", min_size=1, max_size=20)
# What people paste into a field: any unicode (no lone surrogate, a browser cannot send one), digits, separators.
saisie = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=40),
    st.text(alphabet="0123456789 .-\u00a0\t/", max_size=30),
    chiffres,
)


@st.composite
def sirets(draw) -> str:
    """A valid SIRET: a SIREN with its Luhn key, a NIC, the Luhn key of the 14 digits (La Poste's SIREN left out)."""
    debut = draw(st.text(alphabet="0123456789", min_size=8, max_size=8))
    siren = debut + luhn.calc_check_digit(debut)
    assume(siren != "356000000")
    corps = siren + draw(st.text(alphabet="0123456789", min_size=4, max_size=4))
    return corps + luhn.calc_check_digit(corps)


def ecrit_comme_un_humain(draw, valeur: str, groupes: tuple[int, ...], separateurs=("", " ", ".", "  ")) -> str:
    """The same number with spaces or dots between its groups (what stdnum's compact() removes)."""
    separateur = draw(st.sampled_from(separateurs))
    morceaux, i = [], 0
    for taille in groupes:
        morceaux.append(valeur[i : i + taille])
        i += taille
    morceaux.append(valeur[i:])
    return separateur.join(m for m in morceaux if m)


# --- SIRET / SIREN ---------------------------------------------------------------------------------------------------


@PEU
@given(data=st.data(), siret=sirets())
def test_a_valid_siret_typed_in_groups_normalises_and_validates(data, siret):
    compter()
    tape = ecrit_comme_un_humain(data.draw, siret, (3, 3, 3))
    assert normaliser_siret(tape) == siret
    valider_siret(normaliser_siret(tape))
    assert siren_de(tape) == siret[:9]
    valider_siren(siret[:9])
    # The import reads the same number the same way (a text cell).
    assert lecture.lire_identifiant(tape) == lecture.Identifiant(siret=siret, siren=siret[:9])


@PEU
@given(siret=sirets(), position=st.integers(0, 13), decalage=st.integers(1, 9))
def test_one_wrong_digit_is_refused_with_the_key_message(siret, position, decalage):
    compter()
    faux = siret[:position] + str((int(siret[position]) + decalage) % 10) + siret[position + 1 :]
    with pytest.raises(ValidationError) as erreur:
        valider_siret(faux)
    assert erreur.value.code in ("siret_cle",), erreur.value
    assert francais(erreur.value)


@PEU
@given(valeur=saisie)
def test_any_siret_input_is_valid_or_refused_in_french_never_an_exception(valeur):
    compter()
    compact = normaliser_siret(valeur)
    try:
        valider_siret(compact)
    except ValidationError as erreur:
        assert erreur.code in ("siret_longueur", "siret_format", "siret_cle")
        assert francais(erreur)
    else:
        assert len(compact) == 14 and compact.isascii() and compact.isdigit()
    try:
        valider_siren(valeur)
    except ValidationError as erreur:
        assert francais(erreur)


@PEU
@given(valeur=st.one_of(saisie, st.integers(-(10**20), 10**20), st.floats(allow_nan=True, allow_infinity=True)))
def test_the_import_never_trusts_a_mangled_siret_and_never_crashes(valeur):
    compter()
    identifiant = lecture.lire_identifiant(valeur)
    if identifiant.siret:
        assert len(identifiant.siret) == 14 and identifiant.siret.isdigit() and not identifiant.probleme
        valider_siret(identifiant.siret)
    if isinstance(valeur, float) and not valeur.is_integer():
        assert not identifiant.siret


@PEU
@given(data=st.data(), siret=sirets())
def test_a_siret_pasted_with_non_breaking_spaces_or_dashes_normalises(data, siret):
    tape = ecrit_comme_un_humain(data.draw, siret, (3, 3, 3), separateurs=("\u00a0", "-", "\u202f"))
    assert normaliser_siret(tape) == siret


# --- RNA ------------------------------------------------------------------------------------------------------------


@PEU
@given(numero=st.text(alphabet="0123456789", min_size=9, max_size=9))
def test_a_valid_rna_is_accepted_and_read_from_the_import_whatever_its_case_and_spaces(numero):
    compter()
    valider_rna("W" + numero)
    assert lecture.valider_rna(f" w{numero[:3]} {numero[3:]} ") == "W" + numero


@PEU
@given(valeur=saisie)
def test_any_other_rna_is_refused_in_french(valeur):
    compter()
    try:
        valider_rna(valeur)
    except ValidationError as erreur:
        assert erreur.code == "rna" and francais(erreur)
    else:
        assert len(valeur) == 10 and valeur[0] == "W" and valeur[1:].isdigit()
    assert lecture.valider_rna(valeur) in ("", lecture.valider_rna(valeur).upper())


# --- IBAN / BIC ----------------------------------------------------------------------------------------------------


@st.composite
def ibans_francais(draw) -> str:
    banque = draw(st.text(alphabet="0123456789", min_size=5, max_size=5))
    compte = draw(st.text(alphabet="0123456789", min_size=11, max_size=11))
    return str(IBAN.generate("FR", bank_code=banque, account_code=compte))


@PEU
@given(data=st.data(), iban=ibans_francais())
def test_a_valid_iban_typed_in_groups_of_four_in_lower_case_round_trips(data, iban):
    compter()
    tape = " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))
    if data.draw(st.booleans()):
        tape = tape.lower()
    assert normaliser_iban(tape) == iban
    valider_iban(normaliser_iban(tape))
    assert raison_iban(normaliser_iban(tape)) == ""


@PEU
@given(valeur=saisie)
def test_any_iban_input_is_valid_or_refused_with_a_french_reason(valeur):
    compter()
    iban = normaliser_iban(valeur)
    raison = raison_iban(iban)
    try:
        valider_iban(iban)
    except ValidationError as erreur:
        # The model validator gives the same French reason as the form.
        assert raison in erreur.messages[0]
        assert erreur.code == "iban"
        assert raison and francais(raison), "the form gives the French reason of the refusal"
    else:
        assert raison == ""


@PEU
@given(valeur=saisie)
def test_any_bic_input_is_valid_or_refused_with_a_french_reason(valeur):
    compter()
    bic = valeur.strip().upper()
    raison = raison_bic(bic)
    try:
        valider_bic(bic)
    except ValidationError as erreur:
        assert erreur.code == "bic"
        assert raison and francais(raison)
    else:
        assert raison == ""


def _raison_schwifty(valeur: str) -> str:
    try:
        IBAN(valeur)
    except SchwiftyException as exc:
        return str(exc)
    return ""


def test_the_model_validator_message_is_all_french():
    with pytest.raises(ValidationError) as erreur:
        valider_iban("FR76")
    anglais = _raison_schwifty("FR76")
    assert anglais and anglais not in erreur.value.messages[0]
