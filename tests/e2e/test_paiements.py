"""In Chromium: finance staff of the État create a liste of the due advances, download its SEPA file (valid against the
pain.001.001.03 XSD), import the bank's return built from it, and see the payments paid. axe-core checks each page.

Only the starting point is seeded (the État with its account, two signed conventions with their advance due, the
finance account); everything else goes through the pages, logging in with the real form and a TOTP code."""

from __future__ import annotations

import csv
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone
from lxml import etree
from playwright.sync_api import Page, expect

from subventions.comptes.enums import Role
from subventions.paiements.models import ListePaiements, Paiement
from tests.e2e.conftest import connecter, verifier_accessibilite
from tests.factories import PorteurFactory, agent
from tests.paiements.aides import acte, etat
from tests.paiements.test_exports import NS, XSD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_finance_exports_sepa_imports_the_return_and_sees_payments_paid(page: Page, tmp_path):
    financeur = etat()
    actes = [
        acte(financeur, "12000.00", porteur=PorteurFactory(nom="Vélos et quartiers")),
        acte(financeur, "8000.00", porteur=PorteurFactory(nom="Théâtre de la Joliette")),
    ]
    user = agent(Role.FINANCE, financeurs=[financeur], mfa=False)
    secret = generate_totp_secret()
    TOTP.activate(user, secret)

    connecter(page, user.email, secret)
    page.goto("/espace/finance/")
    page.get_by_role("link", name="Tableau de bord des paiements").click()
    expect(page.get_by_role("heading", name="Paiements", level=1)).to_be_visible()
    verifier_accessibilite(page)
    page.get_by_role("link", name="Nouvelle liste de paiements").click()
    expect(page.locator("#candidats")).to_contain_text("Vélos et quartiers")
    expect(page.locator("#candidats")).to_contain_text("Théâtre de la Joliette")
    verifier_accessibilite(page)
    page.get_by_role("button", name="Créer la liste avec les paiements cochés").click()
    liste = ListePaiements.objects.get()
    expect(page.get_by_text(f"Liste {liste.numero} créée : 2 paiement(s).")).to_be_visible()
    verifier_accessibilite(page)

    with page.expect_download() as telechargement:
        page.get_by_role("link", name="Télécharger — Virement SEPA (pain.001.001.03)").click()
    fichier = tmp_path / "virements.xml"
    telechargement.value.save_as(fichier)
    document = etree.parse(str(fichier))
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(document)
    assert Decimal(document.findtext("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", namespaces=NS)) == Decimal("10000.00")
    references = [e.text for e in document.iterfind(".//p:EndToEndId", NS)]

    retour = tmp_path / "retour-banque.csv"
    with retour.open("w", newline="", encoding="utf-8") as f:
        ecrivain = csv.writer(f, delimiter=";")
        ecrivain.writerow(["Référence", "Date", "Statut"])
        for reference in references:
            ecrivain.writerow([reference, timezone.localdate().strftime("%d/%m/%Y"), "payé"])
    page.goto("/paiements/")
    page.get_by_role("link", name="Importer un retour de paiement").click()
    page.get_by_label("Fichier de retour (CSV)").set_input_files(str(retour))
    page.get_by_role("button", name="Importer").click()
    expect(page.get_by_text("Retour appliqué : 2 payé(s), 0 rejeté(s), 0 déjà enregistré(s).")).to_be_visible()
    verifier_accessibilite(page)

    page.goto(f"/paiements/listes/{liste.pk}/")
    expect(page.locator("#lignes .badge", has_text="Payé")).to_have_count(2)
    assert set(
        Paiement.objects.filter(echeancier__acte__in=actes, nature="avance").values_list("statut", flat=True)
    ) == {"paye"}
