"""In Chromium, after a séance: the instructeur sends the porteur's convention (built by the task the close set off),
the représentant légal reads it, signs online after typing the password again, and the État's signataire
countersigns: the convention is executory. axe-core checks the staff list and the porteur's document page."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from subventions.comites import services as comites
from subventions.comptes.enums import Role
from subventions.conventions.models import ActeAttribution, Signature
from tests.comites.aides import campagne_de_test, instruite, seance_de_test, secretaire
from tests.e2e.conftest import connecter, verifier_accessibilite
from tests.factories import DEFAULT_PASSWORD, MembreFactory, PorteurFactory, UserFactory, agent

pytestmark = pytest.mark.django_db(transaction=True)

ACTIONS = ("Atelier vélo solidaire de Félix-Pyat", "Cœur de quartier : fête « Les Flamants »")


def _signer(page: Page, nom: str, qualite: str) -> None:
    page.get_by_label("Nom et prénom du signataire").fill(nom)
    page.get_by_label("Qualité").fill(qualite)
    page.get_by_label("J'ai lu le document et je le signe").check()
    page.get_by_role("button", name="Signer").click()
    # Signing asks for the password again (allauth's reauthentication), then carries the signature on.
    page.get_by_label("Mot de passe").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name=re.compile("Confirmer|Confirm")).click()
    expect(page.get_by_text("Signature enregistrée.")).to_be_visible()


def test_the_porteur_signs_and_the_signataire_countersigns(navigateur, live_server, tmp_path):
    campagne, etat, _ville, _pilier = campagne_de_test()
    etat.toujours_convention = True
    etat.save()
    porteur = PorteurFactory(nom="Vélos et quartiers")
    representant = UserFactory(email="presidente@velos.test")
    MembreFactory(porteur=porteur, user=representant)
    comite = secretaire(etat)
    demandes = [instruite(campagne, porteur=porteur, intitule=i) for i in ACTIONS]
    seance = seance_de_test(campagne, comite, financeurs=[etat])
    comites.odj_ajouter(seance=seance, user=comite, demandes=demandes)
    comites.decider_en_bloc(seance=seance, user=comite)
    comites.seance_cloturer(seance=seance, user=comite)  # on commit: the task builds and renders the convention
    acte = ActeAttribution.objects.get(porteur=porteur, financeur=etat)
    assert acte.statut == "generee"

    instructeur = agent(Role.INSTRUCTEUR, financeurs=[etat], mfa=False)
    signataire = agent(Role.SIGNATAIRE, financeurs=[etat], mfa=False)
    secrets = {}
    for user in (instructeur, signataire):
        secrets[user.email] = generate_totp_secret()
        TOTP.activate(user, secrets[user.email])

    def contexte() -> Page:
        ctx = navigateur.new_context(base_url=live_server.url, locale="fr-FR", accept_downloads=True)
        ctx.set_default_timeout(15000)
        return ctx.new_page()

    # The instructeur sends it for signature from the list (bulk form).
    instr = contexte()
    connecter(instr, instructeur.email, secrets[instructeur.email])
    instr.goto("/conventions/?statut=generee")
    verifier_accessibilite(instr)
    instr.get_by_label(f"Sélectionner {acte.numero}").check()
    instr.get_by_role("button", name="Envoyer pour signature les conventions cochées").click()
    expect(instr.get_by_text("1 document(s) envoyé(s) pour signature.")).to_be_visible()

    # The représentant légal opens it from the structure's tab, reads the PDF and signs.
    asso = contexte()
    connecter(asso, representant.email)
    asso.goto(f"/association/{porteur.pk}/")
    asso.get_by_role("link", name="Conventions et arrêtés").click()
    asso.get_by_role("link", name=acte.numero).click()
    verifier_accessibilite(asso)
    with asso.expect_download() as telechargement:
        asso.get_by_role("link", name=re.compile("Télécharger le document")).click()
    chemin = Path(tmp_path) / "convention.pdf"
    telechargement.value.save_as(chemin)
    texte = " ".join(" ".join((p.extract_text() or "") for p in PdfReader(chemin).pages).split())
    for intitule in ACTIONS:
        assert intitule in texte
    _signer(asso, "Aïcha Durand", "Présidente")
    expect(asso.locator("#statut-acte")).to_have_text("Signée par le porteur")

    # The signataire countersigns: executory.
    sign = contexte()
    connecter(sign, signataire.email, secrets[signataire.email])
    sign.goto("/conventions/?statut=signee_porteur")
    sign.get_by_role("link", name=acte.numero).click()
    _signer(sign, "Claire Bonnet", "Préfète déléguée")
    expect(sign.locator("#statut-acte")).to_have_text("Signée (exécutoire)")

    acte.refresh_from_db()
    assert acte.statut == "signee"
    assert list(Signature.objects.filter(acte=acte).order_by("signe_le").values_list("partie", "nom")) == [
        ("porteur", "Aïcha Durand"),
        ("financeur", "Claire Bonnet"),
    ]
