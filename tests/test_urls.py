"""Every named URL of the product, walked as an allowed user (200) and as users without the right."""

from __future__ import annotations

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from subventions.comptes.enums import Role
from tests.factories import CampagneFactory, FinanceurFactory, UserFactory, agent

pytestmark = pytest.mark.django_db

# Namespaces and names that belong to libraries (allauth, admin, i18n), tested through their own flows.
TIERS = ("account_", "mfa_", "socialaccount_", "usersessions_", "set_language", "javascript-catalog")


def _noms_du_produit() -> set[str]:
    noms = set()

    def walk(patterns, prefix=""):
        for p in patterns:
            if isinstance(p, URLResolver):
                # Namespaced apps walk their own routes with a foreign user in their own tests.
                if p.namespace is not None:
                    continue
                walk(p.url_patterns, prefix)
            elif isinstance(p, URLPattern) and p.name and not p.name.startswith(TIERS):
                noms.add(p.name)

    walk(get_resolver().url_patterns)
    return noms


@pytest.fixture
def monde():
    etat, ville = FinanceurFactory(code="etat"), FinanceurFactory(code="ville")
    ouverte = CampagneFactory(financeurs=[etat, ville])
    etat_seul_a_venir = CampagneFactory(financeurs=[etat], a_venir=True)
    return {"etat": etat, "ville": ville, "ouverte": ouverte, "a_venir_etat": etat_seul_a_venir}


# name → (kwargs builder, allowed user builder, list of refused user builders, expected refusal codes)
def _cas(monde):
    etat, ville = monde["etat"], monde["ville"]
    asso = UserFactory
    return {
        "accueil": ({}, lambda: None, []),
        "espace_association": ({}, asso, [lambda: None]),
        "espace_instruction": (
            {},
            lambda: agent(Role.INSTRUCTEUR, financeurs=[etat]),
            [lambda: None, asso, lambda: agent(Role.FINANCE, financeurs=[etat])],
        ),
        "espace_comite": (
            {},
            lambda: agent(Role.CONSEIL_CITOYEN, tous=True),
            [lambda: None, asso, lambda: agent(Role.INSTRUCTEUR, financeurs=[etat])],
        ),
        "espace_signature": (
            {},
            lambda: agent(Role.SIGNATAIRE, financeurs=[etat]),
            [lambda: None, asso, lambda: agent(Role.COMITE, tous=True)],
        ),
        "espace_finance": (
            {},
            lambda: agent(Role.FINANCE, financeurs=[etat]),
            [lambda: None, asso, lambda: agent(Role.SIGNATAIRE, financeurs=[etat])],
        ),
        "espace_administration": (
            {},
            lambda: agent(Role.ADMINISTRATEUR, tous=True),
            [lambda: None, asso, lambda: agent(Role.FINANCE, tous=True)],
        ),
        # A campagne not open yet: its financeur's staff may read it, another financeur's staff and porteurs may not.
        "campagne_detail": (
            {"pk": monde["a_venir_etat"].pk},
            lambda: agent(Role.INSTRUCTEUR, financeurs=[etat]),
            [lambda: None, asso, lambda: agent(Role.INSTRUCTEUR, financeurs=[ville])],
        ),
    }


def test_every_named_url_has_a_case(monde):
    assert _noms_du_produit() == set(_cas(monde)), "Add the new route to this smoke test (and its refusals)."


def test_every_named_url_allows_its_user_and_refuses_the_others(client, monde):
    checked = 0
    for name, (kwargs, allowed, refused) in _cas(monde).items():
        url = reverse(name, kwargs=kwargs)
        client.logout()
        user = allowed()
        if user is not None:
            client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200, f"{name}: {response.status_code}"
        for make in refused:
            client.logout()
            other = make()
            if other is not None:
                client.force_login(other)
            response = client.get(url)
            if other is None:
                assert response.status_code == 302 and "/compte/login/" in response.url, name
            else:
                assert response.status_code in (403, 404), f"{name} as {other}: {response.status_code}"
            checked += 1
    assert checked >= 15


def test_open_campagne_is_readable_by_any_signed_in_user(client, monde):
    client.force_login(UserFactory())
    response = client.get(reverse("campagne_detail", kwargs={"pk": monde["ouverte"].pk}))
    assert response.status_code == 200
    assert monde["ouverte"].titre in response.content.decode()


# Each namespaced app walks every one of its routes with a foreign user in this module of its own.
MARCHES_PAR_ESPACE = {
    "associations": "tests/associations/test_acces.py",
    "demandes": "tests/demandes/test_portail_acces.py",
    "instruction": "tests/demandes/test_instruction_acces.py",
    "comites": "tests/comites/test_acces.py",
    "conventions": "tests/conventions/test_acces.py",
    "paiements": "tests/paiements/test_acces.py",
    "bilans": "tests/bilans/test_acces.py",
    "pilotage": "tests/pilotage/test_acces.py",
    "workflows": "tests/workflows/test_graphes.py",
    # « Mes données » has no object in its URLs: the access matrix checks every role on it.
    "audit": "tests/securite/test_matrice.py",
}


def test_every_namespace_has_its_foreign_user_walk():
    from pathlib import Path

    espaces = {
        p.namespace
        for p in get_resolver().url_patterns
        if isinstance(p, URLResolver) and p.namespace not in (None, "admin")
    }
    assert espaces == set(MARCHES_PAR_ESPACE), "A new app namespace needs its walk of every route as a foreign user."
    racine = Path(__file__).resolve().parent.parent
    for module in MARCHES_PAR_ESPACE.values():
        assert "resolver" in (racine / module).read_text(), f"{module} must build its cases from the URL resolver"
