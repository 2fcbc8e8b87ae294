"""Deposit from the last step: completeness with links, the déclaration by a représentant légal only, the unbalanced
budget blocking with its difference, the récépissé download, double submission giving one deposit."""

from __future__ import annotations

import threading
from datetime import datetime
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client

from associations.enums import RoleMembre
from subventions.campagnes.models import Campagne
from subventions.demandes.models import Demande, LigneBudget
from tests.demandes.aides_vues import brancher_recepisse, membre_de, texte, url_etape
from tests.factories import PARIS, demande_complete
from workflows.models import Courriel, Document, TransitionLog

pytestmark = pytest.mark.django_db

DECLARATION = {
    "nom": "Aïcha Durand",
    "qualite": "Présidente",
    "engagement_republicain": "on",
    "exactitude": "on",
}


@pytest.fixture(autouse=True)
def _recepisse(monkeypatch):
    brancher_recepisse(monkeypatch)


@pytest.fixture
def demande():
    return demande_complete()


def _deposer(client, demande, **extra):
    return client.post(url_etape(demande, "depot"), {**DECLARATION, **extra})


def test_depot_page_shows_the_recap_and_the_declaration(client, demande):
    client.force_login(demande.cree_par)
    page = texte(client.get(url_etape(demande, "depot")))
    assert "Le dossier est complet." in page
    assert "Montants demandés par financeur" in page and "8\u00a0000,00\u00a0€" in page
    assert "contrat d'engagement républicain" in page
    assert "Déposer la demande" in page


def test_gestionnaire_cannot_submit_and_sees_who_can(client, demande):
    gestionnaire = membre_de(demande.porteur, RoleMembre.GESTIONNAIRE)
    client.force_login(gestionnaire.user)
    page = texte(client.get(url_etape(demande, "depot")))
    assert "Déposer la demande" not in page
    assert "Seul un représentant légal de la structure peut signer" in page
    assert demande.cree_par.email in page  # the représentant légal to ask
    assert _deposer(client, demande).status_code == 403
    assert Demande.objects.get(pk=demande.pk).statut == "brouillon"
    assert not Document.objects.exists()


def test_representant_legal_deposits_and_downloads_the_recepisse(client, demande, django_capture_on_commit_callbacks):
    client.force_login(demande.cree_par)
    with django_capture_on_commit_callbacks(execute=True):
        response = _deposer(client, demande)
    assert response.status_code == 302 and response.url == f"/demandes/{demande.pk}/"
    demande = Demande.objects.get(pk=demande.pk)
    assert demande.statut == "deposee" and demande.numero == f"{demande.campagne.exercice}-000001"
    assert demande.declaration_nom == "Aïcha Durand" and demande.declaration_par == demande.cree_par
    page = texte(client.get(response.url))
    assert f"Votre demande est déposée sous le numéro {demande.numero}." in page
    assert "Déposée" in page and "Dossier reçu : il sera vérifié par le service instructeur." in page
    assert "Télécharger le récépissé de dépôt" in page
    assert TransitionLog.objects.filter(object_id=demande.pk, cible="deposee", acteur=demande.cree_par).exists()

    recepisse = client.get(f"/demandes/{demande.pk}/recepisse/")
    assert recepisse.status_code == 200
    assert recepisse["Content-Type"] == "application/pdf"
    assert recepisse["Content-Disposition"] == f'attachment; filename="recepisse-{demande.numero}.pdf"'
    assert recepisse["X-Content-Type-Options"] == "nosniff"
    contenu = b"".join(recepisse.streaming_content)
    assert contenu.startswith(b"%PDF") and contenu == Document.objects.get().fichier.open("rb").read()
    # The porteur's members are told by email, after commit (a row of the outbox, written by the task).
    assert Courriel.objects.filter(modele=f"depot:{demande.pk}").count() == 1


def test_unbalanced_budget_blocks_the_deposit_and_shows_the_difference(client, demande):
    LigneBudget.objects.filter(demande=demande, compte="64").update(montant=Decimal("10500.00"))
    client.force_login(demande.cree_par)
    page = texte(client.get(url_etape(demande, "depot")))
    assert "Le budget n'est pas équilibré" in page
    assert f'href="{url_etape(demande, "budget")}"' in page  # a link to the step that fixes it
    assert 'text-danger">500,00\u00a0€' in page  # the difference in the recap
    response = _deposer(client, demande)
    assert response.status_code == 200
    page = texte(response)
    assert "Le dépôt n'a pas été fait. Le dossier est incomplet." in page
    assert "(écart 500,00\u00a0€)" in page
    assert Demande.objects.get(pk=demande.pk).statut == "brouillon"
    assert not Document.objects.exists()


