"""The porteur's home and the request list (status in plain French, what is expected and by when, récépissés, at
a constant query cost), the demande page, and the renewal of a previous year's action."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from associations.enums import RoleMembre
from subventions.demandes.models import Demande, LigneBudget
from subventions.demandes.services import demande_deposer
from tests.demandes.aides_vues import brancher_recepisse, membre_de, texte, url_etape
from tests.factories import (
    CampagneFactory,
    FinanceurFactory,
    MembreFactory,
    ObjectifFactory,
    PilierFactory,
    TypePieceFactory,
    UserFactory,
    demande_complete,
)
from workflows.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _recepisse(monkeypatch):
    brancher_recepisse(monkeypatch)


def deposer(demande):
    return demande_deposer(
        demande=demande, user=demande.cree_par, nom="Aïcha Durand", qualite="Présidente",
        engagement_republicain=True, exactitude=True,
    )  # fmt: skip


@pytest.fixture
def monde():
    """A représentant légal of two structures; a campagne open now; one demande deposited, one brouillon."""
    etat, ville = FinanceurFactory(code="etat", nom="État"), FinanceurFactory(code="ville-test", nom="Ville de Test")
    campagne = CampagneFactory(financeurs=[etat, ville], titre="Appel à projets 2026")
    campagne.objectifs.set([ObjectifFactory(pilier=PilierFactory(contrat=campagne.contrat))])
    campagne.pieces_requises.set([TypePieceFactory(code="statuts")])
    membre = MembreFactory()
    deposee = deposer(demande_complete(membre=membre, campagne=campagne, intitule="Soutien scolaire"))
    brouillon = demande_complete(membre=membre, campagne=campagne, intitule="Fête de quartier")
    return {"membre": membre, "campagne": campagne, "deposee": deposee, "brouillon": brouillon}


def _ajouter_demandes(monde, n: int):
    """More demandes, in the same structure and in a second one of the same user (one deposited)."""
    seconde = MembreFactory(user=monde["membre"].user)
    for i in range(n):
        demande_complete(membre=monde["membre"], campagne=monde["campagne"], intitule=f"Action {i}")
        demande = demande_complete(membre=seconde, campagne=monde["campagne"], intitule=f"Autre action {i}")
    deposer(demande)


def test_home_lists_each_demande_with_status_expectation_and_recepisse(client, monde):
    client.force_login(monde["membre"].user)
    page = texte(client.get(reverse("espace_association")))
    deposee, brouillon = monde["deposee"], monde["brouillon"]
    assert monde["membre"].porteur.nom in page and "Représentant légal" in page
    assert "Soutien scolaire" in page and f"Dossier n° {deposee.numero}" in page
    assert "Dossier reçu : il sera vérifié par le service instructeur." in page
    assert f'href="/demandes/{deposee.pk}/recepisse/"' in page
    assert "Fête de quartier" in page and "À compléter puis déposer par un représentant légal" in page
    cloture = timezone.localtime(monde["campagne"].cloture).strftime("%d/%m/%Y à %H:%M")
    assert f"Date limite : {cloture}" in page  # the closing date-time of the campagne, for the brouillon
    assert f'href="/demandes/{brouillon.pk}/recepisse/"' not in page
    assert "8\u00a0000,00\u00a0€" in page  # amount asked
    assert f"/demandes/nouvelle/{monde['campagne'].pk}/?porteur={monde['membre'].porteur.pk}" in page
    assert 'href="/association/"' in page  # Mes structures


def test_home_without_structure_invites_to_create_one(client):
    CampagneFactory(titre="Appel ouvert")
    client.force_login(UserFactory())
    page = texte(client.get(reverse("espace_association")))
    assert "Votre compte n'est rattaché à aucune structure." in page
    assert f'href="{reverse("associations:porteur_creer")}"' in page
    assert "Appel ouvert" in page and "/demandes/nouvelle/" not in page


def test_home_for_a_lecteur_offers_no_new_demande(client, monde):
    lecteur = membre_de(monde["membre"].porteur, RoleMembre.LECTEUR)
    client.force_login(lecteur.user)
    page = texte(client.get(reverse("espace_association")))
    assert "Soutien scolaire" in page and "Lecteur" in page
    assert "/demandes/nouvelle/" not in page


def test_home_query_count_is_constant(client, monde, django_assert_num_queries):
    client.force_login(monde["membre"].user)
    url = reverse("espace_association")
    client.get(url)  # warm the session
    with django_assert_num_queries(9):
        page = texte(client.get(url))
    assert page.count("/recepisse/") == 1
    _ajouter_demandes(monde, 3)
    with django_assert_num_queries(9):
        page = texte(client.get(url))
    assert page.count("/recepisse/") == 2 and "Autre action 2" in page


def test_request_list_query_count_is_constant(client, monde, django_assert_num_queries):
    client.force_login(monde["membre"].user)
    url = reverse("demandes:liste")
    client.get(url)
    with django_assert_num_queries(5):
        page = texte(client.get(url))
    assert "Soutien scolaire" in page and "Fête de quartier" in page
    _ajouter_demandes(monde, 3)
    with django_assert_num_queries(5):
        page = texte(client.get(url))
    assert page.count('href="/demandes/') >= 2 + 6


def test_demande_page_shows_status_number_history_and_document(client, monde):
    deposee = monde["deposee"]
    client.force_login(monde["membre"].user)
    page = texte(client.get(reverse("demandes:detail", args=[deposee.pk])))
    assert "Déposée" in page and f"Dossier n° {deposee.numero}" in page
    assert "Dossier reçu : il sera vérifié par le service instructeur." in page
    assert "demande créée" in page and "— Déposée par" in page
    assert "Télécharger le récépissé de dépôt" in page
    assert "Continuer la demande" not in page  # read-only now
    page = texte(client.get(reverse("demandes:detail", args=[monde["brouillon"].pk])))
    assert "Brouillon" in page and "Continuer la demande" in page


def test_pieces_step_links_to_the_vault_and_back(client, monde):
    brouillon = monde["brouillon"]
    client.force_login(monde["membre"].user)
    page = texte(client.get(url_etape(brouillon, "pieces")))
    coffre = reverse("associations:coffre", args=[brouillon.porteur.pk])
    assert f'href="{coffre}?next=%2Fdemandes%2F{brouillon.pk}%2Fetapes%2Fpieces%2F"' in page


def test_renewal_copies_the_content_but_not_the_deposit(client):
    ancienne_campagne = CampagneFactory(close=True, financeurs=[FinanceurFactory(code="etat", nom="État")])
    ancienne_campagne.objectifs.set([ObjectifFactory(pilier=PilierFactory(contrat=ancienne_campagne.contrat))])
    origine = demande_complete(campagne=ancienne_campagne, intitule="Ateliers numériques")
    # Deposited last year (the campagne was open then).
    Demande.objects.filter(pk=origine.pk).update(statut="validee", numero="2015-000042")
    nouvelle_campagne = CampagneFactory(
        exercice=2026, titre="Appel à projets 2026", financeurs=list(ancienne_campagne.financeurs.all())
    )
    client.force_login(origine.cree_par)
    page = texte(client.get(reverse("demandes:detail", args=[origine.pk])))
    assert "Renouveler pour Appel à projets 2026" in page
    response = client.post(reverse("demandes:renouveler", args=[origine.pk]), {"campagne": nouvelle_campagne.pk})
    nouvelle = Demande.objects.get(origine=origine)
    assert response.status_code == 302 and response.url == url_etape(nouvelle, "identification")
    assert nouvelle.campagne == nouvelle_campagne and nouvelle.statut == "brouillon"
    assert nouvelle.type_demande == "renouvellement"
    assert (nouvelle.intitule, nouvelle.description, nouvelle.lieu) == (
        origine.intitule, origine.description, origine.lieu,
    )  # fmt: skip
    assert list(nouvelle.indicateurs.values_list("nom", "cible")) == [("Participants réguliers", "30")]
    assert set(nouvelle.qpvs.all()) == set(origine.qpvs.all())
    assert LigneBudget.objects.get(demande=nouvelle, compte="64").montant == Decimal("10000.00")
    # Nothing of the decision or the deposit is carried over.
    assert nouvelle.numero == "" and nouvelle.depose_le is None and nouvelle.declaration_nom == ""
    assert not nouvelle.declaration_engagement_republicain and nouvelle.identification == {}
    assert not Document.objects.filter(object_id=nouvelle.pk).exists()
    assert "Le renouvellement pour Appel à projets 2026 est créé" in texte(client.get(response.url))
    # A second click does not create a second renewal.
    client.post(reverse("demandes:renouveler", args=[origine.pk]), {"campagne": nouvelle_campagne.pk})
    assert Demande.objects.filter(origine=origine).count() == 1
    assert "Renouvellement pour Appel à projets 2026 : déjà créé" in texte(
        client.get(reverse("demandes:detail", args=[origine.pk]))
    )


def test_renewal_refuses_a_closed_or_same_campagne(client):
    origine = demande_complete()
    close = CampagneFactory(close=True)
    client.force_login(origine.cree_par)
    for campagne in (close, origine.campagne):
        response = client.post(reverse("demandes:renouveler", args=[origine.pk]), {"campagne": campagne.pk})
        assert response.status_code == 302
    assert not Demande.objects.filter(origine=origine).exists()
    assert "Choisissez un appel à projets ouvert" in texte(client.get(reverse("demandes:detail", args=[origine.pk])))
