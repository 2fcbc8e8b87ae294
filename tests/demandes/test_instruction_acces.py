"""Every URL of the `instruction` namespace, walked as an instructeur of another financeur, of another territoire, as a
member of the porteur and anonymously (403/404 or login, nothing leaks, nothing changes), then as the allowed
instructeur (200). The routes come from the URL resolver: a new route without a case here makes the test fail."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.conf import settings
from django.shortcuts import resolve_url
from django.urls import URLResolver, get_resolver, reverse
from django.utils import timezone

from subventions.comptes.enums import Role
from subventions.demandes.models import Demande, LigneFinancement, Message, NoteInterne
from tests.demandes.aides_vues import texte
from tests.demandes.test_instruction_vues import construire_monde, forcer
from tests.factories import agent

pytestmark = pytest.mark.django_db


def _routes_du_namespace(namespace: str) -> set[str]:
    for motif in get_resolver().url_patterns:
        if isinstance(motif, URLResolver) and motif.namespace == namespace:
            return {route.name for route in motif.url_patterns}
    raise AssertionError(f"namespace {namespace} introuvable")


@pytest.fixture
def monde():
    m = construire_monde()
    m["demande"] = forcer(m["demande"], "deposee")
    return m


def _appels(nom: str, monde: dict) -> list[tuple[str, str, dict]]:
    """(method, url, data) for every way of calling the route `nom` on the demande."""
    d = monde["demande"]
    ligne = d.lignes_financement.get(financeur=monde["etat"])
    piece = d.pieces.get()
    echeance = (timezone.localdate() + timedelta(days=10)).isoformat()
    prefixe = f"ligne-{ligne.pk}-"
    cas = {
        "file": [("get", reverse("instruction:file"), {})],
        "demande": [("get", reverse("instruction:demande", args=[d.pk]), {})],
        "assigner": [("post", reverse("instruction:assigner", args=[d.pk]), {"instructeur": "moi"})],
        "piece": [("get", reverse("instruction:piece", args=[d.pk, piece.pk]), {})],
        "complements": [
            ("post", reverse("instruction:complements", args=[d.pk]), {"message": "Intrus", "echeance": echeance})
        ],
        "irrecevable": [("post", reverse("instruction:irrecevable", args=[d.pk]), {"motif": "Intrus"})],
        "recevable": [("post", reverse("instruction:recevable", args=[d.pk]), {})],
        "avis": [
            (
                "post",
                reverse("instruction:avis", args=[d.pk, ligne.pk]),
                {prefixe + "avis": "favorable", prefixe + "montant_propose": "10", prefixe + "version": "0"},
            )
        ],
        "note": [("post", reverse("instruction:note", args=[d.pk]), {"note-texte": "Intrus"})],
        "message": [("post", reverse("instruction:message", args=[d.pk]), {"message-texte": "Intrus"})],
    }
    return cas[nom]


def _etat(monde) -> tuple:
    d = monde["demande"]
    return (
        Demande.objects.filter(pk=d.pk).values_list("statut", "instructeur_id", "echeance_complements").get(),
        sorted(LigneFinancement.objects.filter(demande=d).values_list("pk", "statut", "avis", "version")),
        NoteInterne.objects.count(),
        Message.objects.count(),
    )


@pytest.mark.parametrize("intrus", ["instr_autre_financeur", "instr_autre_territoire", "rl", "anonyme"])
def test_every_route_of_the_instruction_namespace_refuses_outsiders(client, monde, intrus):
    routes = _routes_du_namespace("instruction")
    avant = _etat(monde)
    if intrus != "anonyme":
        client.force_login(monde[intrus])
    login = resolve_url(settings.LOGIN_URL)
    vues = 0
    for nom in sorted(routes):
        for methode, url, data in _appels(nom, monde):  # KeyError: a new route needs its case above
            response = getattr(client, methode)(url, data)
            vues += 1
            page = texte(response) if not getattr(response, "streaming", False) else ""
            assert monde["demande"].intitule not in page, (intrus, methode, url)
            if intrus == "anonyme":
                assert response.status_code == 302 and response.url.startswith(login), (methode, url)
            elif nom == "file" and intrus != "rl":
                assert response.status_code == 200  # their own (empty) queue
                assert response.context["page"].paginator.count == 0
            else:
                assert response.status_code in (403, 404), (intrus, methode, url, response.status_code)
    assert vues >= len(routes)
    assert _etat(monde) == avant


def test_the_allowed_instructeur_gets_200_on_every_route(client, monde):
    routes = _routes_du_namespace("instruction")
    client.force_login(monde["instr_etat"])
    for nom in sorted(routes):
        for methode, url, data in _appels(nom, monde):
            response = getattr(client, methode)(url, data, follow=methode == "post")
            assert response.status_code == 200, (nom, response.status_code)
    # The POSTs did act, in route order: assigned, complements asked, then declared irrecevable from a_completer.
    apres = Demande.objects.get(pk=monde["demande"].pk)
    assert (apres.instructeur, apres.statut) == (monde["instr_etat"], "irrecevable")
    assert NoteInterne.objects.filter(texte="Intrus").exists() and Message.objects.filter(texte="Intrus").exists()


def test_an_instructeur_without_mfa_is_sent_to_activate_it(client, monde):
    sans_mfa = agent(Role.INSTRUCTEUR, financeurs=[monde["etat"]], mfa=False)
    client.force_login(sans_mfa)
    for url in (reverse("instruction:file"), reverse("instruction:demande", args=[monde["demande"].pk])):
        response = client.get(url)
        assert response.status_code == 302 and response.url == reverse("mfa_activate_totp")


def test_an_unknown_id_is_404_like_a_foreign_one(client, monde):
    client.force_login(monde["instr_etat"])
    absent = Demande.objects.order_by("-pk").first().pk + 100
    assert client.get(reverse("instruction:demande", args=[absent])).status_code == 404
    piece_absente = reverse("instruction:piece", args=[monde["demande"].pk, 999999])
    assert client.get(piece_absente).status_code == 404
