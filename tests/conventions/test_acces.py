"""Every route of the "conventions" namespace, taken from the URL resolver: who gets 200, and who is refused how."""

from __future__ import annotations

import pytest
from django.urls import get_resolver, reverse

from subventions.comptes.enums import Role
from subventions.conventions import services
from subventions.conventions.models import ActeAttribution, StatutActe
from subventions.conventions.services import conventions_batir
from tests.conventions.aides import accordee, monde_de_test
from tests.factories import DEFAULT_PASSWORD, FinanceurFactory, MembreFactory, PorteurFactory, agent
from workflows.documents import document_courant

pytestmark = pytest.mark.django_db


def _routes() -> list[str]:
    """Names of every route of the namespace, from the resolver itself: a new route without a case fails below."""
    _prefixe, resolver = get_resolver().namespace_dict["conventions"]
    return sorted(p.name for p in resolver.url_patterns)


LECTURES = {"liste", "acte", "acte_telecharger"}
ECRITURES = {"envoyer_en_bloc", "acte_action", "acte_contresigner"}
PORTEUR_LECTURES = {"porteur_actes", "porteur_acte", "porteur_telecharger"}
PORTEUR_ECRITURES = {"porteur_signer"}
PORTEUR = PORTEUR_LECTURES | PORTEUR_ECRITURES


def test_every_route_of_the_namespace_has_an_access_case():
    assert set(_routes()) == LECTURES | ECRITURES | PORTEUR


@pytest.fixture
def monde():
    campagne, etat, _ville = monde_de_test()
    etat.toujours_convention = True
    etat.save()
    porteur = PorteurFactory()
    representant = MembreFactory(porteur=porteur).user
    accordee(campagne, etat, "12000.00", porteur=porteur)
    conventions_batir(campagne=campagne)
    acte = ActeAttribution.objects.get()
    instructeur = agent(Role.INSTRUCTEUR, financeurs=[etat])
    acte = services.acte_envoyer(acte, acteur=instructeur)
    document = document_courant(acte, services.NATURE_DOCUMENT)
    pa = {"porteur_pk": porteur.pk, "pk": acte.pk}
    kwargs = {
        "liste": {},
        "envoyer_en_bloc": {},
        "acte": {"pk": acte.pk},
        "acte_action": {"pk": acte.pk, "action": "generer"},
        "acte_contresigner": {"pk": acte.pk},
        "acte_telecharger": {"pk": acte.pk, "document_pk": document.pk},
        "porteur_actes": {"porteur_pk": porteur.pk},
        "porteur_acte": pa,
        "porteur_signer": pa,
        "porteur_telecharger": {**pa, "document_pk": document.pk},
    }
    donnees = {
        "envoyer_en_bloc": {"actes": [acte.pk]},
        "acte_contresigner": {"version": 1, "nom": "Jean Préfet", "qualite": "Préfet", "accepte": "1"},
        "porteur_signer": {"version": 1, "nom": "Aïcha Durand", "qualite": "Présidente", "accepte": "1"},
    }
    return {
        "etat": etat,
        "acte": acte,
        "porteur": porteur,
        "representant": representant,
        "instructeur": instructeur,
        "signataire": agent(Role.SIGNATAIRE, financeurs=[etat]),
        "kwargs": kwargs,
        "donnees": donnees,
    }


def _appeler(client, user, nom, monde, *, suivre=False):
    if user is not None:
        client.force_login(user)
    url = reverse(f"conventions:{nom}", kwargs=monde["kwargs"][nom])
    if nom in ECRITURES | PORTEUR_ECRITURES:
        return client.post(url, monde["donnees"].get(nom, {}), follow=suivre)
    return client.get(url, follow=suivre)


def _autorise(nom, monde):
    if nom in PORTEUR:
        return monde["representant"]
    if nom == "acte_contresigner":
        return monde["signataire"]
    return monde["instructeur"]


