"""`manage.py stats`: validated actions, rate, comités and amounts granted, on a small campagne decided by hand."""

from __future__ import annotations

import io
import json
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.core.management import call_command

from subventions.comites.models import DecisionLigne, PointOrdreDuJour, Seance
from subventions.demandes.models import Demande, LigneFinancement
from subventions.demandes.stats import taux
from subventions.pilotage.selectors import statistiques_campagne
from tests.factories import MembreFactory, UserFactory, demande_complete

pytestmark = pytest.mark.django_db


def _etat(demande: Demande, n: int, statut: str) -> Demande:
    Demande.objects.filter(pk=demande.pk).update(
        statut=statut, numero=f"{demande.campagne.exercice}-{n:06d}", depose_le=datetime(2015, 1, n, tzinfo=UTC)
    )
    return Demande.objects.get(pk=demande.pk)


def _ligne(demande: Demande, code: str, *, demande_montant: str, statut: str = "demandee", accorde: str | None = None):
    LigneFinancement.objects.filter(demande=demande, financeur__code=code).update(
        montant_demande=Decimal(demande_montant),
        statut=statut,
        montant_accorde=Decimal(accorde) if accorde else None,
    )
    return LigneFinancement.objects.get(demande=demande, financeur__code=code)


def _decider(seance: Seance, demande: Demande, *lignes: LigneFinancement) -> None:
    PointOrdreDuJour.objects.create(
        seance=seance, demande=demande, seance_ouverte=seance.statut == "ouverte", ajoute_par=seance.cree_par
    )
    for lf in lignes:
        DecisionLigne.objects.create(
            seance=seance,
            ligne=lf,
            financeur=lf.financeur,
            decision=lf.statut,
            montant=lf.montant_accorde if lf.statut == "accordee" else None,
            montant_propose=lf.montant_accorde or Decimal("0"),
        )


@pytest.fixture
def campagne():
    """Porteur A: d1 validated on 29/04 (État 5 000 + Ville 1 000 granted), d2 validated on 09/06 (État 3 000
    granted, Ville refused), d3 refused on 09/06. Porteur B: d4 validated on 29/04 then conventionnée (État 2 000),
    d5 irrecevable, d6 still deposited, d7 a brouillon. An open séance without decisions; another campagne with a
    validated demande of A. Every demande asks the État 8 000 €."""
    a, b = MembreFactory(), MembreFactory()
    d1 = demande_complete(membre=a)
    campagne = d1.campagne
    d2, d3 = demande_complete(membre=a, campagne=campagne), demande_complete(membre=a, campagne=campagne)
    d4, d5, d6, d7 = (demande_complete(membre=b, campagne=campagne) for _ in range(4))
    comite = UserFactory()
    avril = Seance.objects.create(
        campagne=campagne, date=date(2015, 4, 29), kind="programmation", statut="close", cree_par=comite
    )
    juin = Seance.objects.create(
        campagne=campagne, date=date(2015, 6, 9), kind="programmation", statut="close", cree_par=comite
    )
    Seance.objects.create(campagne=campagne, date=date(2015, 7, 1), kind="pilotage", cree_par=comite)

    d1 = _etat(d1, 1, "validee")
    _decider(
        avril,
        d1,
        _ligne(d1, "etat", demande_montant="8000", statut="accordee", accorde="5000"),
        _ligne(d1, "ville-test", demande_montant="1500", statut="accordee", accorde="1000"),
    )
    d2 = _etat(d2, 2, "validee")
    _decider(
        juin,
        d2,
        _ligne(d2, "etat", demande_montant="8000", statut="accordee", accorde="3000"),
        _ligne(d2, "ville-test", demande_montant="1000", statut="refusee"),
    )
    d3 = _etat(d3, 3, "refusee")
    _decider(juin, d3, _ligne(d3, "etat", demande_montant="8000", statut="refusee"))
    d4 = _etat(d4, 4, "validee")
    _decider(avril, d4, _ligne(d4, "etat", demande_montant="8000", statut="accordee", accorde="2000"))
    _etat(d4, 4, "conventionnee")
    _etat(d5, 5, "irrecevable")
    _etat(d6, 6, "deposee")
    assert d7.statut == "brouillon"

    autre = demande_complete(membre=a)
    _etat(autre, 1, "validee")
    _ligne(autre, "etat", demande_montant="8000", statut="accordee", accorde="7000")
    return campagne


def _stats(*args) -> dict:
    sortie = io.StringIO()
    call_command("stats", *args, "--json", stdout=sortie)
    return json.loads(sortie.getvalue())


