"""Accounts: sign-up with mandatory email verification through the outbox, login by email, MFA for staff."""

from __future__ import annotations

import re

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.urls import reverse
from django.utils import timezone

from subventions.comptes.enums import Role
from subventions.comptes.models import User
from tests.factories import DEFAULT_PASSWORD, a_totp, agent

pytestmark = pytest.mark.django_db


def _code(secret: str) -> str:
    return format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))


def test_signup_confirmation_email_then_login(client, mailoutbox, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("account_signup"),
            {"email": "Tresoriere@Asso-Quartier.fr", "password1": DEFAULT_PASSWORD, "password2": DEFAULT_PASSWORD},
        )
    assert response.status_code == 302
    assert response.url == reverse("account_email_verification_sent")
    user = User.objects.get(email="tresoriere@asso-quartier.fr")

    from workflows.models import Courriel

    courriel = Courriel.objects.get()
    assert courriel.destinataires == ["tresoriere@asso-quartier.fr"]
    assert courriel.statut == "envoye"
    assert len(mailoutbox) == 1
    lien = re.search(r"https?://[^/]+(/compte/confirm-email/[^\s]+/)", mailoutbox[0].body).group(1)

    # Mandatory verification: no login before the address is confirmed.
    client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    assert client.get(reverse("espace_association")).status_code == 302

    page = client.get(lien)
    assert page.status_code == 200
    client.post(lien)
    client.logout()

    response = client.post(
        reverse("account_login"), {"login": "TRESORIERE@asso-quartier.fr", "password": DEFAULT_PASSWORD}
    )
    assert response.status_code == 302
    assert client.get(reverse("espace_association")).status_code == 200


def test_wrong_password_gives_a_french_error(client):
    user = agent(Role.INSTRUCTEUR, tous=True)
    response = client.post(reverse("account_login"), {"login": user.email, "password": "faux-mot-de-passe"})
    assert response.status_code == 200
    assert (
        "adresse e-mail et/ou le mot de passe" in response.content.decode() or "incorrect" in response.content.decode()
    )


def test_staff_without_mfa_is_sent_to_totp_activation(client):
    user = agent(Role.INSTRUCTEUR, tous=True, mfa=False)
    client.force_login(user)
    response = client.get(reverse("espace_instruction"))
    assert response.status_code == 302
    assert response.url == reverse("mfa_activate_totp")


def test_staff_activates_totp_through_allauth_then_opens_the_space(client):
    user = agent(Role.INSTRUCTEUR, tous=True, mfa=False)
    client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    # Activating MFA is a sensitive action: allauth asks for the password again first.
    response = client.get(reverse("mfa_activate_totp"))
    assert response.url.startswith(reverse("account_reauthenticate"))
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    page = client.get(reverse("mfa_activate_totp"))
    assert page.status_code == 200
    secret = client.session["mfa.totp.secret"]
    response = client.post(reverse("mfa_activate_totp"), {"code": _code(secret)})
    assert response.status_code == 302, response.content.decode()[:2000]
    assert a_totp(user)
    assert client.get(reverse("espace_instruction")).status_code == 200


def test_login_of_a_staff_user_asks_for_the_totp_code(client):
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    user = agent(Role.FINANCE, tous=True, mfa=False)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)
    response = client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    assert response.url == reverse("mfa_authenticate")
    assert client.get(reverse("espace_finance")).status_code == 302  # not logged in yet
    response = client.post(reverse("mfa_authenticate"), {"code": _code(secret)})
    assert response.status_code == 302
    assert client.get(reverse("espace_finance")).status_code == 200
    assert Authenticator.objects.filter(user=user).exists()


def test_association_member_is_not_asked_for_mfa(client):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    assert client.get(reverse("espace_association")).status_code == 200


def test_admin_is_reserved_to_administrateurs_with_mfa(client):
    instructeur = agent(Role.INSTRUCTEUR, tous=True)
    client.force_login(instructeur)
    assert client.get(reverse("admin:index")).status_code in (302, 403)
    assert client.get(reverse("admin:referentiel_financeur_changelist")).status_code in (302, 403)

    admin_sans_mfa = agent(Role.ADMINISTRATEUR, tous=True, mfa=False)
    client.force_login(admin_sans_mfa)
    response = client.get(reverse("admin:referentiel_financeur_changelist"), follow=True)
    assert (reverse("mfa_activate_totp"), 302) in response.redirect_chain

    administrateur = agent(Role.ADMINISTRATEUR, tous=True)
    client.force_login(administrateur)
    assert client.get(reverse("admin:referentiel_financeur_changelist")).status_code == 200
    assert client.get(reverse("admin:comptes_habilitation_add")).status_code == 200


def test_anonymous_admin_goes_through_the_product_login(client):
    response = client.get(reverse("admin:index"), follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account_login"))


def test_login_rate_limit_is_on(client):
    from django.core.cache import cache

    cache.clear()
    user = agent(Role.INSTRUCTEUR, tous=True)
    pages = [
        client.post(reverse("account_login"), {"login": user.email, "password": f"faux-{i}"}).content.decode()
        for i in range(6)
    ]
    assert "Trop de tentatives de connexion" not in pages[0]
    assert "Trop de tentatives de connexion" in pages[-1]
    # Even the right password is refused while the limit holds.
    page = client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD})
    assert page.status_code == 200
    cache.clear()


def test_reauthentication_is_required_for_sensitive_account_changes(client):
    from tests.factories import UserFactory

    user = UserFactory()
    client.force_login(user)
    # Changing the address list counts as sensitive in allauth once the login is older than the timeout.
    session = client.session
    session["account_authentication_methods"] = [{"method": "password", "at": 0, "email": user.email}]
    session.save()
    response = client.get(reverse("mfa_activate_totp"))
    assert response.status_code == 302
    assert response.url.startswith(reverse("account_reauthenticate"))


def test_password_reset_through_the_outbox(client, mailoutbox, django_capture_on_commit_callbacks):
    from tests.factories import UserFactory

    user = UserFactory(email="oubli@asso.test")
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("account_reset_password"), {"email": "oubli@asso.test"})
    assert response.status_code == 302
    assert len(mailoutbox) == 1 and mailoutbox[0].to == ["oubli@asso.test"]
    lien = re.search(r"https?://[^/]+(/compte/password/reset/key/[^\s]+/)", mailoutbox[0].body).group(1)
    page = client.get(lien, follow=True)
    formulaire = page.redirect_chain[-1][0] if page.redirect_chain else lien
    nouveau = "un-nouveau-mot-de-passe-solide-2027"
    response = client.post(formulaire, {"password1": nouveau, "password2": nouveau})
    assert response.status_code == 302
    client.logout()
    response = client.post(reverse("account_login"), {"login": user.email, "password": nouveau})
    assert response.status_code == 302
    assert client.get(reverse("espace_association")).status_code == 200