def _refuses(nom, monde):
    """(label, user builder, expected status); None as user is anonymous (redirected to the login page)."""
    autre_financeur = (
        "agent d'un autre financeur",
        lambda: agent(Role.INSTRUCTEUR, financeurs=[FinanceurFactory()]),
        404,
    )
    autre_signataire = (
        "signataire d'un autre financeur",
        lambda: agent(Role.SIGNATAIRE, financeurs=[FinanceurFactory()]),
        404,
    )
    porteur = ("membre d'association", lambda: MembreFactory().user, 403)
    propre_porteur = ("membre du porteur lui-même", lambda: monde["representant"], 403)
    anonyme = ("anonyme", lambda: None, 302)
    if nom in PORTEUR:
        return [
            ("membre d'une autre association", lambda: MembreFactory().user, 404),
            ("instructeur du financeur", lambda: monde["instructeur"], 404),
            anonyme,
        ]
    if nom == "acte_contresigner":
        return [autre_signataire, ("instructeur", lambda: monde["instructeur"], 403), porteur, propre_porteur, anonyme]
    if nom == "liste":
        # A list, not an id: the foreign agent gets the page, without the document (checked below).
        autre_financeur = (autre_financeur[0], autre_financeur[1], 200)
        autre_signataire = (autre_signataire[0], autre_signataire[1], 200)
    if nom == "envoyer_en_bloc":
        autre_signataire = (autre_signataire[0], autre_signataire[1], 403)  # signataires do not send
    return [autre_financeur, autre_signataire, porteur, propre_porteur, anonyme]


def _reauthentifier(client, user):
    client.force_login(user)
    reponse = client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    assert reponse.status_code == 302, reponse.content[:500]


@pytest.mark.parametrize("nom", _routes())
def test_the_allowed_user_gets_200(client, monde, nom):
    user = _autorise(nom, monde)
    if nom == "acte_contresigner":
        services.acte_signer(
            monde["acte"], user=monde["representant"], partie="porteur", nom="A D", qualite="Présidente", version=1
        )
    if nom in ("acte_contresigner", "porteur_signer"):
        _reauthentifier(client, user)
    reponse = _appeler(client, user, nom, monde, suivre=True)
    assert reponse.status_code == 200
    if nom.endswith("telecharger"):
        assert reponse["Content-Disposition"].startswith("attachment")
        assert reponse["X-Content-Type-Options"] == "nosniff"
        assert b"".join(reponse.streaming_content).startswith(b"%PDF")
    if nom == "porteur_signer":
        assert ActeAttribution.objects.get(pk=monde["acte"].pk).statut == StatutActe.SIGNEE_PORTEUR
    if nom == "acte_contresigner":
        assert ActeAttribution.objects.get(pk=monde["acte"].pk).statut == StatutActe.SIGNEE


@pytest.mark.parametrize("nom", _routes())
def test_everyone_else_is_refused(client, monde, nom):
    for libelle, fabrique, attendu in _refuses(nom, monde):
        client.logout()
        user = fabrique()
        if user is not None and nom in ("acte_contresigner", "porteur_signer"):
            _reauthentifier(client, user)  # even freshly reauthenticated, the wrong user is refused
        reponse = _appeler(client, user, nom, monde)
        assert reponse.status_code == attendu, (libelle, reponse.status_code)
        if attendu == 302:
            assert reponse["Location"].startswith(reverse("account_login")), libelle
        if attendu == 200:
            assert monde["acte"].numero not in reponse.content.decode(), libelle
    assert ActeAttribution.objects.get(pk=monde["acte"].pk).statut == StatutActe.ENVOYEE


def test_signing_without_a_recent_password_asks_for_it_first(client, monde):
    client.force_login(monde["representant"])
    url = reverse("conventions:porteur_signer", kwargs=monde["kwargs"]["porteur_signer"])
    reponse = client.post(url, monde["donnees"]["porteur_signer"])
    assert reponse.status_code == 302 and reponse["Location"].startswith(reverse("account_reauthenticate"))
    assert ActeAttribution.objects.get(pk=monde["acte"].pk).statut == StatutActe.ENVOYEE
    # After the password, the suspended signature goes through.
    reponse = client.post(
        reverse("account_reauthenticate") + f"?next={url}", {"password": DEFAULT_PASSWORD}, follow=True
    )
    assert ActeAttribution.objects.get(pk=monde["acte"].pk).statut == StatutActe.SIGNEE_PORTEUR


def test_a_gestionnaire_sees_but_cannot_sign(client, monde):
    gestionnaire = MembreFactory(porteur=monde["porteur"], role="gestionnaire").user
    client.force_login(gestionnaire)
    page = client.get(reverse("conventions:porteur_acte", kwargs=monde["kwargs"]["porteur_acte"]))
    assert page.status_code == 200 and "Signer pour la structure" not in page.content.decode()
    _reauthentifier(client, gestionnaire)
    _appeler(client, gestionnaire, "porteur_signer", monde)
    assert ActeAttribution.objects.get(pk=monde["acte"].pk).statut == StatutActe.ENVOYEE
