"""`manage.py stats` from the pilotage selectors: montant_paye and the new keys, the scope of a financeur, of a
territoire or a pilier (payments shared pro rata), the same figures as the dashboard's."""

from __future__ import annotations

import io
import json
from datetime import date
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from subventions.campagnes.models import Campagne
from subventions.pilotage import selectors
from subventions.pilotage.selectors import Portee, chiffres, faits_charger, statistiques_campagne
from subventions.pilotage.services import subventions_importer
from tests.pilotage.aides import DONNEES, monde_pilotage

pytestmark = pytest.mark.django_db


def _stats(*args) -> dict:
    sortie = io.StringIO()
    call_command("stats", *args, "--json", stdout=sortie)
    return json.loads(sortie.getvalue())


def test_every_figure_of_the_programme():
    monde = monde_pilotage()
    assert _stats("--campagne", "2015") == {
        "campagne": 2015,
        "financeur": None,
        "actions_deposees": 5,  # the brouillon is not counted
        "porteurs": 2,
        "actions_validees": 3,
        "taux_validation": "0.60",
        "comites": [{"date": "2015-06-09", "actions_validees": 3}],
        "montant_demande": "33000.00",
        "montant_propose": "18500.00",
        "montant_accorde": "18500.00",
        "montant_paye": "7200.00",  # the État's advance (6 000) and the Ville's (1 200)
        "porteurs_finances": 2,
        "conventions": 1,
        "arretes": 2,
        "avenants": 0,
        "actions_par_convention": "2.00",
        "conventions_signees": 1,
        "actes_bloques": 0,
    }
    assert monde.campagne.exercice == 2015


@pytest.mark.parametrize(
    ("code", "attendu"),
    [
        (
            "etat",
            {"actions_deposees": 4, "actions_validees": 2, "montant_demande": "25000.00",
             "montant_accorde": "12000.00", "montant_paye": "6000.00", "porteurs_finances": 1, "conventions": 1,
             "arretes": 0},
        ),
        (
            "ville-test",
            {"actions_deposees": 2, "actions_validees": 2, "montant_demande": "8000.00",
             "montant_accorde": "6500.00", "montant_paye": "1200.00", "porteurs_finances": 2, "conventions": 0,
             "arretes": 2},
        ),
    ],
)  # fmt: skip
def test_a_financeur_sees_its_own_lines_documents_and_payments(code, attendu):
    monde_pilotage()
    chiffres_ = _stats("--campagne", "2015", "--financeur", code)
    assert {cle: chiffres_[cle] for cle in attendu} == attendu
    assert chiffres_["financeur"] == code


def test_payments_are_shared_pro_rata_under_a_filter():
    """Pilier 2: d2 (4 000 of the État's 12 000 convention, whose 6 000 were paid) and d6 (arrêté not executory)."""
    monde = monde_pilotage()
    pilier = chiffres(faits_charger(Portee(monde.campagne, pilier=monde.piliers[1].pk)))
    assert (pilier["actions_deposees"], pilier["montant_accorde"], pilier["montant_paye"]) == (2, "9000.00", "2000.00")
    nord = chiffres(faits_charger(Portee(monde.campagne, territoire=monde.territoires[0].pk)))
    assert (nord["actions_deposees"], nord["montant_accorde"], nord["montant_paye"]) == (2, "13500.00", "7200.00")
    # Every action of the documents in the scope: the shares add up to the payments to the cent.
    faits = faits_charger(Portee(monde.campagne))
    assert sum(faits.paye.values()) == Decimal("7200.00")


