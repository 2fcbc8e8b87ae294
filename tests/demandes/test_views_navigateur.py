"""In Chromium: the request form works with htmx (live budget totals, save and continue with the address bar
following, indicator rows added and removed, errors swapped in) and its pages pass axe-core."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client

from subventions.demandes.etapes import NOMS_ETAPES
from tests.demandes.aides_vues import brancher_recepisse, url_etape
from tests.factories import demande_complete

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CHROMIUM = Path(os.environ.get("SUBVENTIONS_CHROMIUM", "/usr/bin/chromium"))
# Playwright's sync API runs an event loop in this thread; the ORM calls of the test itself are safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def navigateur(live_server, monkeypatch):
    if not CHROMIUM.exists():
        pytest.skip(f"Chromium introuvable ({CHROMIUM}).")
    from playwright.sync_api import sync_playwright

    brancher_recepisse(monkeypatch)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        context = browser.new_context(base_url=live_server.url, locale="fr-FR", accept_downloads=True)
        context.set_default_timeout(15000)
        yield context
        browser.close()


def _connecter(context, user, live_server):
    client = Client()
    client.force_login(user)
    context.add_cookies([{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}])
    return context.new_page()


def _axe(page) -> None:
    from axe_playwright_python.sync_playwright import Axe

    graves = [v for v in Axe().run(page).response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not graves, [(v["id"], [n["target"] for n in v["nodes"]][:3]) for v in graves]


def test_request_form_in_the_browser(navigateur, live_server):
    demande = demande_complete()
    page = _connecter(navigateur, demande.cree_par, live_server)
    page.goto("/espace/association/")
    _axe(page)
    for etape in NOMS_ETAPES:
        page.goto(url_etape(demande, etape))
        _axe(page)

    # Live totals, computed by the server while typing.
    page.goto(url_etape(demande, "budget"))
    page.get_by_label("60 – Achats").fill("1 000,50")
    page.get_by_label("60 – Achats").blur()
    totaux = page.locator("#totaux-budget")
    totaux.get_by_text("Budget non équilibré : écart de 1\u00a0000,50\u00a0€.").wait_for()
    # A bad amount: the errors come back in place (htmx), with the summary.
    page.get_by_label("61 – Services extérieurs").fill("-3")
    page.get_by_role("button", name="Enregistrer et continuer").click()
    page.locator("#resume-erreurs").get_by_text("Le montant ne peut pas être négatif.").wait_for()
    _axe(page)
    # Fixed: saved, and the next step is shown with its address.
    page.get_by_label("61 – Services extérieurs").fill("")
    page.get_by_label("60 – Achats").fill("")
    page.get_by_role("button", name="Enregistrer et continuer").click()
    page.wait_for_url(f"**{url_etape(demande, 'pieces')}")
    page.get_by_text("« Budget prévisionnel » est enregistrée.").wait_for()

    # Indicator rows added and removed.
    page.goto(url_etape(demande, "objectifs"))
    page.get_by_role("button", name="Ajouter un indicateur").click()
    page.get_by_label("Indicateur 2", exact=True).fill("Familles touchées")
    page.get_by_label("Valeur cible de l'indicateur 2").fill("25")
    with page.expect_response(lambda r: r.request.method == "POST" and "/etapes/objectifs/" in r.url):
        page.get_by_role("button", name="Enregistrer", exact=True).click()
    assert list(demande.indicateurs.values_list("nom", flat=True)) == ["Participants réguliers", "Familles touchées"]
    with page.expect_response(lambda r: r.request.method == "POST" and "/etapes/objectifs/" in r.url):
        page.get_by_role("button", name="Retirer l'indicateur 1").click()
    assert list(demande.indicateurs.values_list("nom", flat=True)) == ["Familles touchées"]
    page.get_by_label("Indicateur 2", exact=True).wait_for(state="detached")

    # Deposit, then the récépissé.
    page.goto(url_etape(demande, "depot"))
    page.get_by_label("Je déclare que la structure").check()
    page.get_by_label("Je certifie exactes").check()
    page.get_by_role("button", name="Déposer la demande").click()
    page.wait_for_url(f"**/demandes/{demande.pk}/")
    _axe(page)
    with page.expect_download() as telechargement:
        page.get_by_role("link", name="Télécharger le récépissé de dépôt").click()
    assert telechargement.value.suggested_filename.startswith("recepisse-")
    page.goto("/demandes/")
    _axe(page)
