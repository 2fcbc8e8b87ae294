"""Every route of the portal, walked by a représentant légal of porteur B against porteur A, then anonymously.

The list of routes comes from the URL resolver: a new route without a case here makes the first test fail.
"""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from associations.enums import RoleMembre, StatutAdhesion
from associations.models import DemandeAdhesion, Invitation, Membre, Piece, Porteur
from tests.associations.factories import DemandeAdhesionFactory, InvitationFactory, fichier
from tests.associations.test_porteurs import donnees
from tests.factories import MembreFactory, PieceFactory, PorteurFactory, pdf_minimal

pytestmark = pytest.mark.django_db

# Routes with no porteur in the URL: they only ever show or change the signed-in user's own things.
SANS_PORTEUR = {"mes_structures", "porteur_creer", "adhesion_demander"}


def noms_du_portail() -> set[str]:
    noms: set[str] = set()

    def parcourir(patterns):
        for p in patterns:
            if isinstance(p, URLResolver):
                parcourir(p.url_patterns)
            elif isinstance(p, URLPattern) and p.name:
                noms.add(p.name)

    for p in get_resolver().url_patterns:
        if isinstance(p, URLResolver) and p.namespace == "associations":
            parcourir(p.url_patterns)
    return noms


@pytest.fixture
def monde():
    a = PorteurFactory(nom="Association Alpha Confidentielle")
    b = PorteurFactory(nom="Association Bêta")
    return SimpleNamespace(
        a=a,
        b=b,
        representant_a=MembreFactory(porteur=a, role=RoleMembre.REPRESENTANT_LEGAL),
        gestionnaire_a=MembreFactory(porteur=a, role=RoleMembre.GESTIONNAIRE),
        piece_a=PieceFactory(porteur=a, nom_original="bilan-alpha.pdf"),
        invitation_a=InvitationFactory(porteur=a, email="invitee-alpha@exemple.test"),
        adhesion_a=DemandeAdhesionFactory(porteur=a),
        # The intruder holds the strongest role in B, so only the porteur boundary can stop them.
        intrus=MembreFactory(porteur=b, role=RoleMembre.REPRESENTANT_LEGAL),
        piece_b=PieceFactory(porteur=b),
    )


def cas(m) -> dict[str, tuple[list[dict], dict]]:
    """Route name → (the URL kwargs to try: A's objects, and B's id with A's objects; the POST data)."""
    a, b = m.a.pk, m.b.pk
    role = {"role": RoleMembre.REPRESENTANT_LEGAL}
    return {
        "porteur_detail": ([{"pk": a}], {}),
        "porteur_modifier": ([{"pk": a}], donnees(siret=m.a.siret, nom="Piraté")),
        "membres": ([{"pk": a}], {}),
        "inviter": ([{"pk": a}], {"email": "complice@exemple.test", **role}),
        "membre_modifier": (
            [{"pk": a, "membre_pk": m.gestionnaire_a.pk}, {"pk": b, "membre_pk": m.gestionnaire_a.pk}],
            role,
        ),
        "membre_retirer": (
            [{"pk": a, "membre_pk": m.representant_a.pk}, {"pk": b, "membre_pk": m.representant_a.pk}],
            {},
        ),
        "adhesion_decider": (
            [{"pk": a, "adhesion_pk": m.adhesion_a.pk}, {"pk": b, "adhesion_pk": m.adhesion_a.pk}],
            {"decision": "accepter", **role},
        ),
        "invitation_annuler": (
            [{"pk": a, "invitation_pk": m.invitation_a.pk}, {"pk": b, "invitation_pk": m.invitation_a.pk}],
            {},
        ),
        "invitation_accepter": ([{"jeton": m.invitation_a.jeton}], {}),
        "coffre": ([{"pk": a}], {"type_piece": "1", "fichier": None}),
        "piece_telecharger": (
            [{"pk": a, "piece_pk": m.piece_a.pk}, {"pk": b, "piece_pk": m.piece_a.pk}],
            {},
        ),
        "piece_archiver": (
            [{"pk": a, "piece_pk": m.piece_a.pk}, {"pk": b, "piece_pk": m.piece_a.pk}],
            {},
        ),
    }


