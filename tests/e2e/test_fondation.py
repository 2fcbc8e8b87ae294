"""In the browser: the demo's staff login with password then TOTP reaches its space; account pages pass axe-core."""

from __future__ import annotations

import pytest
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
from django.conf import settings
from django.core.management import call_command
from django.utils import timezone
from playwright.sync_api import expect

from subventions import demo
from tests.e2e.conftest import verifier_accessibilite

pytestmark = pytest.mark.django_db(transaction=True)


def test_demo_admin_logs_in_with_totp_and_opens_the_administration(page):
    call_command("seed_demo")
    page.goto("/")
    page.get_by_role("link", name="Se connecter").first.click()
    verifier_accessibilite(page)
    page.get_by_label("Courriel").fill("admin@demo.test")
    page.get_by_label("Mot de passe").fill(settings.SUBVENTIONS_DEMO_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    code = format_hotp_value(
        hotp_value(demo.secret_totp_demo("admin@demo.test"), int(timezone.now().timestamp()) // 30)
    )
    expect(page.get_by_role("heading", name="Authentification à deux facteurs")).to_be_visible()
    page.get_by_label("Code").fill(code)
    page.get_by_role("button", name="Connexion").click()
    page.get_by_role("link", name="Administration", exact=True).first.click()
    expect(page.get_by_role("heading", name="Espace administration")).to_be_visible()
    page.get_by_role("link", name="Référentiel, campagnes, enveloppes et habilitations").click()
    expect(page.get_by_role("link", name="Subventions — administration")).to_be_visible()
    expect(page.get_by_role("link", name="Financeurs")).to_be_visible()


def test_signup_page_is_accessible(page):
    page.goto("/compte/signup/")
    verifier_accessibilite(page)
    page.get_by_role("button", name="Création de compte").click()
    # Empty form: server-side errors in French, with a summary at the top.
    expect(page.locator("#resume-erreurs")).to_be_visible()
    verifier_accessibilite(page)
