"""Comité pages: the séance page and its ordre du jour at a constant query count, the flow through the forms."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from subventions.comites import services
from subventions.comptes.enums import Role
from subventions.demandes.models import Demande
from tests.comites.aides import campagne_de_test, instruite, ligne, seance_de_test, secretaire
from tests.factories import TerritoireFactory, agent

pytestmark = pytest.mark.django_db

# Session, user, habilitations (every perimeter of the page), MFA; the séance (with its campagne and contrat) and its
# financeurs; the piliers; one page of the ordre du jour: its count, its points (with their main pilier), their lines;
# the candidates, their lines, their objectifs; the territoires of the candidates' filter.
REQUETES_SEANCE = 14
REQUETES_LISTE = 8


@pytest.fixture
def monde(client):
    campagne, etat, ville, pilier = campagne_de_test()
    comite = secretaire(etat, ville)
    seance = seance_de_test(campagne, comite)
    client.force_login(comite)
    return {"campagne": campagne, "etat": etat, "ville": ville, "comite": comite, "seance": seance, "pilier": pilier}


def _page(client, monde, **params):
    return client.get(reverse("comites:seance", args=[monde["seance"].pk]), params)


def _inscrire(monde, n):
    demandes = [instruite(monde["campagne"], ville=Decimal("1000.00")) for _ in range(n)]
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=demandes)
    instruite(monde["campagne"])  # one more candidate
    return demandes


@pytest.mark.parametrize("n", [2, 5])
def test_seance_page_query_count_does_not_grow_with_the_agenda(client, monde, django_assert_num_queries, n):
    demandes = _inscrire(monde, n)
    with django_assert_num_queries(REQUETES_SEANCE):
        reponse = _page(client, monde)
    contenu = reponse.content.decode()
    assert all(d.numero in contenu for d in demandes)
    assert contenu.count('name="decision"') == 2 * n  # État and Ville line of each demande


def test_each_point_shows_the_pilier_of_its_first_objectif_by_pilier_number(client, monde):
    from tests.factories import ObjectifFactory, PilierFactory

    a, b = _inscrire(monde, 2)
    contrat = monde["campagne"].contrat
    emploi = ObjectifFactory(pilier=PilierFactory(contrat=contrat, libelle="Emploi et développement", numero=3))
    cadre = ObjectifFactory(pilier=PilierFactory(contrat=contrat, libelle="Cadre de vie", numero=2))
    a.objectifs.set([emploi, cadre])
    b.objectifs.clear()
    contenu = _page(client, monde).content.decode()
    agenda = contenu[contenu.index('id="ordre-du-jour"') : contenu.index("</table>")]
    ligne_a = agenda[agenda.index(a.numero) : agenda.index(b.numero)]
    ligne_b = agenda[agenda.index(b.numero) :]
    assert "Cadre de vie" in ligne_a and "Emploi et développement" not in agenda
    assert "Cadre de vie" not in ligne_b and "—" in ligne_b


@pytest.mark.parametrize("n", [2, 5])
def test_seances_list_query_count(client, monde, django_assert_num_queries, n):
    for _ in range(n - 1):
        seance_de_test(monde["campagne"], monde["comite"])
    with django_assert_num_queries(REQUETES_LISTE):
        reponse = client.get(reverse("comites:seances", args=[monde["campagne"].pk]))
    assert reponse.content.decode().count("09/06/2015") == n


def test_the_agenda_is_paged_and_a_decision_returns_to_its_page(client, monde, monkeypatch):
    from subventions.comites import views

    monkeypatch.setattr(views, "PAR_PAGE", 2)
    a, b, c = _inscrire(monde, 3)
    premiere = _page(client, monde).content.decode()
    assert a.numero in premiere and b.numero in premiere and c.numero not in premiere
    assert "Ordre du jour (3)" in premiere and "Page 1 sur 2" in premiere
    seconde = _page(client, monde, page=2).content.decode()
    assert c.numero in seconde and a.numero not in seconde
    assert seconde.count('name="decision"') == 2  # État and Ville lines of the third demande
    retour = reverse("comites:seance", args=[monde["seance"].pk]) + "?page=2"
    reponse = client.post(
        reverse("comites:decider", args=[monde["seance"].pk, ligne(c).pk]),
        {"decision": "accordee", "montant": "6000", "version": ligne(c).version, "retour": retour},
    )
    assert reponse.status_code == 302 and reponse.url == retour
    assert ligne(c).statut == "accordee"
    # Only this séance's page is a valid return address.
    reponse = client.post(
        reverse("comites:decider", args=[monde["seance"].pk, ligne(c, "ville-test").pk]),
        {"decision": "accordee", "montant": "1000", "retour": "https://ailleurs.test/?page=2"},
    )
    assert reponse.url == reverse("comites:seance", args=[monde["seance"].pk])


def test_the_agenda_narrows_to_a_financeur_or_a_pilier(client, monde):
    (avec_ville,) = _inscrire(monde, 1)
    sans_ville = instruite(monde["campagne"], intitule="Radio de quartier")
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[sans_ville])
    contenu = _page(client, monde, odj_financeur=monde["ville"].pk).content.decode()
    assert avec_ville.numero in contenu and sans_ville.numero not in contenu
    assert "Ordre du jour (1)" in contenu
    contenu = _page(client, monde, odj_pilier=monde["pilier"].pk).content.decode()
    assert avec_ville.numero in contenu and sans_ville.numero in contenu


@pytest.mark.parametrize("n", [2, 5])
def test_a_page_of_the_agenda_costs_the_same_whatever_the_agenda(
    client, monde, django_assert_num_queries, monkeypatch, n
):
    from subventions.comites import views

    monkeypatch.setattr(views, "PAR_PAGE", 2)
    _inscrire(monde, n)
    with django_assert_num_queries(REQUETES_SEANCE):
        reponse = _page(client, monde, page=2)
    assert reponse.content.decode().count('name="decision"') == 4  # 2 points, État and Ville lines each


def test_candidates_filters(client, monde):
    ici = TerritoireFactory(contrat=monde["campagne"].contrat, nom="Nord Littoral")
    favorable = instruite(monde["campagne"], intitule="Jardin partagé")
    defavorable = instruite(monde["campagne"], avis="defavorable", intitule="Radio de quartier")
    Demande.objects.filter(pk=favorable.pk).update(territoire=ici)
    contenu = _page(client, monde, avis="defavorable").content.decode()
    assert "Radio de quartier" in contenu and "Jardin partagé" not in contenu
    contenu = _page(client, monde, territoire=ici.pk).content.decode()
    assert "Jardin partagé" in contenu and "Radio de quartier" not in contenu
    contenu = _page(client, monde, financeur=monde["ville"].pk).content.decode()
    assert "Jardin partagé" not in contenu and defavorable.numero not in contenu
    contenu = _page(client, monde, pilier=monde["pilier"].pk).content.decode()
    assert "Jardin partagé" in contenu and "Radio de quartier" in contenu


def test_the_secretary_runs_the_seance_through_the_pages(client, monde):
    a, b = instruite(monde["campagne"]), instruite(monde["campagne"], avis="reserve", propose=Decimal("2000.00"))
    url = reverse("comites:odj_ajouter", args=[monde["seance"].pk])
    client.post(url, {"demandes": [a.pk, b.pk]})
    assert Demande.objects.filter(pk__in=[a.pk, b.pk], statut="inscrite").count() == 2
    client.post(reverse("comites:decider_en_bloc", args=[monde["seance"].pk]))
    client.post(
        reverse("comites:decider", args=[monde["seance"].pk, ligne(b).pk]),
        {"decision": "accordee", "montant": "2 500,00", "version": ligne(b).version},
    )
    assert ligne(b).montant_accorde == Decimal("2500.00")
    reponse = client.post(reverse("comites:cloturer", args=[monde["seance"].pk]), follow=True)
    assert "Séance close" in reponse.content.decode()
    pv = client.get(reverse("comites:pv_telecharger", args=[monde["seance"].pk]))
    assert pv["Content-Type"] == "application/pdf" and pv["X-Content-Type-Options"] == "nosniff"
    assert b"".join(pv.streaming_content).startswith(b"%PDF")


def test_an_overrun_is_shown_to_the_secretary(client, monde):
    from subventions.campagnes.models import Enveloppe

    Enveloppe.objects.filter(financeur=monde["etat"]).update(montant=Decimal("5000.00"))
    (a,) = [instruite(monde["campagne"])]
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[a])
    reponse = client.post(
        reverse("comites:decider", args=[monde["seance"].pk, ligne(a).pk]),
        {"decision": "accordee", "montant": "6000"},
        follow=True,
    )
    assert "Enveloppe dépassée pour État" in reponse.content.decode()
    assert ligne(a).statut == "inscrite"


def test_conseil_citoyen_reads_the_agenda_without_any_button(client, monde):
    _inscrire(monde, 2)
    client.force_login(agent(Role.CONSEIL_CITOYEN, financeurs=[monde["etat"]]))
    contenu = _page(client, monde).content.decode()
    assert "Ordre du jour" in contenu
    assert 'name="decision"' not in contenu and "Clore la séance" not in contenu and 'id="candidats"' not in contenu


def test_espace_comite_links_to_the_seances(client, monde):
    contenu = client.get(reverse("espace_comite")).content.decode()
    assert reverse("comites:seances", args=[monde["campagne"].pk]) in contenu
