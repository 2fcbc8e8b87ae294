"""The import parser (subventions/pilotage/lecture.py) at scale: any bytes give rows or a clean « fichier illisible »
in French, never another exception; amounts in French or English notation read as the right Decimal."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import Workbook
from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

from subventions.pilotage import lecture
from tests.proprietes.conftest import PEU, compter

# Numbers below 10^20: beyond, see test_a_huge_amount_is_a_row_rejection_not_a_crash (a known crash).
nombres = st.one_of(
    st.floats(max_value=1e20, min_value=-1e20),
    st.floats(allow_nan=True, allow_infinity=True).filter(lambda f: f != f or abs(f) == float("inf")),
    st.decimals(min_value=Decimal("-1e20"), max_value=Decimal("1e20")),
    st.sampled_from([Decimal("NaN"), Decimal("Infinity")]),
)
ENTETE = "nomBeneficiaire;idBeneficiaire;montant;dateConvention;rnaBeneficiaire;pourcentageSubvention"
cellule = st.one_of(
    st.text(st.characters(blacklist_categories=("Cs",)), max_size=30),
    st.sampled_from(["", "1 234,56", "1,234.56", "-5", "0", "1e9", "NaN", "Infinity", "31/02/2017", "2017-13-01",
                     "\x00", "\"", "\"\"\"", "W123456789", "7328293200007", "3.12345678E+13", "12 %"]),
).filter(lambda v: sum(c.isdigit() for c in v) < 26)  # fmt: skip
# (26 digits or more: the known crash of test_a_huge_amount_is_a_row_rejection_not_a_crash, kept apart.)


def verifier(lue: lecture.Lecture) -> None:
    """What any successful read promises the import service."""
    for ligne in lue.lignes:
        if ligne.rejet:
            assert ligne.rejet[0].isupper() and ligne.rejet.endswith(".")
            continue
        assert isinstance(ligne.montant, Decimal) and Decimal("0") < ligne.montant <= lecture.MONTANT_MAX
        assert ligne.montant == ligne.montant.quantize(Decimal("0.01"))
        assert ligne.exercice is not None and 2000 <= ligne.exercice <= 2100
        assert ligne.beneficiaire_nom or ligne.beneficiaire.siret


def lire_ou_refuser(contenu: bytes, **kwargs) -> lecture.Lecture | None:
    try:
        lue = lecture.lire(contenu, **kwargs)
    except lecture.FichierIlisible as exc:
        assert str(exc) and str(exc)[0].isupper(), "a French sentence for the person importing"
        return None
    verifier(lue)
    return lue


@PEU
@given(contenu=st.binary(max_size=400))
def test_any_bytes_are_read_or_refused_as_unreadable(contenu):
    compter()
    lire_ou_refuser(contenu)


@PEU
@given(
    lignes=st.lists(st.lists(cellule, max_size=7), max_size=8),
    separateur=st.sampled_from([";", ",", "\t"]),
    encodage=st.sampled_from(["utf-8", "utf-8-sig", "cp1252"]),
    annee=st.one_of(st.none(), st.integers(1900, 2200)),
)
def test_any_csv_with_a_recognised_header_gives_checked_rows(lignes, separateur, encodage, annee):
    compter()
    texte = "\n".join([ENTETE.replace(";", separateur)] + [separateur.join(ligne) for ligne in lignes])
    contenu = texte.encode(encodage, errors="replace")
    lire_ou_refuser(contenu, annee=annee)


@PEU
@given(
    valeurs=st.lists(
        st.one_of(cellule, st.integers(-(10**15), 10**15), nombres, st.booleans(), st.dates(), st.none()),
        min_size=3,
        max_size=6,
    )
)
def test_any_xlsx_cells_give_checked_rows(valeurs):
    compter()
    classeur = Workbook()
    feuille = classeur.active
    feuille.append(ENTETE.split(";"))
    # openpyxl refuses control characters in cells; a real file cannot hold them either.
    feuille.append([ILLEGAL_CHARACTERS_RE.sub("", v) if isinstance(v, str) else v for v in valeurs])
    tampon = io.BytesIO()
    classeur.save(tampon)
    lire_ou_refuser(tampon.getvalue(), annee=2017)


@PEU
@given(contenu=st.binary(min_size=1, max_size=300))
def test_a_truncated_or_corrupted_xlsx_is_refused_cleanly(contenu):
    compter()
    lire_ou_refuser(b"PK\x03\x04" + contenu)


# --- Amounts ----------------------------------------------------------------------------------------------------

centimes = st.integers(min_value=1, max_value=999_999_999).map(lambda c: Decimal(c) / 100)


def francais_(montant: Decimal, milliers: str) -> str:
    entiers, decimales = f"{montant:.2f}".split(".")
    groupes = f"{int(entiers):,}".replace(",", milliers)
    return f"{groupes},{decimales}"


def anglais(montant: Decimal) -> str:
    return f"{montant:,.2f}"


@PEU
@given(
    montant=centimes,
    milliers=st.sampled_from(["", " ", "\u00a0", "\u202f", "."]),
    euro=st.sampled_from(["", " €", "€"]),
)
def test_an_amount_in_french_notation_reads_as_the_same_decimal(montant, milliers, euro):
    compter()
    assert lecture.lire_montant(francais_(montant, milliers) + euro) == montant


@PEU
@given(montant=centimes)
def test_an_amount_in_english_notation_or_as_a_number_cell_reads_as_the_same_decimal(montant):
    compter()
    assert lecture.lire_montant(anglais(montant)) == montant
    assert lecture.lire_montant(f"{montant:.2f}") == montant
    assert lecture.lire_montant(float(montant)) == montant
    if montant == int(montant):
        assert lecture.lire_montant(int(montant)) == montant


@PEU
@given(valeur=st.one_of(cellule, nombres, st.integers(-(10**20), 10**20), st.booleans(), st.none()))
def test_any_amount_cell_is_a_decimal_in_cents_or_a_french_reason(valeur):
    compter()
    try:
        montant = lecture.lire_montant(valeur)
    except ValueError as exc:
        assert str(exc).startswith("montant ")
    else:
        assert Decimal("0") < montant <= lecture.MONTANT_MAX and montant.as_tuple().exponent == -2


@pytest.mark.parametrize("texte", ["1.234", "1,234", "1.234.567", "1,234,567"])
def test_three_decimals_after_a_single_separator_are_thousands(texte):
    assert lecture.lire_montant(texte) == Decimal(texte.replace(".", "").replace(",", ""))


@pytest.mark.parametrize("valeur", [1e26, Decimal("1e30"), "1" + "0" * 30])
def test_a_huge_amount_is_a_row_rejection_not_a_crash(valeur):
    with pytest.raises(ValueError, match="trop élevé"):
        lecture.lire_montant(valeur)
    if isinstance(valeur, str):
        lue = lecture.lire(f"{ENTETE}\nAssociation;;{valeur};2017-04-13;;".encode())
        assert lue.lignes[0].rejet.startswith("Montant trop élevé")