def test_comites_and_funnel_of_each_financeur():
    """Counted by hand. d7 (porteur B, validée) asks the Ville 1 000 € (granted on 9 June) and the État nothing: it
    is not the État's. A second comité, closed on 1 October, grants d2's État line again (counted) and d4's
    (d4 is not validated: not counted) and adjourns d6; a third, still open, grants d1's État line (not counted)."""
    from subventions.comites.models import DecisionLigne, Seance
    from subventions.demandes.models import LigneFinancement
    from subventions.pilotage.tableaux import entonnoir
    from tests.pilotage.aides import action

    monde = monde_pilotage()
    lignes = {monde.etat: ("0", None, None, "demandee"), monde.ville: ("1000", "1000", "1000", "accordee")}
    sud, o2 = monde.territoires[1], monde.objectifs[1]
    action(monde, monde.porteurs[1], statut="validee", territoire=sud, objectifs=[o2], qpvs=[], lignes=lignes)
    d1, d2, _d3, d4, _d5, d6 = monde.demandes[:6]
    octobre = Seance.objects.create(
        campagne=monde.campagne, date=date(2015, 10, 1), kind="programmation", statut="close", cree_par=monde.auteur
    )
    ouverte = Seance.objects.create(
        campagne=monde.campagne, date=date(2015, 11, 5), kind="programmation", statut="ouverte", cree_par=monde.auteur
    )

    def decider(seance, demande, financeur, decision):
        ligne = LigneFinancement.objects.get(demande=demande, financeur=financeur)
        montant = Decimal("100") if decision == "accordee" else None
        DecisionLigne.objects.create(
            seance=seance, ligne=ligne, financeur=financeur, decision=decision, montant=montant
        )

    decider(octobre, d2, monde.etat, "accordee")
    decider(octobre, d4, monde.etat, "accordee")
    decider(octobre, d6, monde.ville, "ajournee")
    decider(ouverte, d1, monde.etat, "accordee")

    def comites(financeur=None) -> list:
        portee = Portee(monde.campagne, frozenset({financeur.pk}) if financeur else None)
        return [(c["date"], c["actions_validees"]) for c in faits_charger(portee).comites]

    assert comites() == [("2015-06-09", 4), ("2015-10-01", 1)]  # d1, d2, d6, d7; then d2
    assert comites(monde.etat) == [("2015-06-09", 2), ("2015-10-01", 1)]  # d1, d2; then d2
    assert comites(monde.ville) == [("2015-06-09", 3), ("2015-10-01", 0)]  # d1, d6, d7
    # The État's funnel: d1 to d4 deposited; d1, d2 (conventionnées) and d3 (refused) instructed; d1 and d2
    # validated, under its signed convention (8 000 + 4 000) and paid its 6 000 € advance between them.
    etat = entonnoir(faits_charger(Portee(monde.campagne, frozenset({monde.etat.pk}))))
    assert [ligne[1:3] for ligne in etat.lignes] == [
        [4, Decimal("25000.00")],
        [3, Decimal("12000.00")],
        [2, Decimal("12000.00")],
        [2, Decimal("12000.00")],
        [2, Decimal("6000.00")],
    ]


def test_the_figures_cost_three_queries_whatever_the_size(django_assert_num_queries):
    petit = monde_pilotage()
    with django_assert_num_queries(3):
        statistiques_campagne(campagne=petit.campagne)
    from tests.pilotage.aides import programme

    for _ in range(3):
        programme(petit)
    with django_assert_num_queries(3):
        grand = statistiques_campagne(campagne=petit.campagne, financeur=petit.etat)
    assert grand["actions_deposees"] == 16


def test_help_documents_montant_paye():
    from subventions.pilotage.management.commands.stats import Command

    aide = Command().help
    for cle in ("montant_paye", "montant_propose", "porteurs_finances", "taux_validation", "actions_par_convention"):
        assert cle in aide
    assert "payé" in aide


def test_an_imported_year_does_not_make_the_programme_ambiguous():
    """Importing 2015 history creates a second 2015 campagne (historical contrat): `stats --campagne 2015` keeps
    reading the programme's own, and --contrat reads the imported one."""
    monde = monde_pilotage()
    contenu = (
        "nomAttribuant;idAttribuant;dateConvention;nomBeneficiaire;idBeneficiaire;objet;montant\n"
        "Commune de Roques;21310458100011;2015-01-20;Karaté Roques;80935176000016;Subvention 2015;500\n"
    ).encode()
    subventions_importer(contenu=contenu, nom_fichier="roques.csv")
    assert Campagne.objects.filter(exercice=2015).count() == 2
    assert _stats("--campagne", "2015")["actions_deposees"] == 5
    historique = Campagne.objects.exclude(pk=monde.campagne.pk).get(exercice=2015)
    importees = _stats("--campagne", "2015", "--contrat", str(historique.contrat_id))
    assert (importees["actions_deposees"], importees["montant_accorde"], importees["arretes"]) == (1, "500.00", 1)
    with pytest.raises(CommandError, match="Aucune campagne 2015 pour le contrat"):
        _stats("--campagne", "2015", "--contrat", "999999")


def test_the_dashboard_portee_of_a_user_matches_the_command():
    from subventions.comptes.enums import Role
    from tests.factories import agent

    monde = monde_pilotage()
    user = agent(Role.FINANCE, financeurs=[monde.ville])
    portee = selectors.portee_de(user, campagne=monde.campagne)
    assert chiffres(faits_charger(portee)) | {"financeur": "ville-test"} == statistiques_campagne(
        campagne=monde.campagne, financeur=monde.ville
    )


def test_real_file_in_stats_only_for_its_contrat():
    """The Haute-Garonne file's three years become three historical campagnes, each readable by --contrat."""
    subventions_importer(contenu=(DONNEES / "haute-garonne-2017-scdl.csv").read_bytes(), nom_fichier="hg.csv")
    campagne = Campagne.objects.get(exercice=2016)
    chiffres_ = _stats("--campagne", "2016")
    assert chiffres_["campagne"] == 2016 and chiffres_["actions_deposees"] == 13
    assert campagne.historique is not None
