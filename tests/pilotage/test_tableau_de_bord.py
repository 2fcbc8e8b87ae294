"""The dashboard: the same figures as `stats`, charts drawn in SVG with text alternatives and unlocalised numbers,
filters, the user's perimeter, CSV and XLSX of every table, and a constant number of queries."""

from __future__ import annotations

import csv
import io
import re
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from subventions.comptes.enums import Role
from subventions.pilotage.selectors import statistiques_campagne
from subventions.pilotage.tableaux import TABLEAUX
from subventions.templatetags.subventions_tags import formater_montant
from tests.factories import FinanceurFactory, agent
from tests.pilotage.aides import monde_pilotage, programme

pytestmark = pytest.mark.django_db


def _chiffres_page(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-cle="(\w+)">([^<]*)<', html))


def _page(client, user, **params):
    client.force_login(user)
    reponse = client.get(reverse("pilotage:tableau_de_bord"), params)
    assert reponse.status_code == 200
    return reponse.content.decode()


def test_the_dashboard_shows_the_figures_of_stats(client):
    monde = monde_pilotage()
    html = _page(client, agent(Role.COMITE, financeurs=[monde.etat, monde.ville]))
    stats = statistiques_campagne(campagne=monde.campagne)
    page = _chiffres_page(html)
    for cle in ("actions_deposees", "actions_validees", "porteurs_finances", "conventions_signees"):
        assert page[cle] == str(stats[cle]), cle
    for cle in ("montant_demande", "montant_propose", "montant_accorde", "montant_paye"):
        assert page[cle] == formater_montant(stats[cle]), cle
    assert page["taux_validation"] == "60\u00a0%"
    assert page["conventions"] == "1 / 2 / 0"
    # Every total row of the tables by pilier, territoire, financeur and status says the same.
    for cle in ("piliers", "territoires", "financeurs", "statuts"):
        section = html.split(f'data-tableau="{cle}"', 1)[1].split("</table>", 1)[0]
        totaux = re.findall(r"<td[^>]*data-total>([^<]*)</td>", section)
        assert totaux == [
            str(stats["actions_deposees"]),
            str(stats["actions_validees"]),
            *(formater_montant(stats[c]) for c in ("montant_demande", "montant_propose", "montant_accorde",
                                                     "montant_paye")),
        ], cle  # fmt: skip


def test_charts_are_inline_svg_with_a_text_alternative_and_unlocalised_numbers(client, settings):
    settings.LANGUAGE_CODE = "fr"
    monde = monde_pilotage()
    html = _page(client, agent(Role.INSTRUCTEUR, tous=True))
    svgs = re.findall(r"<svg.*?</svg>", html, flags=re.S)
    assert len(svgs) == 5
    for svg in svgs:
        assert 'role="img"' in svg and "<title id=" in svg and "<desc id=" in svg
        formes = svg.split(">", 1)[1]  # the shapes (the <svg> itself is 100 % wide)
        nombres = re.findall(r'\s(?:x|y|x1|x2|y1|y2|width|height)="([^"]*)"', formes)
        assert nombres and all(re.fullmatch(r"\d+(\.\d+)?", n) for n in nombres), nombres
        assert 'viewBox="0 0 760 ' in svg
    # Decimals are written with a point (French formats would have put a comma there).
    assert any("." in n for svg in svgs for n in re.findall(r'\swidth="([^"]*)"', svg))
    # The description tells the figures; the table is on the page, linked from the chart.
    piliers = next(svg for svg in svgs if "graphique-piliers" in svg)
    assert "1. Cohésion sociale : demandé 28\u00a0000,00\u00a0€" in piliers  # d6 counts in its main pilier
    assert 'href="#tableau-piliers"' in html and 'id="tableau-piliers"' in html
    assert monde.campagne.titre in html


def test_no_external_script_or_style(client):
    monde_pilotage()
    html = _page(client, agent(Role.INSTRUCTEUR, tous=True))
    assert not re.search(r'(src|href)="https?://', html)


def test_filters_by_territoire_and_pilier(client):
    monde = monde_pilotage()
    user = agent(Role.COMITE, tous=True)
    nord = _chiffres_page(_page(client, user, campagne=monde.campagne.pk, territoire=monde.territoires[0].pk))
    assert (nord["actions_deposees"], nord["montant_paye"]) == ("2", formater_montant("7200"))
    pilier = _chiffres_page(_page(client, user, campagne=monde.campagne.pk, pilier=monde.piliers[1].pk))
    assert (pilier["actions_deposees"], pilier["montant_accorde"]) == ("2", formater_montant("9000"))


def test_a_user_of_another_financeur_never_sees_its_figures(client):
    monde = monde_pilotage()
    ville = _page(client, agent(Role.FINANCE, financeurs=[monde.ville]))
    chiffres = _chiffres_page(ville)
    assert (chiffres["actions_deposees"], chiffres["montant_demande"]) == ("2", formater_montant("8000"))
    assert chiffres["conventions"] == "0 / 2 / 0"
    assert "État" not in ville.split("<main", 1)[1].split("Données ouvertes", 1)[0]
    assert formater_montant("25000") not in ville
    # Asking for the État by its id, or downloading its table, is a 404, like any foreign object.
    etrangere = {"campagne": monde.campagne.pk, "financeur": monde.etat.pk}
    assert client.get(reverse("pilotage:tableau_de_bord"), etrangere).status_code == 404
    export = reverse("pilotage:tableau_export", args=["financeurs", "csv"])
    assert client.get(export, etrangere).status_code == 404
    fichier = client.get(export, {"campagne": monde.campagne.pk})
    assert "État" not in fichier.content.decode("utf-8-sig")
    # An agent of a financeur outside the campagne sees no campagne at all, and cannot open this one.
    autre = agent(Role.FINANCE, financeurs=[FinanceurFactory()])
    assert "Aucune campagne de votre périmètre" in _page(client, autre)
    assert client.get(reverse("pilotage:tableau_de_bord"), {"campagne": monde.campagne.pk}).status_code == 404


def test_an_instructeur_limited_to_a_territoire_sees_its_actions_only(client):
    monde = monde_pilotage()
    nord = agent(Role.INSTRUCTEUR, financeurs=[monde.etat, monde.ville], territoires=[monde.territoires[0]])
    chiffres = _chiffres_page(_page(client, nord))
    assert (chiffres["actions_deposees"], chiffres["montant_accorde"]) == ("2", formater_montant("13500"))
    reponse = client.get(reverse("pilotage:tableau_de_bord"), {"territoire": monde.territoires[1].pk})
    assert reponse.status_code == 404


def _requetes(client, url, params) -> int:
    with CaptureQueriesContext(connection) as requetes:
        assert client.get(url, params).status_code == 200
    return len(requetes.captured_queries)


# The dashboard: session and user, habilitations (every perimeter of the page) and MFA, the campagnes (with whether
# each has deposits or is imported history), the financeurs of the perimeter, 7 for the facts and labels (the piliers
# of the filter among them), and the late comptes-rendus once the bilans app has its model.
REQUETES_TABLEAU_DE_BORD = 13 + int("bilans.compterendu" in {m._meta.label_lower for m in apps.get_models()})


def test_the_dashboard_costs_the_same_queries_with_more_rows(client, django_assert_num_queries):
    monde = monde_pilotage()
    client.force_login(agent(Role.COMITE, financeurs=[monde.etat, monde.ville]))
    url = reverse("pilotage:tableau_de_bord")
    client.get(url)  # the session's first request (last login…) is not the page's cost
    with django_assert_num_queries(REQUETES_TABLEAU_DE_BORD):
        client.get(url)
    for _ in range(3):
        programme(monde)
    with django_assert_num_queries(REQUETES_TABLEAU_DE_BORD):
        reponse = client.get(url)
    assert _chiffres_page(reponse.content.decode())["actions_deposees"] == "20"
    filtres = {"campagne": monde.campagne.pk, "territoire": monde.territoires[0].pk, "pilier": monde.piliers[0].pk}
    assert _requetes(client, url, filtres) == REQUETES_TABLEAU_DE_BORD  # a chosen campagne costs the same


@pytest.mark.parametrize("nom", sorted(TABLEAUX))
def test_every_table_downloads_as_csv_and_xlsx_at_a_constant_cost(client, nom):
    monde = monde_pilotage()
    client.force_login(agent(Role.COMITE, tous=True))
    url_csv = reverse("pilotage:tableau_export", args=[nom, "csv"])
    params = {"campagne": monde.campagne.pk}
    petit = _requetes(client, url_csv, params)
    for _ in range(2):
        programme(monde)
    assert _requetes(client, url_csv, params) == petit
    contenu = client.get(url_csv, params)
    assert contenu["Content-Type"] == "text/csv; charset=utf-8"
    assert contenu["Content-Disposition"] == f'attachment; filename="pilotage-2015-{nom}.csv"'
    assert contenu.content.startswith(b"\xef\xbb\xbf")
    lignes = list(csv.reader(io.StringIO(contenu.content.decode("utf-8-sig")), delimiter=";"))
    assert len(lignes) >= 2 and all(len(ligne) == len(lignes[0]) for ligne in lignes)
    classeur = client.get(reverse("pilotage:tableau_export", args=[nom, "xlsx"]), params)
    assert classeur["Content-Type"].startswith("application/vnd.openxmlformats")
    feuille = load_workbook(io.BytesIO(classeur.content)).active
    assert [c.value for c in feuille[1]] == lignes[0]
    assert feuille.max_row == len(lignes)


def test_files_are_typed_and_french(client):
    monde = monde_pilotage()
    client.force_login(agent(Role.COMITE, tous=True))
    params = {"campagne": monde.campagne.pk}
    texte = client.get(reverse("pilotage:tableau_export", args=["piliers", "csv"]), params).content.decode("utf-8-sig")
    entete, *lignes, total = list(csv.reader(io.StringIO(texte), delimiter=";"))
    assert entete[:4] == ["Pilier", "Actions déposées", "Actions validées", "Demandé (€)"]
    assert total == ["Total", "5", "3", "33000,00", "18500,00", "18500,00", "7200,00"]
    feuille = load_workbook(
        io.BytesIO(client.get(reverse("pilotage:tableau_export", args=["piliers", "xlsx"]), params).content)
    ).active
    derniere = feuille[feuille.max_row]
    assert [c.value for c in derniere][:3] == ["Total", 5, 3]
    assert derniere[3].value == 33000 and "€" in derniere[3].number_format
    synthese = load_workbook(
        io.BytesIO(client.get(reverse("pilotage:tableau_export", args=["synthese", "xlsx"]), params).content)
    ).active
    valeurs = {ligne[0].value: ligne[1] for ligne in synthese.iter_rows(min_row=2)}
    taux = valeurs["Taux de validation (validées / déposées)"]
    assert (taux.value, taux.number_format) == (0.6, "0%")
    assert Decimal(str(valeurs["Actions par convention (moyenne)"].value)) == Decimal("2")
    assert valeurs["Montant payé"].value == 7200 and "€" in valeurs["Montant payé"].number_format


def test_dashboard_without_campagne_or_with_an_empty_one(client):
    user = agent(Role.ADMINISTRATEUR, tous=True)
    assert "Aucune campagne de votre périmètre" in _page(client, user)
    monde = monde_pilotage(copies=0)
    html = _page(client, user, campagne=monde.campagne.pk)
    assert _chiffres_page(html)["actions_deposees"] == "0"
    assert "Aucune donnée pour cette sélection." in html


def test_late_comptes_rendus_of_the_perimeter(client):
    """The comptes-rendus of the État's convention (two actions), due on 30 June 2016, were never filed."""
    try:
        from subventions.bilans.services import comptes_rendus_ouvrir
    except ImportError:
        pytest.skip("the bilans app has no comptes-rendus yet")
    from subventions.conventions.models import ActeAttribution

    monde = monde_pilotage()
    comptes_rendus_ouvrir(acte=ActeAttribution.objects.get(financeur=monde.etat, statut="signee"))
    etat = _chiffres_page(_page(client, agent(Role.SIGNATAIRE, financeurs=[monde.etat])))
    assert etat["comptes_rendus_en_retard"] == "2"
    ville = _chiffres_page(_page(client, agent(Role.SIGNATAIRE, financeurs=[monde.ville])))
    assert ville["comptes_rendus_en_retard"] == "0"


def test_the_garbage_collector_is_back_on_after_the_page_even_when_it_fails(client, monkeypatch):
    """The dashboard pauses Python's cyclic collector while it computes (see `views._gc_en_pause`): a worker left
    without it would grow until restarted."""
    import gc

    from subventions.pilotage import selectors, views

    monde = monde_pilotage()
    client.force_login(agent(Role.COMITE, tous=True))
    assert client.get(reverse("pilotage:tableau_de_bord")).status_code == 200
    assert gc.isenabled()

    def en_panne(*args, **kwargs):
        assert not gc.isenabled()  # paused while the figures are computed
        raise RuntimeError("base indisponible")

    monkeypatch.setattr(selectors, "faits_charger", en_panne)
    client.raise_request_exception = False
    assert client.get(reverse("pilotage:tableau_de_bord"), {"campagne": monde.campagne.pk}).status_code == 500
    assert gc.isenabled()
    with views._gc_en_pause(), views._gc_en_pause():  # nested (threads of one process): on again after the last
        assert not gc.isenabled()
    assert gc.isenabled()
