"""Reading spreadsheets as publishers leave them: encodings, separators, layouts, French and English amounts, SIRETs
that a spreadsheet mangled (reported, never trusted)."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from openpyxl import Workbook

from subventions.pilotage.lecture import (
    FichierIlisible,
    lire,
    lire_date,
    lire_identifiant,
    lire_montant,
    lire_periode,
    normaliser_nom,
)


@pytest.mark.parametrize(
    ("brut", "attendu"),
    [
        ("17\u00a0833", "17833.00"),  # Nièvre: non-breaking spaces between thousands
        ("9\u00a0644\u00a0223", "9644223.00"),
        ("1 234,56", "1234.56"),
        ("1\u202f234,56 €", "1234.56"),  # narrow no-break space and the euro sign
        ("1.234.567,89", "1234567.89"),
        ("1,234,567.89", "1234567.89"),
        ("2400.0", "2400.00"),  # Haute-Garonne: English decimals
        ("16823.5", "16823.50"),
        ("1050,35", "1050.35"),
        ("1.234", "1234.00"),  # a single separator before exactly three digits groups thousands
        ("12,345", "12345.00"),
        ("1,5", "1.50"),
        (2400, "2400.00"),  # XLSX number cells
        (1050.35, "1050.35"),
        (Decimal("99.9"), "99.90"),
    ],
)
def test_amounts_in_french_or_english_notation(brut, attendu):
    assert lire_montant(brut) == Decimal(attendu)


@pytest.mark.parametrize(
    ("brut", "motif"),
    [
        ("NC", "illisible « NC »"),
        ("SEM", "illisible « SEM »"),
        ("", "absent"),
        (None, "absent"),
        ("0", "nul ou négatif"),
        ("-150", "nul ou négatif"),
        ("3.12345678E+13", "illisible"),
        ("1050.355", "au-delà du centime"),
        ("12 000 000", "trop élevé"),
        ("1.2.3,4,5", "illisible"),
    ],
)
def test_unreadable_amounts_say_why(brut, motif):
    with pytest.raises(ValueError, match=motif):
        lire_montant(brut)


def test_siret_checked_with_its_keys_and_spaces_tolerated():
    assert lire_identifiant("441 370 806 00016").siret == "44137080600016"
    assert lire_identifiant(44137080600016).siret == "44137080600016"  # an integer cell keeps every digit
    assert lire_identifiant("35600000000048").siret == "35600000000048"  # La Poste: its own rule, not Luhn
    faux = lire_identifiant("44137080600017")
    assert not faux.siret and "clé de contrôle" in faux.probleme


@pytest.mark.parametrize("brut", ["3.12345678E+13", "4.4137080600016E13", "44137080600016.0", 4413708060001.6])
def test_a_siret_written_as_a_float_is_reported_never_trusted(brut):
    """Even when the digits happen to survive (44137080600016.0 has a valid key), a float may have lost some."""
    identifiant = lire_identifiant(brut)
    assert identifiant.siret == ""
    assert "nombre à virgule" in identifiant.probleme


def test_a_siren_or_a_siret_that_lost_its_leading_zero():
    siren = lire_identifiant("225800010")
    assert (siren.siret, siren.siren) == ("", "225800010") and "SIREN" in siren.probleme
    assert "zéro initial" in lire_identifiant("4413708060001").probleme


def test_dates_and_periods():
    assert lire_date("2017-04-13") == datetime.date(2017, 4, 13)
    assert lire_date("13/04/2017") == datetime.date(2017, 4, 13)
    cellule = datetime.datetime(2017, 4, 13, 10, 0)  # noqa: DTZ001 (spreadsheet cells carry no time zone)
    assert lire_date(cellule) == datetime.date(2017, 4, 13)
    assert lire_periode("2017-01-01_2017-12-31") == (datetime.date(2017, 1, 1), datetime.date(2017, 12, 31))
    assert lire_periode("2017-03-14/2018-03-14") == (datetime.date(2017, 3, 14), datetime.date(2018, 3, 14))
    with pytest.raises(ValueError, match="date illisible"):
        lire_date("le 13 avril")


def test_names_compare_without_accents_case_or_punctuation():
    assert normaliser_nom("Secours Populaire Français") == normaliser_nom("SECOURS POPULAIRE FRANCAIS")
    assert normaliser_nom("Comité d'organisation du T.N.M.") == "COMITE D ORGANISATION DU T N M"


ENTETE_SCDL = "nomAttribuant;idAttribuant;dateConvention;nomBeneficiaire;idBeneficiaire;objet;montant"
LIGNE_SCDL = "Ville d'Ëvry;21310458100011;2017-04-13;Club de l'Étang;44137080600016;Fête du quartier;1 234,50"


@pytest.mark.parametrize(
    ("encodage", "bom", "separateur", "description"),
    [
        ("utf-8", False, ";", "CSV (UTF-8, séparateur point-virgule)"),
        ("utf-8", True, ";", "CSV (UTF-8 avec BOM, séparateur point-virgule)"),
        ("cp1252", False, ",", "CSV (Windows-1252, séparateur virgule)"),
        ("latin-1", False, "\t", "CSV (Windows-1252, séparateur tabulation)"),  # latin-1 text is valid cp1252
    ],
)
def test_encodings_and_separators(encodage, bom, separateur, description):
    texte = "\r\n".join([ENTETE_SCDL, LIGNE_SCDL.replace("1 234,50", '"1 234,50"')]).replace(";", separateur)
    contenu = (b"\xef\xbb\xbf" if bom else b"") + texte.encode(encodage)
    lecture = lire(contenu)
    assert lecture.tableau.description() == description
    (ligne,) = lecture.lignes
    assert (ligne.attribuant_nom, ligne.beneficiaire_nom) == ("Ville d'Ëvry", "Club de l'Étang")
    assert (ligne.beneficiaire.siret, ligne.montant, ligne.exercice) == ("44137080600016", Decimal("1234.50"), 2017)
    assert ligne.rejet == ""


def test_the_older_coll_attrib_sub_layout():
    contenu = (
        "COLL_NOM,COLL_SIRET,COLL_TYPE,ACTE_DATE,ATTRIB_NOM,ATTRIB_SIRET,SUB_OBJET,SUB_MONTANT\r\n"
        "Département,225800010,DEP,2016-01-01,AGORA,,Subvention,17\u00a0833\r\n"
    ).encode("cp1252")
    lecture = lire(contenu)
    assert lecture.disposition.startswith("ancienne disposition")
    (ligne,) = lecture.lignes
    assert (ligne.attribuant.siren, ligne.attribuant_type, ligne.montant) == ("225800010", "DEP", Decimal("17833.00"))


def test_xlsx_with_typed_cells():
    classeur = Workbook()
    feuille = classeur.active
    feuille.append(["nomAttribuant", "idAttribuant", "dateConvention", "nomBeneficiaire", "idBeneficiaire", "montant"])
    feuille.append(["Ville", "21310458100011", datetime.date(2016, 2, 11), "Judo", 48435336200011, 1600.5])
    jour = datetime.datetime(2016, 2, 11)  # noqa: DTZ001 (spreadsheet cells carry no time zone)
    feuille.append(["Ville", "21310458100011", jour, "Tennis", 3.12345678e13, 2400])
    feuille.append(["Ville", "21310458100011", "11/02/2016", "Karaté", "3.12345678E+13", "2 400,00"])
    sortie = io.BytesIO()
    classeur.save(sortie)
    premiere, arrondi, texte = lire(sortie.getvalue()).lignes
    assert (premiere.beneficiaire.siret, premiere.montant, premiere.exercice) == ("48435336200011", Decimal("1600.50"),
                                                                                  2016)  # fmt: skip
    assert arrondi.beneficiaire.siret == "" and any("arrondi" in a for a in arrondi.avertissements)
    assert texte.beneficiaire.siret == "" and any("nombre à virgule" in a for a in texte.avertissements)
    assert (texte.montant, texte.exercice) == (Decimal("2400.00"), 2016)


@pytest.mark.parametrize(
    ("contenu", "message"),
    [
        (b"", "vide"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "Excel ancien"),
        (b"PK\x03\x04 pas vraiment un classeur", "XLSX ne peut pas"),
        ("nom;prénom;âge\nDupont;Jean;42\n".encode(), "Colonnes non reconnues : il manque montant"),
        (b"une seule colonne\nsans separateur\n", "Aucun séparateur"),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(contenu, message):
    with pytest.raises(FichierIlisible, match=message):
        lire(contenu)


def test_rows_without_a_year_or_beneficiary_are_rejected_with_the_reason():
    contenu = (
        b"nomAttribuant;nomBeneficiaire;idBeneficiaire;montant;dateConvention\n"
        b"Ville;Club;;100;\n"
        b"Ville;;;200;2017-01-01\n"
    )
    sans_annee, sans_beneficiaire = lire(contenu).lignes
    assert "Année introuvable" in sans_annee.rejet
    assert "Bénéficiaire absent" in sans_beneficiaire.rejet
    assert lire(contenu, annee=2016).lignes[0].exercice == 2016
