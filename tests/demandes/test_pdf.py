"""The récépissé PDF: what a porteur reads in it, an embedded font that keeps French text intact, stable bytes."""

from __future__ import annotations

import io
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from pypdf import PdfReader

from subventions.demandes.models import Demande, LigneFinancement
from subventions.demandes.pdf import recepisse_pdf
from tests.factories import FinanceurFactory, MembreFactory, PorteurFactory, demande_complete, siret_valide

pytestmark = pytest.mark.django_db

NBSP = "\u00a0"
# reportlab lays out "8 000,00 €" with non-breaking spaces (never wrapped there) but writes them with the space
# glyph's code, so the PDF's text layer (copy-paste, pypdf) gives ordinary spaces.
SP = " "
EMPREINTE = "a" * 32 + "0123456789abcdef" * 2


def _deposee(**champs) -> Demande:
    """A complete demande with the fields the deposit service sets (the PDF does not care how they got there)."""
    porteur = PorteurFactory(
        nom="Association Cœur d’Œuvre — Solidarité Noailles",
        sigle="ACON",
        siret=siret_valide(4242),
        rna="W133012345",
        adresse="3 rue d’Aubagne",
        code_postal="13001",
        representant_prenom="Aïcha",
        representant_nom="Benoît-Lefèvre",
        representant_qualite="Présidente",
    )
    demande = demande_complete(
        membre=MembreFactory(porteur=porteur),
        intitule="« L’été des mômes » : sœurs, frères et ça bouge à Noël",
        lieu="Maison pour tous de la Belle de Mai",
        **champs,
    )
    Demande.objects.filter(pk=demande.pk).update(
        numero=f"{demande.campagne.exercice}-000123",
        depose_le=datetime(2014, 12, 12, 10, 30, tzinfo=UTC),
        declaration_nom="Aïcha Benoît-Lefèvre",
        declaration_qualite="Présidente",
        declaration_date=datetime(2014, 12, 12, tzinfo=UTC).date(),
        empreinte=EMPREINTE,
    )
    demande.refresh_from_db()
    return demande


def _texte(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_recepisse_shows_what_was_filed_in_french():
    demande = _deposee()
    ville = demande.campagne.financeurs.get(code="ville-test")
    LigneFinancement.objects.filter(demande=demande, financeur=ville).update(montant_demande=Decimal("1234.56"))
    demande.lignes_budget.filter(compte="75").update(montant=Decimal("765.44"))

    texte = _texte(recepisse_pdf(demande))

    assert "Récépissé de dépôt" in texte
    assert f"{demande.campagne.exercice}-000123" in texte
    assert "12/12/2014 11:30 (heure de Paris)" in texte  # 10:30 UTC is 11:30 in Paris in December
    assert demande.campagne.titre in texte
    assert "Association Cœur d’Œuvre — Solidarité Noailles" in texte
    assert siret_valide(4242) in texte and "W133012345" in texte
    assert "3 rue d’Aubagne, 13001 Marseille" in texte
    assert "Aïcha Benoît-Lefèvre, Présidente" in texte
    assert "« L’été des mômes » : sœurs, frères et ça bouge à Noël" in texte
    assert f"du 15/01/{demande.campagne.exercice} au 15/12/{demande.campagne.exercice}" in texte
    qpv = demande.qpvs.get()
    assert f"{qpv.nom} ({qpv.code})" in texte
    # Budget: charges 10 000, produits 765,44 + 8 000 + 1 234,56; each financeur's amount; French format.
    assert f"10{SP}000,00{SP}€" in texte
    assert f"8{SP}000,00{SP}€" in texte
    assert f"1{SP}234,56{SP}€" in texte
    assert f"9{SP}234,56{SP}€" in texte
    assert "Ville de Test" in texte
    assert "le 12/12/2014" in texte and "contrat d’engagement" in texte
    assert EMPREINTE in texte
    assert "Page 1 / 1" in texte


def test_financeur_asked_nothing_is_not_listed():
    demande = _deposee()
    assert "Ville de Test" not in _texte(recepisse_pdf(demande))


def test_font_is_an_embedded_truetype_subset():
    reader = PdfReader(io.BytesIO(recepisse_pdf(_deposee())))
    polices = list(reader.pages[0]["/Resources"]["/Font"].values())
    assert polices
    for ref in polices:
        police = ref.get_object()
        # A TrueType subset with its font program inside the file, never a base-14 font the reader substitutes.
        assert police["/Subtype"] == "/TrueType"
        assert "/FontFile2" in police["/FontDescriptor"].get_object()
        assert "+DejaVuSans" in police["/BaseFont"]


def test_same_demande_gives_the_same_bytes():
    demande = _deposee()
    assert recepisse_pdf(demande) == recepisse_pdf(demande)


def test_long_budget_flows_onto_numbered_pages():
    demande = _deposee()
    for n in range(70):
        financeur = FinanceurFactory(nom=f"Fondation partenaire n° {n:02d}")
        LigneFinancement.objects.create(demande=demande, financeur=financeur, montant_demande=Decimal("100"))
    reader = PdfReader(io.BytesIO(recepisse_pdf(demande)))
    total = len(reader.pages)
    assert total >= 2
    for numero, page in enumerate(reader.pages, start=1):
        assert f"Page {numero} / {total}" in page.extract_text()


def test_character_missing_from_the_font_is_replaced_visibly():
    demande = _deposee()
    Demande.objects.filter(pk=demande.pk).update(intitule="Fête de quartier \U0001f389 à \u24c2arseille")
    demande.refresh_from_db()
    # No empty box: a compatibility form when there is one (Ⓜ → M), else the replacement character.
    assert "Fête de quartier \ufffd à Marseille" in _texte(recepisse_pdf(demande))


def test_markup_in_user_text_is_printed_not_interpreted():
    demande = _deposee()
    Demande.objects.filter(pk=demande.pk).update(intitule="Parents & enfants <b>ensemble</b>")
    demande.refresh_from_db()
    assert "Parents & enfants <b>ensemble</b>" in _texte(recepisse_pdf(demande))


def test_a_brouillon_has_no_recepisse():
    demande = demande_complete()
    with pytest.raises(ValueError, match="déposée"):
        recepisse_pdf(demande)


def test_long_porteur_name_is_shortened_in_the_footer_not_over_the_page_number():
    demande = _deposee()
    nom = "Association pour l’animation, l’éducation populaire et la solidarité " * 3
    type(demande.porteur).objects.filter(pk=demande.porteur_id).update(nom=nom.strip())
    demande.refresh_from_db()
    texte = _texte(recepisse_pdf(demande))
    pied = [ligne for ligne in texte.splitlines() if ligne.startswith("Récépissé de dépôt — dossier")]
    assert len(pied) == 1 and pied[0].endswith("…")
    assert "Page 1 / 1" in texte
