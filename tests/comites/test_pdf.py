"""The procès-verbal and the decision letters, read back from the stored PDF with pypdf."""

from __future__ import annotations

import io
from decimal import Decimal

import pytest
from pypdf import PdfReader

from subventions.comites import services
from subventions.comites.models import LettreDecision
from tests.comites.aides import campagne_de_test, instruite, ligne, seance_de_test, secretaire
from tests.factories import PorteurFactory
from workflows.documents import document_courant

pytestmark = pytest.mark.django_db


def _texte(document) -> str:
    with document.fichier.open("rb") as f:
        lecteur = PdfReader(io.BytesIO(f.read()))
    # Table cells wrap: compare on the text with its whitespace collapsed.
    return " ".join(" ".join(page.extract_text() for page in lecteur.pages).split())


@pytest.fixture
def close():
    campagne, etat, ville, _pilier = campagne_de_test()
    comite = secretaire(etat, ville)
    seance = seance_de_test(campagne, comite)
    panier = PorteurFactory(nom="Les Amis du Panier")
    a = instruite(campagne, porteur=panier, ville=Decimal("1000.00"), intitule="Atelier vélo solidaire")
    b = instruite(campagne, porteur=panier, avis="defavorable", intitule="Fête de quartier")
    c = instruite(campagne, propose=Decimal("4500.00"), intitule="Soutien scolaire Belsunce")
    services.odj_ajouter(seance=seance, user=comite, demandes=[a, b, c])
    services.decider_en_bloc(seance=seance, user=comite)
    services.decider_ligne(seance=seance, user=comite, ligne=ligne(a, "ville-test"), decision="ajournee")
    seance = services.seance_cloturer(seance=seance, user=comite)
    return {"seance": seance, "a": a, "b": b, "c": c, "panier": panier}


def test_pv_has_date_members_every_decision_and_totals(close):
    texte = _texte(document_courant(close["seance"], "proces_verbal"))
    assert "Procès-verbal" in texte and "09/06/2015" in texte and "Comité de programmation" in texte
    assert "Mme Martin (préfecture), M. Diallo (Ville), Mme Roux (conseil citoyen)" in texte
    for d in (close["a"], close["b"], close["c"]):
        assert d.numero in texte
    assert "Atelier vélo solidaire" in texte and "Soutien scolaire Belsunce" in texte
    assert texte.count("Accordée") >= 2 and "Refusée" in texte and "Ajournée" in texte
    # Totals per financeur (État: 6 000 + 4 500) and per pilier (everything in "Cohésion sociale").
    assert "Totaux par financeur" in texte and "Totaux par pilier" in texte
    assert "10 500,00 €" in texte and "Cohésion sociale" in texte and "Ville de Test" in texte
    assert "Page 1 / " in texte


def test_one_letter_per_porteur_lists_all_its_decisions_and_nothing_else(close):
    lettre = LettreDecision.objects.get(seance=close["seance"], porteur=close["panier"])
    texte = _texte(lettre.document)
    assert "Les Amis du Panier" in texte and "09/06/2015" in texte
    assert close["a"].numero in texte and close["b"].numero in texte and close["c"].numero not in texte
    assert "Atelier vélo solidaire" in texte and "Fête de quartier" in texte
    assert "Total accordé à la structure : 6 000,00 €" in texte
    assert "Soutien scolaire" not in texte


def test_documents_are_stored_once_and_never_rerendered(close):
    pv = document_courant(close["seance"], "proces_verbal")
    services.seance_cloturer(seance=close["seance"], user=close["seance"].closed_by)
    assert document_courant(close["seance"], "proces_verbal").pk == pv.pk and pv.version == 1
