"""In Chromium, a request from deposit to decision: the État instructeur asks for complements, the porteur completes
and deposits again, the instructeur declares it recevable and gives a favorable avis, the comité secretary builds
the ordre du jour, decides in bulk and closes the séance, and the porteur downloads its decision letter.

Only the starting point is seeded in the database (référentiel, enveloppes, accounts, one deposited demande). Each
person uses their own browser context and logs in through the real login form; the staff accounts then type the
TOTP code computed from the secret activated here. axe-core checks the queue, the staff demande page, the séance
page and the porteur's home.
"""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from subventions.comptes.enums import Role
from subventions.demandes.models import Demande
from subventions.demandes.services import demande_deposer
from tests.e2e.conftest import connecter, verifier_accessibilite
from tests.factories import (
    CampagneFactory,
    EnveloppeFactory,
    FinanceurFactory,
    MembreFactory,
    ObjectifFactory,
    PilierFactory,
    PorteurFactory,
    TypePieceFactory,
    UserFactory,
    agent,
    demande_complete,
)

pytestmark = pytest.mark.django_db(transaction=True)

INTITULE = "Atelier vélo solidaire de Félix-Pyat"
PORTEUR = "Vélos et quartiers"
NOUVELLE_DESCRIPTION = "Trois ateliers par semaine, dont un réservé aux femmes, et une bourse aux vélos en mai."
MONTANT_PROPOSE = "7 500"
MONTANT_ACCORDE = "7 500,00 €"


def _monde() -> dict:
    etat = FinanceurFactory(code="etat", nom="État")
    ville = FinanceurFactory(code="ville-marseille", nom="Ville de Marseille")
    maintenant = timezone.now()
    campagne = CampagneFactory(
        titre="Appel à projets du contrat de ville",
        exercice=timezone.localdate().year + 1,
        ouverture=maintenant - timedelta(days=10),
        cloture=maintenant + timedelta(days=30),
        financeurs=[etat, ville],
    )
    pilier = PilierFactory(contrat=campagne.contrat, numero=1, libelle="Cohésion sociale")
    campagne.objectifs.set([ObjectifFactory(pilier=pilier, libelle="Mobilité des habitants")])
    campagne.pieces_requises.set([TypePieceFactory(code="statuts", libelle="Statuts")])
    EnveloppeFactory(campagne=campagne, financeur=etat, montant=Decimal("100000.00"))
    EnveloppeFactory(campagne=campagne, financeur=ville, montant=Decimal("50000.00"))

    representant = MembreFactory(porteur=PorteurFactory(nom=PORTEUR), user=UserFactory(email="presidente@velos.test"))
    demande = demande_complete(membre=representant, campagne=campagne, intitule=INTITULE)
    demande_deposer(
        demande=demande,
        user=representant.user,
        nom="Aïcha Durand",
        qualite="Présidente",
        engagement_republicain=True,
        exactitude=True,
    )
    instructeur = agent(Role.INSTRUCTEUR, financeurs=[etat], mfa=False)
    comite = agent(Role.COMITE, financeurs=[etat, ville], mfa=False)
    secrets = {}
    for user in (instructeur, comite):
        secrets[user.email] = generate_totp_secret()
        TOTP.activate(user, secrets[user.email])
    return {
        "demande": Demande.objects.get(pk=demande.pk),
        "campagne": campagne,
        "representant": representant.user,
        "instructeur": instructeur,
        "comite": comite,
        "secrets": secrets,
    }


@pytest.fixture
def nouvelle_page(navigateur, live_server):
    """Pages in contexts of their own (another person, other cookies), with the settings of the `page` fixture."""
    contextes = []

    def ouvrir() -> Page:
        context = navigateur.new_context(base_url=live_server.url, locale="fr-FR", accept_downloads=True)
        context.set_default_timeout(15000)
        contextes.append(context)
        return context.new_page()

    yield ouvrir
    for context in contextes:
        context.close()


def _texte_pdf(chemin: Path) -> str:
    """The letter's text on one line: table cells wrap long titles, and amounts use (narrow) no-break spaces."""
    texte = " ".join(p.extract_text() or "" for p in PdfReader(chemin).pages)
    return " ".join(re.sub(r"[\u00a0\u202f]", " ", texte).split())


