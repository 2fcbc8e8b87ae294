"""In Chromium, under the real Content Security Policy: no violation on the porteur's and the staff's pages, and
htmx still recomputes the budget totals (it must neither inject a <style> nor eval anything)."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone
from playwright.sync_api import Page, expect

from subventions.comptes.enums import Role
from subventions.demandes.services import demande_deposer
from tests.e2e.conftest import connecter
from tests.factories import (
    CampagneFactory,
    FinanceurFactory,
    MembreFactory,
    ObjectifFactory,
    PilierFactory,
    TypePieceFactory,
    agent,
    demande_complete,
)

pytestmark = pytest.mark.django_db(transaction=True)

NBSP = "\u00a0"
# Registered before any page script: the browser reports every blocked resource or inline code here.
ECOUTE_CSP = """
window.__violations = [];
document.addEventListener("securitypolicyviolation", (e) => {
  window.__violations.push(`${e.violatedDirective} ${e.blockedURI} ${e.sourceFile}:${e.lineNumber}`);
});
"""


def _campagne():
    etat = FinanceurFactory(code="etat", nom="État")
    ville = FinanceurFactory(code="ville-marseille", nom="Ville de Marseille")
    maintenant = timezone.now()
    campagne = CampagneFactory(
        exercice=timezone.localdate().year + 1,
        ouverture=maintenant - timedelta(days=10),
        cloture=maintenant + timedelta(days=30),
        financeurs=[etat, ville],
    )
    campagne.objectifs.set([ObjectifFactory(pilier=PilierFactory(contrat=campagne.contrat))])
    campagne.pieces_requises.set([TypePieceFactory(code="statuts", libelle="Statuts")])
    return campagne, etat


def _surveiller(page: Page) -> list[str]:
    """Console errors mentioning the policy, plus the violations the page itself saw."""
    erreurs: list[str] = []
    page.add_init_script(ECOUTE_CSP)
    page.on(
        "console",
        lambda m: erreurs.append(m.text) if m.type == "error" and "Content Security Policy" in m.text else None,
    )
    return erreurs


def _sans_violation(page: Page, erreurs: list[str]) -> None:
    violations = page.evaluate("window.__violations")
    assert (violations, erreurs) == ([], []), page.url


def test_porteur_pages_and_htmx_work_under_the_policy(page: Page):
    campagne, _etat = _campagne()
    membre = MembreFactory()
    demande = demande_complete(membre=membre, campagne=campagne)
    erreurs = _surveiller(page)
    connecter(page, membre.user.email)
    _sans_violation(page, erreurs)

    for url in (
        "/espace/association/",
        f"/association/{membre.porteur_id}/",
        f"/association/{membre.porteur_id}/pieces/",
        f"/demandes/{demande.pk}/",
        f"/demandes/{demande.pk}/etapes/public/",
    ):
        reponse = page.goto(url)
        assert reponse.status == 200 and "script-src 'self'" in reponse.headers["content-security-policy"]
        _sans_violation(page, erreurs)

    # htmx: typing an amount recomputes the totals on the server and swaps them in, with the CSRF header.
    page.goto(f"/demandes/{demande.pk}/etapes/budget/")
    totaux = page.locator("#totaux-budget")
    expect(totaux.locator("#total-charges")).to_have_text(f"10{NBSP}000,00{NBSP}€")
    with page.expect_response(re.compile(r"/budget/totaux/$")) as attente:
        page.get_by_label("60 – Achats").fill("250")
    assert attente.value.status == 200
    expect(totaux.locator("#total-charges")).to_have_text(f"10{NBSP}250,00{NBSP}€")
    expect(totaux.get_by_text(re.compile("Budget non équilibré"))).to_be_visible()
    # The indicator styles come from our stylesheet, not from a <style> htmx would have injected.
    assert page.locator("style").count() == 0
    _sans_violation(page, erreurs)


def test_staff_pages_work_under_the_policy(page: Page):
    campagne, etat = _campagne()
    membre = MembreFactory()
    demande = demande_complete(membre=membre, campagne=campagne)
    demande_deposer(
        demande=demande,
        user=membre.user,
        nom="Aïcha Durand",
        qualite="Présidente",
        engagement_republicain=True,
        exactitude=True,
    )
    instructeur = agent(Role.INSTRUCTEUR, financeurs=[etat], mfa=False)
    secret = generate_totp_secret()
    TOTP.activate(instructeur, secret)

    erreurs = _surveiller(page)
    connecter(page, instructeur.email, secret)  # the TOTP form included
    _sans_violation(page, erreurs)
    for url in ("/espace/instruction/", "/instruction/", f"/instruction/{demande.pk}/", "/compte/2fa/"):
        reponse = page.goto(url)
        assert reponse.status == 200, url
        _sans_violation(page, erreurs)
    expect(page.locator("meta[name='htmx-config']")).to_have_count(1)
