"""Security headers and sessions: CSP without inline scripts, htmx under the CSP, CSRF, cookies, downloads."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import lxml.html
import pytest
from django.http import FileResponse, HttpResponse
from django.test import Client
from django.urls import reverse

from subventions.comptes.enums import Role
from subventions.securite import TelechargementsMiddleware
from tests.factories import DEFAULT_PASSWORD, MembreFactory, PieceFactory, UserFactory, agent, demande_complete

pytestmark = pytest.mark.django_db

ROOT = Path(__file__).resolve().parent.parent.parent
# <script> elements the browser does not run (json_script, allauth's data blocks): CSP does not apply to them.
TYPES_DONNEES = {"application/json", "application/ld+json"}


def _directives(entete: str) -> dict[str, list[str]]:
    directives = {}
    for morceau in entete.split(";"):
        mots = morceau.split()
        if mots:
            directives[mots[0]] = mots[1:]
    return directives


def _defauts_inline(html: str) -> list[str]:
    """What the CSP would block or what would need 'unsafe-inline' for scripts: inline scripts, on…= handlers,
    javascript: URLs, <style> elements."""
    arbre = lxml.html.fromstring(html)
    defauts = []
    for script in arbre.iter("script"):
        if not script.get("src") and (script.get("type") or "").lower() not in TYPES_DONNEES:
            defauts.append(f"<script> en ligne : {(script.text or '')[:60]!r}")
    for element in arbre.iter():
        if not isinstance(element.tag, str):
            continue
        for nom, valeur in element.attrib.items():
            if nom.lower().startswith("on"):
                defauts.append(f"<{element.tag} {nom}=…>")
            if nom.lower() in {"href", "src", "action", "formaction"} and valeur.strip().lower().startswith(
                "javascript:"
            ):
                defauts.append(f"<{element.tag} {nom}={valeur[:40]}>")
    defauts += [f"<style> : {(s.text or '')[:60]!r}" for s in arbre.iter("style")]
    return defauts


def _verifier_page(reponse) -> None:
    assert reponse.status_code == 200, reponse
    csp = _directives(reponse["Content-Security-Policy"])
    assert csp["script-src"] == ["'self'"]
    html = reponse.content.decode()
    assert _defauts_inline(html) == [], reponse.request["PATH_INFO"]
    meta = lxml.html.fromstring(html).xpath("//meta[@name='htmx-config']")
    assert meta, "htmx-config absent"
    config = json.loads(meta[0].get("content"))
    assert config["includeIndicatorStyles"] is False and config["allowEval"] is False


def test_the_policy_header_forbids_inline_scripts_framing_and_foreign_sources(client):
    reponse = client.get(reverse("accueil"))
    csp = _directives(reponse["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]
    assert "'unsafe-inline'" not in csp["script-src"] + csp["style-src"] + csp["style-src-elem"]
    assert "'unsafe-eval'" not in " ".join(sum(csp.values(), []))
    assert csp["img-src"] == ["'self'", "data:"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert csp["base-uri"] == ["'self'"]
    assert csp["object-src"] == ["'none'"]
    assert reponse["X-Frame-Options"] == "DENY"
    assert reponse["X-Content-Type-Options"] == "nosniff"
    assert reponse["Referrer-Policy"] == "same-origin"


def test_detector_finds_what_the_csp_would_block():
    """The page check below is only worth something if it sees an inline script, a handler and a <style>."""
    html = (
        '<html><head><style>a{}</style><script>alert(1)</script><script type="application/json">{}</script>'
        '</head><body><a href="javascript:x()">x</a><button onclick="x()">b</button></body></html>'
    )
    assert len(_defauts_inline(html)) == 4


def test_anonymous_pages_have_no_inline_script(client):
    for nom in ("accueil", "account_login", "account_signup", "account_reset_password"):
        _verifier_page(client.get(reverse(nom)))


def test_association_pages_have_no_inline_script(client):
    demande = demande_complete()
    membre = demande.porteur.membres.get()
    client.force_login(membre.user)
    pages = [
        reverse("espace_association"),
        reverse("associations:porteur_detail", args=[demande.porteur_id]),
        reverse("associations:coffre", args=[demande.porteur_id]),
        reverse("associations:membres", args=[demande.porteur_id]),
        reverse("demandes:liste"),
        reverse("demandes:detail", args=[demande.pk]),
        reverse("demandes:etape", args=[demande.pk, "budget"]),
        reverse("demandes:etape", args=[demande.pk, "public"]),
        reverse("mfa_index"),
        reverse("account_email"),
    ]
    for url in pages:
        _verifier_page(client.get(url))


@pytest.mark.parametrize(
    ("role", "espaces"),
    [
        (Role.INSTRUCTEUR, ["espace_instruction", "instruction:file"]),
        (Role.COMITE, ["espace_comite"]),
        (Role.SIGNATAIRE, ["espace_signature"]),
        (Role.FINANCE, ["espace_finance"]),
        (Role.ADMINISTRATEUR, ["espace_administration"]),
    ],
)
def test_staff_spaces_have_no_inline_script(client, role, espaces):
    client.force_login(agent(role, tous=True))
    for nom in espaces:
        _verifier_page(client.get(reverse(nom)))


def _jeton_htmx(html: str) -> str:
    """The CSRF token htmx sends: the X-CSRFToken of <body hx-headers> (an attribute, allowed by the CSP)."""
    corps = lxml.html.fromstring(html).find("body")
    return json.loads(corps.get("hx-headers"))["X-CSRFToken"]


def test_csrf_is_enforced_on_forms_and_on_htmx_requests():
    demande = demande_complete()
    membre = demande.porteur.membres.get()
    navigateur = Client(enforce_csrf_checks=True)
    navigateur.force_login(membre.user)
    page = navigateur.get(reverse("demandes:etape", args=[demande.pk, "budget"]))
    jeton = _jeton_htmx(page.content.decode())
    totaux = reverse("demandes:budget_totaux", args=[demande.pk])
    donnees = {"c60": "100,00"}

    # An htmx POST without the header is refused, with it it answers the partial.
    assert navigateur.post(totaux, donnees, headers={"HX-Request": "true"}).status_code == 403
    reponse = navigateur.post(totaux, donnees, headers={"HX-Request": "true", "X-CSRFToken": jeton})
    assert reponse.status_code == 200 and 'id="total-charges"' in reponse.content.decode()
    # A form POST (saving the step, logging out) without the token is refused too.
    etape = reverse("demandes:etape", args=[demande.pk, "budget"])
    assert navigateur.post(etape, donnees).status_code == 403
    assert navigateur.post(reverse("account_logout")).status_code == 403
    assert navigateur.get(reverse("espace_association")).status_code == 200  # still logged in


def test_every_post_form_of_a_page_carries_the_csrf_token(client):
    demande = demande_complete()
    client.force_login(demande.porteur.membres.get().user)
    for url in (
        reverse("associations:coffre", args=[demande.porteur_id]),
        reverse("demandes:etape", args=[demande.pk, "budget"]),
    ):
        arbre = lxml.html.fromstring(client.get(url).content.decode())
        formulaires = [f for f in arbre.iter("form") if (f.get("method") or "").lower() == "post"]
        assert formulaires
        for formulaire in formulaires:
            assert formulaire.xpath(".//input[@name='csrfmiddlewaretoken']"), (url, formulaire.get("action"))


def _reglages_production() -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SUBVENTIONS_PROFILE"))}
    environ.update(
        SUBVENTIONS_PROFILE="production",
        DJANGO_SECRET_KEY="k" * 20 + "-une-clé-longue-et-aléatoire-pour-le-test-0123456789",
        DJANGO_ALLOWED_HOSTS="subventions.exemple.fr",
        DJANGO_SETTINGS_MODULE="subventions.settings",
    )
    noms = [
        "SESSION_COOKIE_SECURE",
        "SESSION_COOKIE_HTTPONLY",
        "SESSION_COOKIE_NAME",
        "SESSION_COOKIE_SAMESITE",
        "CSRF_COOKIE_SECURE",
        "CSRF_COOKIE_HTTPONLY",
        "CSRF_COOKIE_NAME",
        "CSRF_COOKIE_SAMESITE",
        "SECURE_HSTS_SECONDS",
        "SECURE_HSTS_INCLUDE_SUBDOMAINS",
        "SECURE_SSL_REDIRECT",
        "X_FRAME_OPTIONS",
        "DEBUG",
    ]
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        f"print(json.dumps({{n: getattr(settings, n) for n in {noms!r}}}))"
    )
    resultat = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )
    assert resultat.returncode == 0, resultat.stderr
    return json.loads(resultat.stdout.strip().splitlines()[-1])


def test_production_profile_cookies_are_secure_and_httponly(client, settings):
    production = _reglages_production()
    assert production["DEBUG"] is False
    assert production["SECURE_SSL_REDIRECT"] is True
    assert production["SECURE_HSTS_SECONDS"] >= 365 * 24 * 3600 and production["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    assert production["X_FRAME_OPTIONS"] == "DENY"
    assert production["SESSION_COOKIE_NAME"].startswith("__Host-")
    assert production["CSRF_COOKIE_NAME"].startswith("__Host-")

    # The cookies as the browser receives them, with the production cookie settings.
    for nom in [n for n in production if n.startswith(("SESSION_COOKIE", "CSRF_COOKIE"))]:
        setattr(settings, nom, production[nom])
    settings.SECURE_HSTS_SECONDS = production["SECURE_HSTS_SECONDS"]
    user = UserFactory()
    page = client.get(reverse("account_login"), secure=True)
    assert page["Strict-Transport-Security"].startswith("max-age=31536000")
    reponse = client.post(reverse("account_login"), {"login": user.email, "password": DEFAULT_PASSWORD}, secure=True)
    assert reponse.status_code == 302, reponse.content.decode()[:500]
    session = reponse.cookies[production["SESSION_COOKIE_NAME"]]
    assert session["secure"] and session["httponly"] and session["samesite"] == "Lax"
    assert session["path"] == "/" and not session["domain"]  # what the __Host- prefix demands
    csrf = page.cookies[production["CSRF_COOKIE_NAME"]]
    assert csrf["secure"] and csrf["httponly"]


def test_a_file_download_is_an_attachment_that_is_not_sniffed(client):
    piece = PieceFactory(porteur=MembreFactory().porteur)
    membre = MembreFactory(porteur=piece.porteur)
    client.force_login(membre.user)
    reponse = client.get(reverse("associations:piece_telecharger", args=[piece.porteur_id, piece.pk]))
    assert reponse.status_code == 200
    assert reponse["Content-Disposition"].startswith("attachment;")
    assert reponse["X-Content-Type-Options"] == "nosniff"
    assert reponse["Content-Security-Policy"] == "default-src 'none'; sandbox"
    assert "no-store" in reponse["Cache-Control"]


@pytest.mark.parametrize(
    ("reponse", "disposition"),
    [
        (lambda: FileResponse(iter([b"%PDF-1.7"]), content_type="application/pdf"), "attachment"),
        (lambda: HttpResponse(b"a;b", content_type="text/csv"), "attachment"),
        (
            lambda: _avec(HttpResponse(b"x", content_type="image/svg+xml"), 'inline; filename="x.svg"'),
            'attachment; filename="x.svg"',
        ),
        (
            lambda: _avec(HttpResponse(b"PK", content_type="application/vnd.ms-excel"), 'attachment; filename="e"'),
            'attachment; filename="e"',
        ),
    ],
)
def test_the_middleware_forces_attachment_on_any_file_response(rf, reponse, disposition):
    """Central guard: a download view that forgets the headers (or asks for inline) still sends an attachment."""
    sortie = TelechargementsMiddleware(lambda request: reponse())(rf.get("/"))
    assert sortie["Content-Disposition"] == disposition
    assert sortie["X-Content-Type-Options"] == "nosniff"
    assert sortie["Content-Security-Policy"] == "default-src 'none'; sandbox"


def test_the_middleware_leaves_pages_and_fragments_alone(rf):
    for type_contenu in ("text/html; charset=utf-8", "application/json"):
        sortie = TelechargementsMiddleware(lambda request, t=type_contenu: HttpResponse("ok", content_type=t))(
            rf.get("/")
        )
        assert "Content-Disposition" not in sortie and "Content-Security-Policy" not in sortie


def _avec(reponse: HttpResponse, disposition: str) -> HttpResponse:
    reponse["Content-Disposition"] = disposition
    return reponse


def test_templates_have_no_inline_script_nor_handler():
    """Source check of every template of the project (pages not rendered above included)."""
    fautifs = []
    for chemin in (ROOT / "templates").rglob("*.html"):
        # Template tags and comments are not HTML ({% if onglet == … %} is no on…= handler).
        texte = re.sub(r"\{%.*?%\}|\{#.*?#\}", "", chemin.read_text())
        for ligne, contenu in enumerate(texte.splitlines(), 1):
            if re.search(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)", contenu):
                fautifs.append(f"{chemin.relative_to(ROOT)}:{ligne} <script> en ligne")
            if re.search(r"<[a-z][^>]*\son[a-z]+\s*=", contenu) or "<style" in contenu:
                fautifs.append(f"{chemin.relative_to(ROOT)}:{ligne}")
    assert fautifs == []
