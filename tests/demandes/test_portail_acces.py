"""Every URL of the `demandes` namespace, walked as a member of another association (403/404, nothing leaks, nothing
changes), as a lecteur of the association (writes refused) and anonymously (login). The routes come from the URL
resolver: a new route without a case here makes the test fail."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import URLResolver, get_resolver, reverse

from associations.enums import RoleMembre
from subventions.demandes.etapes import NOMS_ETAPES
from subventions.demandes.models import Demande, LigneBudget, Message
from subventions.demandes.services import demande_deposer
from tests.demandes.aides_vues import brancher_recepisse, donnees_budget, membre_de, texte
from tests.factories import CampagneFactory, MembreFactory, demande_complete
from workflows.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _recepisse(monkeypatch):
    brancher_recepisse(monkeypatch)


def _routes_du_namespace(namespace: str) -> set[str]:
    for motif in get_resolver().url_patterns:
        if isinstance(motif, URLResolver) and motif.namespace == namespace:
            return {route.name for route in motif.url_patterns}
    raise AssertionError(f"namespace {namespace} introuvable")


@pytest.fixture
def monde(django_capture_on_commit_callbacks):
    """Association A: a deposited demande (with its récépissé, rendered by the task queued at commit) and a
    brouillon. Association B: a représentant légal, with a demande of their own. A campagne open for the renewal."""
    a = MembreFactory()
    deposee = demande_complete(membre=a, intitule="Secret de A, déposé")
    with django_capture_on_commit_callbacks(execute=True):
        demande_deposer(
            demande=deposee, user=a.user, nom="A", qualite="Présidente", engagement_republicain=True, exactitude=True
        )
    brouillon = demande_complete(membre=a, campagne=deposee.campagne, intitule="Secret de A, brouillon")
    b = MembreFactory()
    demande_complete(membre=b, campagne=deposee.campagne, intitule="Action de B")
    suivante = CampagneFactory(
        exercice=deposee.campagne.exercice + 1, financeurs=list(deposee.campagne.financeurs.all())
    )
    return {
        "a": a,
        "b": b,
        "deposee": Demande.objects.get(pk=deposee.pk),
        "brouillon": brouillon,
        "suivante": suivante,
    }


def _appels(nom: str, monde: dict) -> list[tuple[str, str, dict]]:
    """(method, url, data) for every way of calling the route `nom` on association A's objects."""
    deposee, brouillon, campagne = monde["deposee"], monde["brouillon"], monde["deposee"].campagne
    objets = (deposee, brouillon)
    cas = {
        "liste": [("get", reverse("demandes:liste"), {})],
        "nouvelle": [
            ("get", reverse("demandes:nouvelle", args=[campagne.pk]) + f"?porteur={monde['a'].porteur.pk}", {}),
            (
                "post",
                reverse("demandes:nouvelle", args=[campagne.pk]),
                {"porteur": monde["a"].porteur.pk, "intitule": "Intrus"},
            ),
        ],  # fmt: skip
        "detail": [(m, reverse("demandes:detail", args=[d.pk]), {}) for d in objets for m in ("get", "post")],
        "etape": [
            (m, reverse("demandes:etape", args=[d.pk, etape]), {"intitule": "Intrus", "nom": "Intrus"})
            for d in objets
            for etape in NOMS_ETAPES
            for m in ("get", "post")
        ],
        "budget_totaux": [
            ("post", reverse("demandes:budget_totaux", args=[d.pk]), donnees_budget(d, comptes={"60": "1"}))
            for d in objets
        ],
        "recepisse": [("get", reverse("demandes:recepisse", args=[d.pk]), {}) for d in objets],
        "renouveler": [
            ("post", reverse("demandes:renouveler", args=[d.pk]), {"campagne": monde["suivante"].pk}) for d in objets
        ],
        "message": [("post", reverse("demandes:message", args=[d.pk]), {"message-texte": "Intrus"}) for d in objets],
    }
    return cas[nom]


def _etat_de_a(monde) -> tuple:
    a = monde["a"].porteur
    return (
        sorted(Demande.objects.filter(porteur=a).values_list("pk", "intitule", "statut", "numero")),
        sorted(LigneBudget.objects.filter(demande__porteur=a).values_list("pk", "compte", "montant")),
        Document.objects.count(),
        sorted(Message.objects.filter(demande__porteur=a).values_list("pk", "texte")),
    )


def test_every_url_of_the_demandes_namespace_refuses_a_foreign_member(client, monde):
    routes = _routes_du_namespace("demandes")
    avant = _etat_de_a(monde)
    client.force_login(monde["b"].user)
    vues = 0
    for nom in sorted(routes):
        for methode, url, data in _appels(nom, monde):  # KeyError: a new route needs its case above
            response = getattr(client, methode)(url, data)
            vues += 1
            page = texte(response) if not getattr(response, "streaming", False) else ""
            assert "Secret de A" not in page, (methode, url)
            if nom == "liste":
                assert response.status_code == 200 and "Action de B" in page
            elif nom == "nouvelle" and methode == "get":
                assert response.status_code == 200 and monde["a"].porteur.nom not in page
            elif nom == "nouvelle":
                assert "Choisissez une de vos structures." in page, url
            else:
                assert response.status_code in (403, 404), (methode, url, response.status_code)
    assert vues >= len(routes)
    assert _etat_de_a(monde) == avant
    assert not Demande.objects.filter(intitule="Intrus").exists()
    assert Demande.objects.filter(porteur=monde["b"].porteur).count() == 1

    # Anonymous: every route sends to the login page, for every method.
    client.logout()
    login = resolve_url(settings.LOGIN_URL)
    for nom in sorted(routes):
        for methode, url, data in _appels(nom, monde):
            response = getattr(client, methode)(url, data)
            assert response.status_code == 302 and response.url.startswith(login), (methode, url)
    assert _etat_de_a(monde) == avant


def test_a_lecteur_of_the_association_reads_but_every_write_is_403(client, monde):
    lecteur = membre_de(monde["a"].porteur, RoleMembre.LECTEUR)
    client.force_login(lecteur.user)
    avant = _etat_de_a(monde)
    brouillon = monde["brouillon"]
    for etape in NOMS_ETAPES:
        assert client.get(reverse("demandes:etape", args=[brouillon.pk, etape])).status_code == 200
        response = client.post(reverse("demandes:etape", args=[brouillon.pk, etape]), {"intitule": "Intrus"})
        assert response.status_code == 403, etape
    renouveler = reverse("demandes:renouveler", args=[monde["deposee"].pk])
    assert client.post(renouveler, {"campagne": monde["suivante"].pk}).status_code == 403
    assert client.post(reverse("demandes:nouvelle", args=[brouillon.campagne.pk]), {}).status_code == 403
    assert client.get(reverse("demandes:recepisse", args=[monde["deposee"].pk])).status_code == 200
    message = reverse("demandes:message", args=[monde["deposee"].pk])
    assert client.post(message, {"message-texte": "Intrus"}).status_code == 403
    assert _etat_de_a(monde) == avant


def test_an_id_that_does_not_exist_is_404_like_a_foreign_one(client, monde):
    client.force_login(monde["b"].user)
    absent = Demande.objects.order_by("-pk").first().pk + 100
    for url in (reverse("demandes:detail", args=[absent]), reverse("demandes:recepisse", args=[absent])):
        assert client.get(url).status_code == 404