def test_from_complements_to_the_decision_letter(page: Page, nouvelle_page, tmp_path):
    monde = _monde()
    demande = monde["demande"]
    numero = demande.numero

    # --- The État instructeur: queue, demande, request for complements.
    instr = page
    connecter(instr, monde["instructeur"].email, monde["secrets"][monde["instructeur"].email])
    instr.goto("/")
    instr.get_by_role("link", name="Instruction", exact=True).first.click()
    instr.get_by_role("link", name="File d'instruction").first.click()
    expect(instr.get_by_role("heading", name="File d'instruction")).to_be_visible()
    verifier_accessibilite(instr)
    instr.get_by_role("link", name=numero).click()
    expect(instr.get_by_role("heading", name=INTITULE, level=1)).to_be_visible()
    verifier_accessibilite(instr)
    instr.get_by_label("Ce qui manque (message envoyé au porteur)").fill(
        "Merci de détailler le nombre d'ateliers par semaine et le public féminin."
    )
    instr.get_by_label("Compléments attendus pour le").fill((timezone.localdate() + timedelta(days=15)).isoformat())
    instr.get_by_role("button", name="Demander des compléments").click()
    expect(instr.get_by_text("Les compléments sont demandés au porteur.")).to_be_visible()
    expect(instr.locator("#statut")).to_have_text("À compléter")

    # --- The porteur, in its own browser: "À compléter", the action step, a new deposit.
    porteur = nouvelle_page()
    connecter(porteur, monde["representant"].email)
    porteur.goto("/")
    expect(porteur.get_by_text("À compléter").first).to_be_visible()
    porteur.get_by_role("link", name=INTITULE).first.click()
    expect(porteur.get_by_text("Merci de détailler le nombre d'ateliers").first).to_be_visible()
    porteur.goto(f"/demandes/{demande.pk}/etapes/action/")
    porteur.get_by_label("Description de l'action").fill(NOUVELLE_DESCRIPTION)
    porteur.get_by_role("button", name="Enregistrer et continuer").click()
    expect(porteur).to_have_url(re.compile(rf"/demandes/{demande.pk}/etapes/public/$"))
    porteur.goto(f"/demandes/{demande.pk}/etapes/depot/")
    porteur.get_by_label("Nom et prénom du signataire").fill("Aïcha Durand")
    porteur.get_by_label("Je déclare que la structure souscrit au contrat d'engagement républicain").check()
    porteur.get_by_label("Je certifie exactes les informations du dossier").check()
    porteur.get_by_role("button", name="Déposer la demande").click()
    expect(porteur.get_by_text(f"Votre demande complétée (dossier n° {numero}) est renvoyée")).to_be_visible()
    expect(porteur.get_by_text("Déposée", exact=True)).to_be_visible()
    assert Demande.objects.get(pk=demande.pk).description == NOUVELLE_DESCRIPTION
    porteur.get_by_label("Votre message au service instructeur").fill("La description est complétée.")
    porteur.get_by_role("button", name="Envoyer le message").click()
    expect(porteur.get_by_text("Votre message est envoyé au service instructeur.")).to_be_visible()
    verifier_accessibilite(porteur)

    # --- The instructeur: recevable, then the État's favorable avis with an amount.
    instr.reload()
    expect(instr.locator("#statut")).to_have_text("Déposée")
    expect(instr.locator("#messages")).to_contain_text("La description est complétée.")
    instr.get_by_role("button", name="Recevable", exact=True).click()
    expect(instr.get_by_text("La demande est recevable : l'instruction commence.")).to_be_visible()
    ligne_etat = demande.lignes_financement.get(financeur__code="etat")
    carte = instr.locator(f"#ligne-{ligne_etat.pk}")
    carte.get_by_role("radio", name="Favorable", exact=True).check()
    carte.get_by_label("Montant proposé (€)").fill(MONTANT_PROPOSE)
    carte.get_by_label("Motivation").fill("Action utile, public bien ciblé.")
    carte.get_by_role("button", name="Enregistrer l'avis").click()
    expect(instr.get_by_text("L'avis de État est enregistré.")).to_be_visible()
    expect(instr.locator("#statut")).to_have_text("Instruite")

    # --- The comité secretary: séance, ordre du jour, decisions in bulk, closing.
    comite = nouvelle_page()
    connecter(comite, monde["comite"].email, monde["secrets"][monde["comite"].email])
    comite.goto("/")
    comite.get_by_role("link", name="Comité", exact=True).first.click()
    comite.get_by_role("link", name=f"Séances du comité — {monde['campagne'].titre}").click()
    date_seance = timezone.localdate()
    comite.get_by_label("Date", exact=True).fill(date_seance.isoformat())
    comite.get_by_label("Membres présents").fill("Mme Martin (préfecture), M. Diallo (Ville)")
    comite.get_by_role("button", name="Créer la séance").click()
    expect(comite.get_by_role("heading", level=1)).to_contain_text(date_seance.strftime("%d/%m/%Y"))
    comite.get_by_label(numero).first.check()
    comite.get_by_role("button", name="Inscrire à l'ordre du jour").click()
    expect(comite.locator("#ordre-du-jour")).to_contain_text(INTITULE)
    verifier_accessibilite(comite)
    comite.get_by_role("button", name="Accepter toutes les propositions").click()
    expect(comite.locator("#ordre-du-jour")).to_contain_text(MONTANT_ACCORDE.replace(" ", "\u00a0"))
    comite.get_by_role("button", name="Clore la séance").click()
    expect(comite.get_by_text("Séance close").first).to_be_visible()
    expect(comite.get_by_role("link", name="Télécharger le procès-verbal")).to_be_visible()

    # --- The porteur: "Validée" and the decision letter.
    porteur.goto("/")
    expect(porteur.get_by_text("Validée").first).to_be_visible()
    verifier_accessibilite(porteur)
    lien = porteur.get_by_role("link", name=f"Lettre de décision du comité du {date_seance:%d/%m/%Y}")
    with porteur.expect_download() as telechargement:
        lien.click()
    chemin = tmp_path / telechargement.value.suggested_filename
    telechargement.value.save_as(chemin)
    texte = _texte_pdf(chemin)
    assert chemin.read_bytes().startswith(b"%PDF")
    for attendu in (INTITULE, MONTANT_ACCORDE):
        assert attendu in texte, f"« {attendu} » absent de la lettre :\n{texte}"
