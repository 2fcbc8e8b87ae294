"""Members: invitations by email, roles, removal, and a porteur that always keeps a représentant légal."""

from __future__ import annotations

import re
import threading
from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import close_old_connections
from django.urls import reverse
from django.utils import timezone

from associations.enums import RoleMembre, StatutAdhesion
from associations.models import Invitation, Membre
from associations.services import invitation_accepter, membre_modifier, membre_retirer
from tests.associations.factories import DemandeAdhesionFactory, InvitationFactory
from tests.factories import MembreFactory, UserFactory

pytestmark = pytest.mark.django_db

RL = RoleMembre.REPRESENTANT_LEGAL


def url(nom: str, **kwargs) -> str:
    return reverse(f"associations:{nom}", kwargs=kwargs)


# --- Invitations ---------------------------------------------------------------------------------------------------


def test_a_representant_invites_by_email_and_the_link_is_sent_through_the_outbox(
    client_de, porteur, representant, mailoutbox, django_capture_on_commit_callbacks
):
    client = client_de(representant)
    assert client.get(url("inviter", pk=porteur.pk)).status_code == 200
    donnees = {"email": "  Nadia.Haddad@Exemple.test ", "role": RoleMembre.GESTIONNAIRE}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url("inviter", pk=porteur.pk), donnees)
    assert response.status_code == 302
    invitation = Invitation.objects.get()
    assert invitation.email == "nadia.haddad@exemple.test"
    assert invitation.role == RoleMembre.GESTIONNAIRE
    assert timedelta(days=13, hours=23) < invitation.expire_le - timezone.now() <= timedelta(days=14)
    assert len(invitation.jeton) == 64
    assert mailoutbox[0].to == ["nadia.haddad@exemple.test"]
    assert url("invitation_accepter", jeton=invitation.jeton) in mailoutbox[0].body
    assert "Les Amis du Panier" in mailoutbox[0].subject

    # The same invitation sent twice (double click) creates and sends nothing more.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(url("inviter", pk=porteur.pk), donnees)
    assert Invitation.objects.count() == 1 and len(mailoutbox) == 1

    membres = client.get(url("membres", pk=porteur.pk)).content.decode()
    assert "nadia.haddad@exemple.test" in membres


def test_inviting_a_current_member_is_refused_next_to_the_email(client_de, porteur, representant, gestionnaire):
    response = client_de(representant).post(
        url("inviter", pk=porteur.pk), {"email": gestionnaire.user.email.upper(), "role": RoleMembre.LECTEUR}
    )
    assert response.status_code == 200
    assert "déjà membre" in response.content.decode()
    assert not Invitation.objects.exists()


def test_an_anonymous_invitee_is_sent_to_log_in_and_comes_back_to_the_invitation(client):
    invitation = InvitationFactory()
    lien = url("invitation_accepter", jeton=invitation.jeton)
    response = client.get(lien)
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_login")) and "next=" in response.url
    assert response.url.endswith(f"next={lien}")


def test_a_new_person_signs_up_from_the_link_confirms_the_email_and_lands_in_the_porteur(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    invitation = InvitationFactory(email="nouvelle@exemple.test", role=RoleMembre.LECTEUR)
    lien = url("invitation_accepter", jeton=invitation.jeton)
    login = client.get(client.get(lien).url).content.decode()
    inscription = reverse("account_signup") + "?next=" + lien.replace("/", "%2F")
    assert inscription in login  # the login page offers to sign up, keeping the way back
    mot_de_passe = "un-mot-de-passe-long-42"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            inscription, {"email": "nouvelle@exemple.test", "password1": mot_de_passe, "password2": mot_de_passe}
        )
    confirmation = re.search(r"(/compte/confirm-email/\S+)", mailoutbox[-1].body).group(1)
    response = client.post(confirmation)
    assert response.url == lien
    response = client.post(lien)
    assert response.url == url("porteur_detail", pk=invitation.porteur_id)
    assert Membre.objects.get(porteur=invitation.porteur, user__email="nouvelle@exemple.test").role == "lecteur"


def test_the_invitee_with_the_matching_verified_email_accepts_and_lands_in_the_porteur(client):
    invitation = InvitationFactory(email="nadia@exemple.test", role=RoleMembre.GESTIONNAIRE)
    user = UserFactory(email="nadia@exemple.test")
    client.force_login(user)
    lien = url("invitation_accepter", jeton=invitation.jeton)
    page = client.get(lien)
    assert page.status_code == 200 and invitation.porteur.nom in page.content.decode()

    response = client.post(lien)

    assert response.status_code == 302
    assert response.url == url("porteur_detail", pk=invitation.porteur_id)
    membre = Membre.objects.get(porteur=invitation.porteur, user=user)
    assert membre.role == RoleMembre.GESTIONNAIRE
    invitation.refresh_from_db()
    assert invitation.acceptee_par == user and invitation.acceptee_le is not None
    # Accepting again (back button, second tab) creates nothing.
    assert client.post(lien).status_code == 302
    assert Membre.objects.filter(porteur=invitation.porteur, user=user).count() == 1


