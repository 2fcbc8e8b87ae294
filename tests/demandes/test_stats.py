"""`manage.py stats`: the campagne's figures, checked against sums made here from the rows themselves."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from subventions.demandes.models import Demande, LigneFinancement
from subventions.demandes.stats import statistiques_demandes
from tests.factories import MembreFactory, demande_complete

pytestmark = pytest.mark.django_db


def _marquer_deposee(demande: Demande, n: int, statut: str = "deposee") -> Demande:
    Demande.objects.filter(pk=demande.pk).update(
        statut=statut, numero=f"{demande.campagne.exercice}-{n:06d}", depose_le=datetime(2015, 1, n, tzinfo=UTC)
    )
    return demande


def _demander(demande: Demande, **montants: str) -> None:
    for code, montant in montants.items():
        LigneFinancement.objects.filter(demande=demande, financeur__code=code).update(montant_demande=Decimal(montant))


@pytest.fixture
def campagne():
    """Two porteurs: A filed two actions (one later withdrawn) and keeps a brouillon; B filed one, asking the Ville
    only. Another campagne has a deposited demande of A."""
    a = MembreFactory()
    premiere = demande_complete(membre=a, montant_etat=Decimal("8000.00"))
    campagne = premiere.campagne
    deuxieme = demande_complete(membre=a, campagne=campagne)
    _demander(deuxieme, **{"etat": "3000.50", "ville-test": "1500.25"})
    brouillon = demande_complete(membre=a, campagne=campagne)
    _demander(brouillon, etat="5000")
    b = demande_complete(campagne=campagne)
    _demander(b, **{"etat": "0", "ville-test": "2000"})
    _marquer_deposee(premiere, 1)
    _marquer_deposee(deuxieme, 2, statut="retiree")  # deposited, then withdrawn: it was filed all the same
    _marquer_deposee(b, 3)
    _marquer_deposee(demande_complete(membre=a), 1)
    return campagne


def _attendu(campagne, code=None) -> dict:
    """The figures recomputed in Python from the rows, the slow and obvious way."""
    deposees = [d for d in Demande.objects.filter(campagne=campagne) if d.numero]
    if code:
        deposees = [d for d in deposees if any(lf.financeur.code == code and lf.montant_demande > 0
                                                for lf in d.lignes_financement.all())]  # fmt: skip
    lignes = [lf for d in deposees for lf in d.lignes_financement.all() if code is None or lf.financeur.code == code]
    total = sum((lf.montant_demande for lf in lignes), Decimal("0"))
    accorde = sum((lf.montant_accorde for lf in lignes if lf.statut == "accordee"), Decimal("0"))
    validees = [d for d in deposees if d.statut in ("validee", "conventionnee", "bilan_depose", "soldee")]
    propose = sum((lf.montant_propose or Decimal("0") for lf in lignes), Decimal("0"))
    finances = {lf.demande.porteur_id for lf in lignes if lf.statut == "accordee" and lf.montant_accorde}
    return {
        "campagne": campagne.exercice,
        "financeur": code,
        "actions_deposees": len(deposees),
        "porteurs": len({d.porteur_id for d in deposees}),
        "actions_validees": len(validees),  # none here: see tests/test_stats_comites.py for decided demandes
        "taux_validation": f"{len(validees) / len(deposees):.2f}" if deposees else "0.00",
        "comites": [],
        "montant_demande": f"{total:.2f}",
        "montant_propose": f"{propose:.2f}",
        "montant_accorde": f"{accorde:.2f}",
        "montant_paye": "0.00",  # nothing paid without documents (see tests/pilotage/test_stats.py)
        "porteurs_finances": len(finances),
        # No document yet: the conventions' figures are tested in tests/conventions.
        "conventions": 0,
        "arretes": 0,
        "avenants": 0,
        "actions_par_convention": "0.00",
        "conventions_signees": 0,
        "actes_bloques": 0,
    }


def _stats(*args) -> str:
    sortie = io.StringIO()
    call_command("stats", *args, stdout=sortie)
    return sortie.getvalue()


def test_json_figures_of_a_campagne(campagne):
    chiffres = json.loads(_stats("--campagne", str(campagne.exercice), "--json"))
    assert chiffres == _attendu(campagne)
    assert chiffres["actions_deposees"] == 3
    assert chiffres["porteurs"] == 2
    assert chiffres["montant_demande"] == "14500.75"


@pytest.mark.parametrize("par", ["code", "id"])
def test_financeur_restricts_demandes_and_amounts(campagne, par):
    etat = campagne.financeurs.get(code="etat")
    chiffres = json.loads(
        _stats(
            "--campagne", str(campagne.exercice), "--financeur", etat.code if par == "code" else str(etat.pk), "--json"
        )
    )
    assert chiffres == _attendu(campagne, "etat")
    assert (chiffres["actions_deposees"], chiffres["porteurs"], chiffres["montant_demande"]) == (2, 1, "11000.50")


def test_financeur_nobody_asked_gives_zeros(campagne):
    LigneFinancement.objects.filter(financeur__code="ville-test").update(montant_demande=0)
    chiffres = statistiques_demandes(campagne=campagne, financeur=campagne.financeurs.get(code="ville-test"))
    assert chiffres["actions_deposees"] == 0 and chiffres["porteurs"] == 0
    assert chiffres["montant_demande"] == "0.00"


def test_readable_french_summary(campagne):
    sortie = _stats("--campagne", str(campagne.exercice))
    assert "Actions déposées : 3" in sortie
    assert "Porteurs ayant déposé : 2" in sortie
    assert "Montant total demandé (€) : 14\u00a0500,75\u00a0€" in sortie
    assert "Financeur : tous" in sortie


def test_figures_cost_two_queries(campagne, django_assert_num_queries):
    financeur = campagne.financeurs.get(code="etat")
    with django_assert_num_queries(2):
        statistiques_demandes(campagne=campagne)
    with django_assert_num_queries(2):
        statistiques_demandes(campagne=campagne, financeur=financeur)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--campagne", "1999"], "Aucune campagne pour l'exercice 1999"),
        (["--campagne", "deux-mille"], "attend l'exercice de la campagne"),
        (["--campagne", "{exercice}", "--financeur", "fondation-x"], "Financeur inconnu : « fondation-x »"),
        (["--campagne", "{exercice}", "--financeur", "999999"], "Financeur inconnu"),
    ],
)
def test_unknown_campagne_or_financeur_is_a_clear_french_error(campagne, args, message):
    args = [a.format(exercice=campagne.exercice) for a in args]
    with pytest.raises(CommandError, match=message):
        _stats(*args)