def test_completeness_lists_every_missing_item_with_its_step(client, demande):
    demande.indicateurs.all().delete()
    demande.pieces.all().delete()
    client.force_login(demande.cree_par)
    page = texte(client.get(url_etape(demande, "depot")))
    assert "Il reste 2 points à compléter avant le dépôt" in page
    assert "Indiquez au moins un indicateur d'évaluation avec sa cible." in page
    assert f'<a href="{url_etape(demande, "objectifs")}">compléter « Contrat de ville et indicateurs »</a>' in page
    statuts = demande.campagne.pieces_requises.get()
    assert f"Pièce manquante ou expirée : {statuts.libelle}." in page
    assert f'<a href="{url_etape(demande, "pieces")}">compléter « Pièces justificatives »</a>' in page


def test_declaration_must_be_ticked(client, demande):
    client.force_login(demande.cree_par)
    response = client.post(url_etape(demande, "depot"), {"nom": "", "qualite": "Présidente"})
    page = texte(response)
    assert "Cochez l'engagement au contrat d'engagement républicain pour déposer." in page
    assert "Cochez la certification d'exactitude des informations pour déposer." in page
    assert 'id="resume-erreurs"' in page
    assert Demande.objects.get(pk=demande.pk).statut == "brouillon"


def test_closed_campagne_refuses_the_deposit_with_its_date(client):
    demande = demande_complete()
    Campagne.objects.filter(pk=demande.campagne.pk).update(
        ouverture=datetime(2014, 10, 1, 9, tzinfo=PARIS), cloture=datetime(2014, 12, 1, 12, tzinfo=PARIS)
    )
    client.force_login(demande.cree_par)
    page = texte(_deposer(client, demande))
    assert "La campagne est close depuis le 01/12/2014 12:00 (heure de Paris)" in page
    assert Demande.objects.get(pk=demande.pk).statut == "brouillon"


def test_double_click_gives_one_deposit_and_shows_the_deposited_page(
    client, demande, django_capture_on_commit_callbacks
):
    client.force_login(demande.cree_par)
    with django_capture_on_commit_callbacks(execute=True):  # the récépissé task, queued at commit, runs (eager)
        premiere = _deposer(client, demande)
        seconde = _deposer(client, demande)  # the replay
    assert premiere.status_code == seconde.status_code == 302
    assert seconde.url == f"/demandes/{demande.pk}/"
    page = texte(client.get(seconde.url))
    assert "Cette demande a déjà été déposée (dossier n° " in page
    assert Demande.objects.get(pk=demande.pk).numero.endswith("-000001")
    assert Document.objects.filter(nature="recepisse").count() == 1
    assert TransitionLog.objects.filter(object_id=demande.pk).count() == 1


def test_stale_tab_deposit_after_another_tab_deposited(
    client, demande, monkeypatch, django_capture_on_commit_callbacks
):
    """The second tab loaded the brouillon before the first deposited: the service refuses, the page shows the
    deposited file instead of an error."""
    from subventions.demandes import views

    client.force_login(demande.cree_par)
    reel = views.demande_pour_membre
    perime = reel(demande.cree_par, demande.pk)  # loaded as brouillon
    with django_capture_on_commit_callbacks(execute=True):
        assert _deposer(client, demande).status_code == 302
    appels = iter([perime])
    monkeypatch.setattr(views, "demande_pour_membre", lambda user, pk: next(appels, None) or reel(user, pk))
    with django_capture_on_commit_callbacks(execute=True):
        response = _deposer(client, demande)
    assert response.status_code == 302 and response.url == f"/demandes/{demande.pk}/"
    assert "Cette demande a déjà été déposée" in texte(client.get(response.url))
    assert Document.objects.count() == 1


def test_no_recepisse_before_deposit(client, demande):
    client.force_login(demande.cree_par)
    assert client.get(f"/demandes/{demande.pk}/recepisse/").status_code == 404
    assert "le récépissé est produit au dépôt" in texte(client.get(f"/demandes/{demande.pk}/"))


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deposits_give_one_deposit_and_two_pages_without_error(postgres_only):
    demande = demande_complete()
    clients = [Client(), Client()]
    for c in clients:
        c.force_login(demande.cree_par)
    depart = threading.Barrier(len(clients))
    reponses = []

    def deposer_en_meme_temps(c):
        try:
            depart.wait()
            reponses.append(_deposer(c, demande))
        finally:
            connection.close()

    fils = [threading.Thread(target=deposer_en_meme_temps, args=(c,)) for c in clients]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    assert sorted(r.status_code for r in reponses) == [302, 302]
    assert {r.url for r in reponses} == {f"/demandes/{demande.pk}/"}
    assert Demande.objects.get(pk=demande.pk).numero.endswith("-000001")
    assert Document.objects.filter(nature="recepisse").count() == 1
    assert TransitionLog.objects.filter(object_id=demande.pk).count() == 1