def test_an_invitation_answers_a_pending_join_request_of_the_same_person(client):
    user = UserFactory()
    invitation = InvitationFactory(email=user.email, role=RoleMembre.LECTEUR)
    adhesion = DemandeAdhesionFactory(porteur=invitation.porteur, user=user)
    invitation_accepter(invitation=invitation, user=user)
    adhesion.refresh_from_db()
    assert adhesion.statut == StatutAdhesion.ACCEPTEE and adhesion.role_attribue == RoleMembre.LECTEUR


def test_an_invitation_is_refused_to_a_user_with_another_email(client):
    invitation = InvitationFactory(email="nadia@exemple.test")
    intrus = UserFactory(email="quelquun@exemple.test")
    client.force_login(intrus)
    lien = url("invitation_accepter", jeton=invitation.jeton)
    page = client.get(lien)
    assert page.status_code == 403
    html = page.content.decode()
    assert "autre adresse" in html
    assert invitation.porteur.nom not in html and "nadia@exemple.test" not in html
    assert client.post(lien).status_code == 403
    assert not Membre.objects.filter(user=intrus).exists()
    with pytest.raises(PermissionDenied):
        invitation_accepter(invitation=invitation, user=intrus)


def test_an_unverified_matching_email_is_not_enough(client):
    invitation = InvitationFactory(email="nadia@exemple.test")
    user = UserFactory(email="nadia@exemple.test")
    EmailAddress.objects.filter(user=user).update(verified=False)
    client.force_login(user)
    assert client.post(url("invitation_accepter", jeton=invitation.jeton)).status_code == 403
    assert not Membre.objects.filter(user=user).exists()


def test_a_verified_secondary_address_may_accept(client):
    user = UserFactory(email="perso@exemple.test")
    EmailAddress.objects.create(user=user, email="tresorerie@asso.test", verified=True, primary=False)
    invitation = InvitationFactory(email="tresorerie@asso.test")
    client.force_login(user)
    assert client.post(url("invitation_accepter", jeton=invitation.jeton)).status_code == 302
    assert Membre.objects.filter(user=user, porteur=invitation.porteur).exists()


@pytest.mark.parametrize(
    ("champs", "texte"),
    [({"expiree": True}, "a expiré le"), ({"annulee": True}, "a annulé cette invitation")],
)
def test_an_expired_or_cancelled_invitation_cannot_be_accepted(client, champs, texte):
    invitation = InvitationFactory(email="nadia@exemple.test", **champs)
    user = UserFactory(email="nadia@exemple.test")
    client.force_login(user)
    lien = url("invitation_accepter", jeton=invitation.jeton)
    page = client.get(lien)
    assert page.status_code == 410 and texte in page.content.decode()
    assert client.post(lien).status_code == 410
    assert not Membre.objects.filter(user=user).exists()
    with pytest.raises(ValidationError):
        invitation_accepter(invitation=invitation, user=user)


def test_an_unknown_token_is_a_404(client):
    client.force_login(UserFactory())
    assert client.get(url("invitation_accepter", jeton="0" * 64)).status_code == 404


def test_a_representant_cancels_an_invitation(client_de, porteur, representant):
    invitation = InvitationFactory(porteur=porteur)
    response = client_de(representant).post(url("invitation_annuler", pk=porteur.pk, invitation_pk=invitation.pk))
    assert response.status_code == 302
    invitation.refresh_from_db()
    assert invitation.annulee


# --- Roles and removal ---------------------------------------------------------------------------------------------


def test_a_representant_changes_a_role_and_removes_a_member(client_de, porteur, representant, gestionnaire):
    client = client_de(representant)
    response = client.post(
        url("membre_modifier", pk=porteur.pk, membre_pk=gestionnaire.pk), {"role": RoleMembre.LECTEUR}
    )
    assert response.status_code == 302
    gestionnaire.refresh_from_db()
    assert gestionnaire.role == RoleMembre.LECTEUR

    assert client.post(url("membre_retirer", pk=porteur.pk, membre_pk=gestionnaire.pk)).status_code == 302
    assert not Membre.objects.filter(pk=gestionnaire.pk).exists()
    # Removing twice: the member is already gone, 404 and nothing else happens.
    assert client.post(url("membre_retirer", pk=porteur.pk, membre_pk=gestionnaire.pk)).status_code == 404


