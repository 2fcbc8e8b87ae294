"""Every route of the "pilotage" namespace, taken from the URL resolver: who gets 200, and who is refused how. A user
of another financeur never gets the figures, files or imports of this one."""

from __future__ import annotations

import pytest
from django.urls import get_resolver, reverse

from subventions.comptes.enums import Role
from subventions.pilotage.services import subventions_importer
from tests.factories import FinanceurFactory, MembreFactory, agent
from tests.pilotage.aides import DONNEES, monde_pilotage

pytestmark = pytest.mark.django_db


def _routes() -> list[str]:
    """Names of every route of the namespace, from the resolver itself: a new route without a case fails below."""
    _prefixe, resolver = get_resolver().namespace_dict["pilotage"]
    return sorted(p.name for p in resolver.url_patterns)


# Figures and files of the perimeter's financeurs: instructeurs, comité, signataires, finance, administrateurs.
LECTURES = {"tableau_de_bord", "tableau_export", "scdl"}
# Imports of past subsidies: administrateurs only.
IMPORTS = {"imports", "import_detail", "import_rapport"}


def test_every_route_of_the_namespace_has_an_access_case():
    assert set(_routes()) == LECTURES | IMPORTS


@pytest.fixture
def monde():
    monde = monde_pilotage()
    admin = agent(Role.ADMINISTRATEUR, financeurs=[monde.etat])
    rapport = subventions_importer(
        contenu=(DONNEES / "haute-garonne-2017-scdl.csv").read_bytes(),
        nom_fichier="hg.csv",
        financeur=monde.etat,
        acteur=admin,
    )
    campagne = {"campagne": monde.campagne.pk, "financeur": monde.etat.pk}
    return {
        "monde": monde,
        "admin": admin,
        "url": {
            "tableau_de_bord": (reverse("pilotage:tableau_de_bord"), campagne),
            "tableau_export": (reverse("pilotage:tableau_export", args=["financeurs", "xlsx"]), campagne),
            "scdl": (reverse("pilotage:scdl"), {"financeur": monde.etat.pk, "annee": 2015}),
            "imports": (reverse("pilotage:imports"), {}),
            "import_detail": (reverse("pilotage:import_detail", args=[rapport.import_id]), {}),
            "import_rapport": (reverse("pilotage:import_rapport", args=[rapport.import_id, "csv"]), {}),
        },
    }


def _autorises(nom, monde):
    if nom in IMPORTS:
        return [monde["admin"], agent(Role.ADMINISTRATEUR, tous=True)]
    etat = [monde["monde"].etat]
    return [agent(role, financeurs=etat) for role in (Role.INSTRUCTEUR, Role.COMITE, Role.SIGNATAIRE, Role.FINANCE)]


def _refuses(nom, monde):
    """(label, user builder, expected status); None as user is anonymous (redirected to the login page)."""
    autre = FinanceurFactory()
    role = Role.ADMINISTRATEUR if nom in IMPORTS else Role.COMITE
    communs = [
        ("anonyme", lambda: None, 302),
        ("membre d'association", lambda: MembreFactory().user, 403),
        ("conseil citoyen", lambda: agent(Role.CONSEIL_CITOYEN, tous=True), 403),
        # Sent to the TOTP activation first, whatever the page.
        ("agent sans double authentification", lambda: agent(role, tous=True, mfa=False), 302),
    ]
    if nom in IMPORTS:
        return [
            *communs,
            ("instructeur de tous les financeurs", lambda: agent(Role.INSTRUCTEUR, tous=True), 403),
            # An administrateur of another financeur: the list opens (without this import), the import does not.
            ("administrateur d'un autre financeur", lambda: agent(Role.ADMINISTRATEUR, financeurs=[autre]),
             200 if nom == "imports" else 404),
        ]  # fmt: skip
    return [*communs, ("agent d'un autre financeur", lambda: agent(Role.COMITE, financeurs=[autre]), 404)]


@pytest.mark.parametrize("nom", _routes())
def test_the_allowed_users_get_200(client, monde, nom):
    url, params = monde["url"][nom]
    for user in _autorises(nom, monde):
        client.force_login(user)
        reponse = client.get(url, params)
        assert reponse.status_code == 200, (nom, user)
        if nom == "scdl":
            assert b"".join(reponse.streaming_content).startswith(b"nomAttribuant,idAttribuant,")


@pytest.mark.parametrize("nom", _routes())
def test_everyone_else_is_refused(client, monde, nom):
    url, params = monde["url"][nom]
    for libelle, fabrique, attendu in _refuses(nom, monde):
        client.logout()
        user = fabrique()
        if user is not None:
            client.force_login(user)
        reponse = client.get(url, params)
        assert reponse.status_code == attendu, (libelle, reponse.status_code)
        if libelle == "anonyme":
            assert reponse["Location"].startswith(reverse("account_login")), libelle
        if libelle == "agent sans double authentification":
            assert reponse["Location"] == reverse("mfa_activate_totp"), libelle
        if attendu == 200:
            assert "hg.csv" not in reponse.content.decode(), libelle


def test_posting_an_import_is_for_administrateurs_only(client, monde):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from subventions.pilotage.models import ImportSubventions

    avant = ImportSubventions.objects.count()
    client.force_login(agent(Role.FINANCE, tous=True))
    fichier = SimpleUploadedFile("hg.csv", (DONNEES / "haute-garonne-2017-scdl.csv").read_bytes())
    assert client.post(reverse("pilotage:imports"), {"fichier": fichier}).status_code == 403
    assert ImportSubventions.objects.count() == avant


@pytest.mark.parametrize("valeur", ["99999999999999999999", "-3", "0", "douze"])
def test_an_id_out_of_range_in_the_query_string_is_ignored_not_a_server_error(client, monde, valeur):
    """A crafted campagne, financeur or territoire id (beyond what PostgreSQL's bigint holds, negative, not a number)
    is treated as absent: the dashboard of the default campagne, not a 500."""
    url, _params = monde["url"]["tableau_de_bord"]
    client.force_login(_autorises("tableau_de_bord", monde)[0])
    for cle in ("campagne", "financeur", "territoire", "pilier"):
        assert client.get(url, {cle: valeur}).status_code == 200, cle
