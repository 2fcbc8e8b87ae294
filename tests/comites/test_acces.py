"""Every route of the "comites" namespace, taken from the URL resolver: who gets 200, and who is refused how."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import get_resolver, reverse

from subventions.comites import services
from subventions.comites.models import LettreDecision
from subventions.comptes.enums import Role
from subventions.demandes.models import Demande
from tests.comites.aides import campagne_de_test, instruite, ligne, seance_de_test, secretaire
from tests.factories import FinanceurFactory, MembreFactory, agent

pytestmark = pytest.mark.django_db


def _routes() -> list[str]:
    """Names of every route of the namespace, from the resolver itself: a new route without a case fails below."""
    _prefixe, resolver = get_resolver().namespace_dict["comites"]
    return sorted(p.name for p in resolver.url_patterns)


LECTURES = {"seances", "seance", "pv_telecharger"}
ECRITURES = {"seance_creer", "presents", "odj_ajouter", "odj_retirer", "decider", "decider_en_bloc", "cloturer"}
PORTEUR = {"lettre_telecharger"}


def test_every_route_of_the_namespace_has_an_access_case():
    assert set(_routes()) == LECTURES | ECRITURES | PORTEUR


@pytest.fixture
def monde():
    campagne, etat, _ville, _pilier = campagne_de_test()
    comite = secretaire(etat)
    ouverte = seance_de_test(campagne, comite, financeurs=[etat])
    inscrite, candidate = instruite(campagne), instruite(campagne)
    (point,) = services.odj_ajouter(seance=ouverte, user=comite, demandes=[inscrite])
    close = seance_de_test(campagne, comite, financeurs=[etat])
    decidee = instruite(campagne)
    services.odj_ajouter(seance=close, user=comite, demandes=[decidee])
    services.decider_en_bloc(seance=close, user=comite)
    services.seance_cloturer(seance=close, user=comite)
    lettre = LettreDecision.objects.get(seance=close)
    kwargs = {
        "seances": {"campagne_pk": campagne.pk},
        "seance_creer": {"campagne_pk": campagne.pk},
        "seance": {"pk": ouverte.pk},
        "presents": {"pk": ouverte.pk},
        "odj_ajouter": {"pk": ouverte.pk},
        "odj_retirer": {"pk": ouverte.pk, "point_pk": point.pk},
        "decider": {"pk": ouverte.pk, "ligne_pk": ligne(inscrite).pk},
        "decider_en_bloc": {"pk": ouverte.pk},
        "cloturer": {"pk": ouverte.pk},
        "pv_telecharger": {"pk": close.pk},
        "lettre_telecharger": {"pk": lettre.pk},
    }
    donnees = {
        "seance_creer": {"date": "2015-04-29", "kind": "programmation", "financeurs": [etat.pk]},
        "presents": {"membres_presents": "Mme Martin"},
        "odj_ajouter": {"demandes": [candidate.pk]},
        "decider": {"decision": "accordee", "montant": "5000"},
    }
    return {
        "etat": etat,
        "comite": comite,
        "inscrite": inscrite,
        "kwargs": kwargs,
        "donnees": donnees,
        "membre_lettre": lettre.porteur.membres.first().user,
    }


def _appeler(client, user, nom, monde, *, suivre=False):
    if user is not None:
        client.force_login(user)
    url = reverse(f"comites:{nom}", kwargs=monde["kwargs"][nom])
    if nom in ECRITURES:
        return client.post(url, monde["donnees"].get(nom, {}), follow=suivre)
    return client.get(url, follow=suivre)


def _autorise(nom, monde):
    return monde["membre_lettre"] if nom in PORTEUR else monde["comite"]


def _refuses(nom, monde):
    """(label, user builder, expected status); None as user is anonymous (redirected to the login page)."""
    autre_comite = ("comité d'un autre financeur", lambda: secretaire(FinanceurFactory(code="region")), 404)
    instructeur = ("instructeur", lambda: agent(Role.INSTRUCTEUR, financeurs=[monde["etat"]]), 403)
    porteur = ("membre d'association", lambda: MembreFactory().user, 403)
    anonyme = ("anonyme", lambda: None, 302)
    if nom in PORTEUR:
        return [
            ("membre d'une autre association", lambda: MembreFactory().user, 404),
            ("comité du financeur", lambda: monde["comite"], 404),
            ("instructeur", instructeur[1], 404),
            anonyme,
        ]
    return [autre_comite, instructeur, porteur, anonyme]


@pytest.mark.parametrize("nom", _routes())
def test_the_allowed_user_gets_200(client, monde, nom):
    reponse = _appeler(client, _autorise(nom, monde), nom, monde, suivre=True)
    assert reponse.status_code == 200
    if nom.endswith("telecharger"):
        assert reponse["Content-Disposition"].startswith("attachment")
        assert reponse["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("nom", _routes())
def test_everyone_else_is_refused(client, monde, nom):
    for libelle, fabrique, attendu in _refuses(nom, monde):
        client.logout()
        user = fabrique()
        reponse = _appeler(client, user, nom, monde)
        assert reponse.status_code == attendu, (libelle, reponse.status_code)
        if attendu == 302:
            assert reponse["Location"].startswith(reverse("account_login")), libelle
    assert Demande.objects.get(pk=monde["inscrite"].pk).statut == "inscrite"


@pytest.mark.parametrize("nom", sorted(LECTURES | ECRITURES))
def test_conseil_citoyen_reads_but_never_writes(client, monde, nom):
    conseil = agent(Role.CONSEIL_CITOYEN, financeurs=[monde["etat"]])
    reponse = _appeler(client, conseil, nom, monde)
    assert reponse.status_code == (200 if nom in LECTURES else 403)
    assert Demande.objects.get(pk=monde["inscrite"].pk).statut == "inscrite"
    assert ligne(monde["inscrite"]).montant_accorde is None


def test_montant_is_a_decimal_never_a_float(client, monde):
    client.force_login(monde["comite"])
    url = reverse("comites:decider", kwargs=monde["kwargs"]["decider"])
    client.post(url, {"decision": "accordee", "montant": "4 999,99"})
    assert ligne(monde["inscrite"]).montant_accorde == Decimal("4999.99")
