"""`manage.py stats` from the pilotage selectors: montant_paye and the new keys, the scope of a financeur, of a
territoire or a pilier (payments shared pro rata), the same figures as the dashboard's."""

from __future__ import annotations

import io
import json
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


def test_the_figures_cost_four_queries_whatever_the_size(django_assert_num_queries):
    petit = monde_pilotage()
    with django_assert_num_queries(4):
        statistiques_campagne(campagne=petit.campagne)
    from tests.pilotage.aides import programme

    for _ in range(3):
        programme(petit)
    with django_assert_num_queries(4):
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