def test_every_route_of_the_portal_has_a_case(monde):
    assert set(cas(monde)) | SANS_PORTEUR == noms_du_portail(), "Add the new route to this test."
    assert not set(cas(monde)) & SANS_PORTEUR


def etat_de_a(m) -> tuple:
    """What the intruder could have changed in A."""
    return (
        Porteur.objects.get(pk=m.a.pk).nom,
        sorted(Membre.objects.filter(porteur=m.a).values_list("user_id", "role")),
        sorted(Piece.objects.filter(porteur=m.a).values_list("pk", "archivee")),
        sorted(Invitation.objects.filter(porteur=m.a).values_list("pk", "annulee", "acceptee_le")),
        sorted(DemandeAdhesion.objects.filter(porteur=m.a).values_list("pk", "statut")),
    )


def test_a_member_of_b_gets_403_or_404_on_every_page_file_and_action_of_a(client, monde):
    client.force_login(monde.intrus.user)
    avant = etat_de_a(monde)
    essais = 0
    for nom, (variantes, donnees_post) in cas(monde).items():
        for kwargs in variantes:
            url = reverse(f"associations:{nom}", kwargs=kwargs)
            for methode in ("get", "post"):
                envoi = dict(donnees_post)
                if nom == "coffre":
                    envoi["fichier"] = fichier("intrus.pdf", pdf_minimal("intrus"))
                response = getattr(client, methode)(url, envoi) if methode == "post" else client.get(url)
                assert response.status_code in (403, 404), f"{methode.upper()} {nom} {kwargs}: {response.status_code}"
                contenu = b"".join(response.streaming_content) if response.streaming else response.content
                assert b"Alpha Confidentielle" not in contenu and b"bilan-alpha" not in contenu, nom
                essais += 1
    assert essais >= 2 * 18
    assert etat_de_a(monde) == avant
    assert not Membre.objects.filter(porteur=monde.a, user=monde.intrus.user).exists()


def test_routes_without_a_porteur_never_show_or_open_a(client, monde):
    client.force_login(monde.intrus.user)
    for nom in ("mes_structures", "porteur_creer"):
        response = client.get(reverse(f"associations:{nom}"))
        assert response.status_code == 200
        assert "Alpha Confidentielle" not in response.content.decode()
        assert "Association Bêta" in response.content.decode() or nom == "porteur_creer"
    rejoindre = reverse("associations:adhesion_demander")
    assert client.get(rejoindre).status_code == 405
    # Asking to join A is allowed (that is the point), but opens nothing until a représentant légal approves.
    response = client.post(rejoindre, {"siret": monde.a.siret})
    assert response.status_code == 302 and response.url == reverse("associations:mes_structures")
    assert DemandeAdhesion.objects.get(porteur=monde.a, user=monde.intrus.user).statut == StatutAdhesion.EN_ATTENTE
    assert client.get(reverse("associations:porteur_detail", kwargs={"pk": monde.a.pk})).status_code == 404


def test_anonymous_visitors_are_sent_to_the_login_page_everywhere(client, monde):
    assert client.get(reverse("associations:mes_structures")).url.startswith(reverse("account_login"))
    for nom in noms_du_portail():
        variantes = cas(monde)[nom][0] if nom in cas(monde) else [{}]
        url = reverse(f"associations:{nom}", kwargs=variantes[0])
        for methode in (client.get, client.post):
            response = methode(url)
            assert response.status_code == 302, nom
            assert response.url == f"{reverse('account_login')}?next={url}", nom


def test_state_changes_need_the_csrf_token(monde):
    client = Client(enforce_csrf_checks=True)
    client.force_login(monde.representant_a.user)
    url = reverse("associations:membre_retirer", kwargs={"pk": monde.a.pk, "membre_pk": monde.gestionnaire_a.pk})
    assert client.post(url).status_code == 403
    assert Membre.objects.filter(pk=monde.gestionnaire_a.pk).exists()
