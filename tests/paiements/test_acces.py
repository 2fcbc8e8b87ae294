"""Every route of the "paiements" namespace, taken from the URL resolver: the allowed user gets 200; another
financeur's finance staff gets 404 on the État's objects (and sees none of them on its own pages); other roles get
403, anonymous users the login page; a porteur's payments open to its members only."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import get_resolver, reverse
from django.utils import timezone

from subventions.comptes.enums import Role
from subventions.paiements.models import AcomptePrevu, ListePaiements, Paiement
from subventions.paiements.services import Criteres, liste_creer, paiement_rejeter
from tests.factories import MembreFactory, agent
from tests.paiements.aides import acte, avance, etat, finance, ville

pytestmark = pytest.mark.django_db


def _routes() -> list[str]:
    """Names of every route of the namespace, from the resolver itself: a new route without a case fails below."""
    _prefixe, resolver = get_resolver().namespace_dict["paiements"]
    return sorted(p.name for p in resolver.url_patterns)


# Pages without an id in the URL: they only ever show the user's own perimeter.
PERIMETRE = {"tableau_de_bord", "listes", "liste_creer", "retour_importer"}
LECTURES = {"liste", "liste_telecharger", "echeancier"}
ECRITURES = {"liste_annuler", "paiement_payer", "paiement_rejeter", "paiement_reprendre", "paiement_rendre_exigible"}
PORTEUR = {"porteur"}


def test_every_route_of_the_namespace_has_an_access_case():
    assert set(_routes()) == PERIMETRE | LECTURES | ECRITURES | PORTEUR


@pytest.fixture
def monde():
    financeur = etat()
    AcomptePrevu.objects.create(financeur=financeur, rang=1, taux=Decimal("20"), delai_mois=6)
    user = finance(financeur)
    actes = [acte(financeur, "1000.00"), acte(financeur, "2000.00"), acte(financeur, "3000.00")]
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    rejete = paiement_rejeter(paiement=avance(actes[2]), acteur=user, motif="Compte clos")
    acompte = Paiement.objects.get(echeancier__acte=actes[0], nature="acompte")
    membre = MembreFactory(porteur=actes[0].porteur)
    kwargs = {
        "liste": {"pk": liste.pk},
        "liste_telecharger": {"pk": liste.pk, "format": "sepa"},
        "liste_annuler": {"pk": liste.pk},
        "echeancier": {"acte_pk": actes[0].pk},
        "paiement_payer": {"pk": avance(actes[0]).pk},
        "paiement_rejeter": {"pk": avance(actes[1]).pk},
        "paiement_reprendre": {"pk": rejete.pk},
        "paiement_rendre_exigible": {"pk": acompte.pk},
        "porteur": {"porteur_pk": actes[0].porteur_id},
    }
    donnees = {
        "liste_annuler": {"motif": "Erreur"},
        "paiement_payer": {"reference": "VIR-1", "date": timezone.localdate().isoformat()},
        "paiement_rejeter": {"motif": "IBAN inconnu"},
    }
    return {
        "etat": financeur,
        "user": user,
        "liste": liste,
        "membre": membre.user,
        "kwargs": kwargs,
        "donnees": donnees,
        "secrets": [liste.numero, avance(actes[0]).reference, actes[0].numero],
    }


def _etat_des_paiements() -> list[tuple[int, str]]:
    return list(Paiement.objects.order_by("pk").values_list("pk", "statut"))


def _appeler(client, user, nom, monde, *, suivre=False):
    client.logout()
    if user is not None:
        client.force_login(user)
    url = reverse(f"paiements:{nom}", kwargs=monde["kwargs"].get(nom, {}))
    if nom in ECRITURES:
        return client.post(url, monde["donnees"].get(nom, {}), follow=suivre)
    return client.get(url, follow=suivre)


@pytest.mark.parametrize("nom", _routes())
def test_the_allowed_user_gets_200(client, monde, nom):
    user = monde["membre"] if nom in PORTEUR else monde["user"]
    reponse = _appeler(client, user, nom, monde, suivre=True)
    assert reponse.status_code == 200
    if nom == "liste_telecharger":
        assert reponse["Content-Disposition"].startswith("attachment")
        assert reponse["X-Content-Type-Options"] == "nosniff"
    if nom in ECRITURES:
        assert not [m for m in reponse.context["messages"] if m.level_tag == "error"], nom


@pytest.mark.parametrize("nom", sorted(PERIMETRE | LECTURES | ECRITURES))
def test_an_administrateur_may_do_what_finance_does(client, monde, nom):
    assert _appeler(client, agent(Role.ADMINISTRATEUR, tous=True), nom, monde, suivre=True).status_code == 200


def _refuses(nom, monde):
    """(label, user builder, expected status); None as user is anonymous (redirected to the login page)."""
    anonyme = ("anonyme", lambda: None, 302)
    if nom in PORTEUR:
        return [
            ("membre d'une autre association", lambda: MembreFactory().user, 404),
            ("finance du financeur", lambda: monde["user"], 404),
            anonyme,
        ]
    autre_finance = ("finance d'un autre financeur", lambda: finance(ville()), 200 if nom in PERIMETRE else 404)
    return [
        autre_finance,
        ("instructeur du financeur", lambda: agent(Role.INSTRUCTEUR, financeurs=[monde["etat"]]), 403),
        ("signataire du financeur", lambda: agent(Role.SIGNATAIRE, financeurs=[monde["etat"]]), 403),
        ("membre d'association", lambda: monde["membre"], 403),
        anonyme,
    ]


@pytest.mark.parametrize("nom", _routes())
def test_everyone_else_is_refused(client, monde, nom):
    avant = _etat_des_paiements()
    for libelle, fabrique, attendu in _refuses(nom, monde):
        reponse = _appeler(client, fabrique(), nom, monde)
        assert reponse.status_code == attendu, (libelle, reponse.status_code)
        if attendu == 302:
            assert reponse["Location"].startswith(reverse("account_login")), libelle
        if attendu == 200:  # a page of the user's own perimeter: nothing of the État in it
            texte = reponse.content.decode()
            assert not any(secret in texte for secret in monde["secrets"]), libelle
    assert _etat_des_paiements() == avant
    assert ListePaiements.objects.get().statut == "emise"


def test_listes_page_query_count_does_not_grow_with_listes(client, monde, django_assert_num_queries):
    client.force_login(monde["user"])
    url = reverse("paiements:listes")
    with django_assert_num_queries(6):
        client.get(url)
    for _ in range(3):
        acte(monde["etat"], "500.00")
        liste_creer(criteres=Criteres(financeur=monde["etat"]), acteur=monde["user"])
    with django_assert_num_queries(6):
        reponse = client.get(url)
    assert len(reponse.context["page"].object_list) == 4


def test_liste_creation_page_query_count_does_not_grow_with_candidates(client, monde, django_assert_num_queries):
    client.force_login(monde["user"])
    url = reverse("paiements:liste_creer")
    parametres = {"financeur": monde["etat"].pk}
    with django_assert_num_queries(8):
        client.get(url, parametres)
    for _ in range(4):
        acte(monde["etat"], "500.00")
    with django_assert_num_queries(8):
        reponse = client.get(url, parametres)
    assert len(reponse.context["candidats"]) == 4