def test_the_last_representant_legal_can_be_neither_removed_nor_demoted(client_de, porteur, representant):
    client = client_de(representant)
    response = client.post(url("membre_retirer", pk=porteur.pk, membre_pk=representant.pk), follow=True)
    assert "au moins un représentant légal" in response.content.decode()
    response = client.post(
        url("membre_modifier", pk=porteur.pk, membre_pk=representant.pk),
        {"role": RoleMembre.GESTIONNAIRE},
        follow=True,
    )
    assert "au moins un représentant légal" in response.content.decode()
    representant.refresh_from_db()
    assert representant.role == RL

    with pytest.raises(ValidationError) as erreur:
        membre_retirer(membre=representant, user=representant.user)
    assert erreur.value.code == "dernier_representant"
    with pytest.raises(ValidationError):
        membre_modifier(membre=representant, user=representant.user, role=RoleMembre.LECTEUR)


def test_with_two_representants_one_may_step_down_then_the_other_may_not(porteur, representant):
    second = MembreFactory(porteur=porteur, role=RL)
    membre_modifier(membre=second, user=representant.user, role=RoleMembre.GESTIONNAIRE)
    second.refresh_from_db()
    assert second.role == RoleMembre.GESTIONNAIRE
    with pytest.raises(ValidationError):
        membre_retirer(membre=representant, user=representant.user)


def test_a_representant_may_leave_when_another_one_remains(client_de, porteur, representant):
    MembreFactory(porteur=porteur, role=RL)
    response = client_de(representant).post(url("membre_retirer", pk=porteur.pk, membre_pk=representant.pk))
    assert response.url == url("mes_structures")
    assert not Membre.objects.filter(pk=representant.pk).exists()


@pytest.mark.parametrize("role", [RoleMembre.GESTIONNAIRE, RoleMembre.LECTEUR])
def test_only_representants_manage_members(client, porteur, representant, role):
    autre = MembreFactory(porteur=porteur, role=role)
    client.force_login(autre.user)
    assert client.get(url("membres", pk=porteur.pk)).status_code == 200  # every member sees who is in
    assert client.get(url("inviter", pk=porteur.pk)).status_code == 403
    assert client.post(url("inviter", pk=porteur.pk), {"email": "x@exemple.test", "role": RL}).status_code == 403
    cible = url("membre_modifier", pk=porteur.pk, membre_pk=autre.pk)
    assert client.post(cible, {"role": RL}).status_code == 403
    assert client.post(url("membre_retirer", pk=porteur.pk, membre_pk=representant.pk)).status_code == 403
    autre.refresh_from_db()
    assert autre.role == role and Membre.objects.filter(pk=representant.pk).exists()
    with pytest.raises(PermissionDenied):
        membre_modifier(membre=autre, user=autre.user, role=RL)


def test_state_changes_refuse_get(client_de, porteur, representant, gestionnaire):
    client = client_de(representant)
    assert client.get(url("membre_retirer", pk=porteur.pk, membre_pk=gestionnaire.pk)).status_code == 405
    assert Membre.objects.filter(pk=gestionnaire.pk).exists()


def test_members_list_query_count_is_constant(client_de, porteur, representant, django_assert_num_queries):
    MembreFactory(porteur=porteur, role=RoleMembre.GESTIONNAIRE)
    InvitationFactory(porteur=porteur)
    DemandeAdhesionFactory(porteur=porteur)
    client = client_de(representant)
    # session, user, staff roles (navigation), membership, members, join requests, invitations
    with django_assert_num_queries(7):
        response = client.get(url("membres", pk=porteur.pk))
    assert response.status_code == 200
    MembreFactory(porteur=porteur, role=RoleMembre.LECTEUR)
    InvitationFactory(porteur=porteur)
    DemandeAdhesionFactory(porteur=porteur)
    with django_assert_num_queries(7):
        response = client.get(url("membres", pk=porteur.pk))
    assert response.content.decode().count('name="role"') == 3 + 2  # a role select per member and per request


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_representants_removing_each_other_at_once_leave_one(postgres_only):
    porteur_ = MembreFactory(role=RL).porteur
    a, b = Membre.objects.filter(porteur=porteur_)[0], MembreFactory(porteur=porteur_, role=RL)
    barriere = threading.Barrier(2)
    erreurs: list[Exception] = []

    def retirer(cible, acteur):
        try:
            barriere.wait()
            membre_retirer(membre=cible, user=acteur.user)
        except (ValidationError, PermissionDenied) as exc:
            erreurs.append(exc)
        finally:
            close_old_connections()

    fils = [threading.Thread(target=retirer, args=(b, a)), threading.Thread(target=retirer, args=(a, b))]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    assert Membre.objects.filter(porteur=porteur_, role=RL).count() == 1
    assert len(erreurs) == 1