def test_validated_actions_rate_comites_and_amounts(campagne):
    chiffres = _stats("--campagne", str(campagne.exercice))
    assert chiffres == {
        "campagne": campagne.exercice,
        "financeur": None,
        "actions_deposees": 6,
        "porteurs": 2,
        "actions_validees": 3,  # d1, d2 and d4 (conventionnée since)
        "taux_validation": "0.50",
        "comites": [
            {"date": "2015-04-29", "actions_validees": 2},
            {"date": "2015-06-09", "actions_validees": 1},
        ],  # the open séance of July is not listed
        "montant_demande": "50500.00",  # 6 × 8 000 État + 1 500 + 1 000 Ville
        "montant_propose": "0.00",  # no avis recorded in this fixture
        "montant_accorde": "11000.00",  # 5 000 + 1 000 + 3 000 + 2 000
        "montant_paye": "0.00",
        "porteurs_finances": 2,
        "conventions": 0,
        "arretes": 0,
        "avenants": 0,
        "actions_par_convention": "0.00",
        "conventions_signees": 0,
        "actes_bloques": 0,
    }
    assert list(chiffres) == [
        "campagne",
        "financeur",
        "actions_deposees",
        "porteurs",
        "actions_validees",
        "taux_validation",
        "comites",
        "montant_demande",
        "montant_propose",
        "montant_accorde",
        "montant_paye",
        "porteurs_finances",
        "conventions",
        "arretes",
        "avenants",
        "actions_par_convention",
        "conventions_signees",
        "actes_bloques",
    ]


def test_financeur_restricts_every_figure(campagne):
    ville = campagne.financeurs.get(code="ville-test")
    attendu = {
        "campagne": campagne.exercice,
        "financeur": "ville-test",
        "actions_deposees": 2,  # d1 and d2 ask the Ville
        "porteurs": 1,
        "actions_validees": 1,  # d2 is validated, but the Ville refused its part
        "taux_validation": "0.50",
        "comites": [{"date": "2015-04-29", "actions_validees": 1}, {"date": "2015-06-09", "actions_validees": 0}],
        "montant_demande": "2500.00",
        "montant_propose": "0.00",
        "montant_accorde": "1000.00",
        "montant_paye": "0.00",
        "porteurs_finances": 1,
        "conventions": 0,
        "arretes": 0,
        "avenants": 0,
        "actions_par_convention": "0.00",
        "conventions_signees": 0,
        "actes_bloques": 0,
    }
    assert _stats("--campagne", str(campagne.exercice), "--financeur", "ville-test") == attendu
    assert _stats("--campagne", str(campagne.exercice), "--financeur", str(ville.pk)) == attendu
    etat = _stats("--campagne", str(campagne.exercice), "--financeur", "etat")
    assert (etat["actions_deposees"], etat["actions_validees"], etat["taux_validation"]) == (6, 3, "0.50")
    assert etat["comites"] == [
        {"date": "2015-04-29", "actions_validees": 2},
        {"date": "2015-06-09", "actions_validees": 1},
    ]
    assert (etat["montant_demande"], etat["montant_accorde"]) == ("48000.00", "10000.00")


def test_campagne_without_deposit_or_seance_gives_zeros():
    campagne = demande_complete().campagne
    chiffres = _stats("--campagne", str(campagne.exercice))
    assert chiffres["actions_validees"] == 0 and chiffres["taux_validation"] == "0.00"
    assert chiffres["comites"] == [] and chiffres["montant_accorde"] == "0.00"


@pytest.mark.parametrize(
    ("partie", "total", "attendu"),
    [(667, 720, "0.93"), (2, 3, "0.67"), (1, 8, "0.13"), (5, 5, "1.00"), (0, 4, "0.00"), (0, 0, "0.00")],
)
def test_taux_is_a_ratio_with_two_decimals_rounded_half_up(partie, total, attendu):
    assert taux(partie, total) == attendu


def test_readable_summary_lists_the_comites(campagne):
    sortie = io.StringIO()
    call_command("stats", "--campagne", str(campagne.exercice), stdout=sortie)
    texte = sortie.getvalue()
    assert "Actions validées : 3" in texte
    assert "Taux de validation (validées / déposées) : 0.50" in texte
    assert "Actions validées par comité : 29/04/2015 : 2 ; 09/06/2015 : 1" in texte
    assert "Montant total accordé (€) : 11\u00a0000,00\u00a0€" in texte


def test_figures_cost_three_queries(campagne, django_assert_num_queries):
    financeur = campagne.financeurs.get(code="etat")
    with django_assert_num_queries(3):
        statistiques_campagne(campagne=campagne)
    with django_assert_num_queries(3):
        statistiques_campagne(campagne=campagne, financeur=financeur)
