"""Browser tests: Playwright driving Debian's Chromium against the live server (no browser download here)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("SUBVENTIONS_CHROMIUM", "/usr/bin/chromium"))

# Playwright's sync API runs an event loop in this thread; Django's ORM calls made by the test itself are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def navigateur():
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium introuvable ({CHROMIUM}) : apt-get install -y chromium (fait par .ci/run).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-dev-shm-usage"],
        )
        yield browser
        browser.close()


@pytest.fixture
def page(navigateur, live_server):
    context = navigateur.new_context(base_url=live_server.url, locale="fr-FR", accept_downloads=True)
    context.set_default_timeout(15000)
    page = context.new_page()
    yield page
    context.close()


def verifier_accessibilite(page, *, impacts=("serious", "critical")) -> None:
    """axe-core on the current page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    resultats = Axe().run(page)
    graves = [v for v in resultats.response["violations"] if v.get("impact") in impacts]
    details = "\n".join(
        f"{v['id']} ({v['impact']}): {v['help']} — {[n['target'] for n in v['nodes']][:3]}" for v in graves
    )
    assert not graves, f"axe-core sur {page.url} :\n{details}"


def connecter(page, email: str, secret: str | None = None) -> None:
    """Log in through the real form; staff type the TOTP code computed from `secret` (tolerance: one step)."""
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from django.utils import timezone
    from playwright.sync_api import expect

    from tests.factories import DEFAULT_PASSWORD

    page.goto("/")
    page.get_by_role("link", name="Se connecter").first.click()
    page.get_by_label("Courriel").fill(email)
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Connexion").click()
    if secret is not None:
        expect(page.get_by_role("heading", name="Authentification à deux facteurs")).to_be_visible()
        code = format_hotp_value(hotp_value(secret, int(timezone.now().timestamp()) // 30))
        page.get_by_label("Code").fill(code)
        page.get_by_role("button", name="Connexion").click()
    expect(page.get_by_role("link", name=email)).to_be_visible()
