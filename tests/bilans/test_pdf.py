"""The PDF of a deposited compte-rendu, read back with pypdf: the action, the amounts and the gaps as filed; stored
with its SHA-256 at each deposit; the same compte-rendu renders the same bytes."""

from __future__ import annotations

import hashlib
import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from subventions.bilans.enums import NATURE_DOCUMENT
from subventions.bilans.pdf import compte_rendu_pdf
from tests.bilans import aides
from workflows.documents import document_courant

pytestmark = pytest.mark.django_db
NBSP = "\u00a0"


def _texte(contenu: bytes) -> str:
    texte = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(contenu)).pages)
    return " ".join(texte.replace(NBSP, " ").split())


@pytest.fixture
def depose():
    m = aides.monde(taux_avance=Decimal("80"))
    lf = aides.action(m, intitule="Ateliers d'écriture « Plumes du quartier »")
    cr = aides.deposer(aides.compte_rendu(aides.acte(m, lf)), m.gestionnaire, facteur="0.85")
    return m, aides.recharger(cr)


def test_the_pdf_gives_the_action_the_amounts_and_the_gaps(depose):
    m, cr = depose
    document = document_courant(cr, NATURE_DOCUMENT)
    with document.fichier.open("rb") as f:
        contenu = f.read()
    assert contenu.startswith(b"%PDF")
    assert document.sha256 == hashlib.sha256(contenu).hexdigest() and document.taille == len(contenu)
    texte = _texte(contenu)
    assert "Compte-rendu financier de l’action" in texte
    assert "CERFA n° 15059" in texte
    assert "Ateliers d'écriture « Plumes du quartier »" in texte
    assert m.porteur.nom in texte and cr.demande.numero in texte and cr.acte.numero in texte
    assert "Subvention accordée 8 000,00 €" in texte
    # 64 – Charges de personnel: 8 000 € planned, 6 800 € spent, −1 200 € (−15,0 %).
    assert "64 – Charges de personnel 8 000,00 € 6 800,00 € −1 200,00 € −15,0 %" in texte
    assert (
        "Coût de l’action (charges hors contributions en nature) 10 000,00 € 8 500,00 € −1 500,00 € −15,0 %" in texte
    )
    assert "Participants réguliers 30 30 100 %" in texte and "Restitution publique oui oui —" in texte
    assert "Une intervenante absente deux mois." in texte
    assert "Page 1 / " in texte


def test_rendering_twice_gives_the_same_bytes(depose):
    _m, cr = depose
    assert compte_rendu_pdf(cr) == compte_rendu_pdf(cr)


def test_only_a_deposited_compte_rendu_has_a_pdf():
    m = aides.monde()
    cr = aides.compte_rendu(aides.acte(m, aides.action(m)))
    with pytest.raises(ValueError, match="déposé"):
        compte_rendu_pdf(cr)
