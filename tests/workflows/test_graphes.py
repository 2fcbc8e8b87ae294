"""The state-chart page: drawn from the code (nothing listed by hand here), for administrateurs only. Every route of
the `workflows` namespace is walked from the URL resolver as the allowed user and as foreign users."""

from __future__ import annotations

import re

import pytest
from django.urls import URLResolver, get_resolver, reverse

from subventions.comptes.enums import Role
from subventions.demandes.models import Demande, LigneFinancement
from tests.factories import MembreFactory, agent

pytestmark = pytest.mark.django_db


def _transitions_du_code(modele) -> set[str]:
    champ = modele._meta.get_field("statut")
    return {t.name for t in champ.get_all_transitions(modele)}


@pytest.fixture
def admin():
    return agent(Role.ADMINISTRATEUR, tous=True)


def test_admin_sees_every_transition_of_the_code_in_the_table_and_the_drawing(client, admin):
    client.force_login(admin)
    response = client.get(reverse("workflows:graphes"))
    assert response.status_code == 200
    page = response.content.decode()
    assert page.count("<svg") >= 2
    for modele in (Demande, LigneFinancement):
        noms = _transitions_du_code(modele)
        assert len(noms) >= 6, modele
        section = page.split(f'id="{modele._meta.label.replace(".", "-").lower()}-statut"')[1].split("</section>")[0]
        for nom in noms:
            assert f'<th scope="row"><code>{nom}</code>' in section, f"{modele.__name__}.{nom} missing from table"
            assert f'data-transition="{nom}"' in section, f"{modele.__name__}.{nom} missing from drawing"
        for valeur, libelle in modele._meta.get_field("statut").flatchoices:
            assert f'data-etat="{valeur}"' in section and str(libelle) in section


def test_table_gives_sources_target_and_who_may_act(client, admin):
    client.force_login(admin)
    page = client.get(reverse("workflows:graphes")).content.decode()
    # Read from the code: several sources, the permission function and its docstring, the condition.
    assert re.search(
        r"<code>declarer_irrecevable</code>.*?deposee, a_completer → <strong>irrecevable</strong>", page, re.S
    )
    assert "<code>est_instructeur_de_ligne</code>" in page
    assert "the Ville never gives the État&#x27;s avis" in page
    assert "ligne.demande.statut == StatutDemande.EN_INSTRUCTION" in page
    assert "demande.toutes_lignes_avisees" in page


def test_every_state_has_a_box_and_every_edge_a_path(admin):
    from workflows.views import machines_fsm

    machines = {m.modele: m for m in machines_fsm()}
    demande = machines["demandes.Demande"]
    aretes = {(t["source"], t["cible"], t["nom"]) for t in demande.svg["traits"]}
    for t in Demande._meta.get_field("statut").get_all_transitions(Demande):
        assert (t.source, t.target, t.name) in aretes
    boites = [(n["x"], n["y"]) for n in demande.svg["noeuds"]]
    assert len(boites) == len(set(boites)), "two states drawn on top of each other"
    initial = next(n for n in demande.svg["noeuds"] if n["initial"])
    assert initial["valeur"] == "brouillon" and initial["x"] == min(x for x, _y in boites)


def test_instructeur_is_refused_and_anonymous_sent_to_login(client):
    client.force_login(agent(Role.INSTRUCTEUR, tous=True))
    assert client.get(reverse("workflows:graphes")).status_code == 403
    client.logout()
    response = client.get(reverse("workflows:graphes"))
    assert response.status_code == 302 and "/compte/login/" in response.url


def test_admin_without_mfa_is_sent_to_activate_it(client):
    client.force_login(agent(Role.ADMINISTRATEUR, tous=True, mfa=False))
    response = client.get(reverse("workflows:graphes"))
    assert response.status_code == 302 and reverse("mfa_activate_totp") in response.url


# --- Every route of the namespace, from the URL resolver ---------------------------------------------------------


def _routes_du_namespace(namespace: str) -> set[str]:
    for motif in get_resolver().url_patterns:
        if isinstance(motif, URLResolver) and motif.namespace == namespace:
            return {route.name for route in motif.url_patterns}
    raise AssertionError(f"namespace {namespace} introuvable")


CAS = {
    # name → (kwargs, allowed user, refused users)
    "graphes": (
        {},
        lambda: agent(Role.ADMINISTRATEUR, tous=True),
        [
            lambda: MembreFactory().user,
            lambda: agent(Role.INSTRUCTEUR, tous=True),
            lambda: agent(Role.COMITE, tous=True),
            lambda: agent(Role.FINANCE, tous=True),
        ],
    ),
}


def test_every_route_of_the_namespace_has_a_case():
    assert _routes_du_namespace("workflows") == set(CAS), "Add the new route to CAS (and its refusals)."


@pytest.mark.parametrize("nom", sorted(_routes_du_namespace("workflows")))
def test_each_route_allows_administrateurs_only(client, nom):
    kwargs, autorise, refuses = CAS[nom]
    url = reverse(f"workflows:{nom}", kwargs=kwargs)
    client.force_login(autorise())
    assert client.get(url).status_code == 200
    for fabrique in refuses:
        client.logout()
        client.force_login(fabrique())
        assert client.get(url).status_code == 403, nom
        assert client.post(url).status_code in (403, 405), nom
    client.logout()
    assert client.get(url).status_code == 302


def test_svg_coordinates_are_plain_numbers_in_french_too(client, admin):
    """A French page must not write "83,5" in an SVG attribute: the browser would misplace every box and label."""
    import re

    client.force_login(admin)
    page = client.get(reverse("workflows:graphes"), HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert '<html lang="fr">' in page
    assert re.search(r'<rect x="\d+(\.\d+)?" y="\d+(\.\d+)?"', page)
    assert not re.search(r'\b(x|y|tx|ty|width|height)="\d+,\d', page)
