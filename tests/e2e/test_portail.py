"""In Chromium, what an association does on the portal, from nothing to a deposited request.

A new user signs up, confirms the email (the link is read from the outbox), registers the association, puts its
statuts and RIB in the vault, files a complete request on the open campagne step by step (htmx), deposits it and
downloads the récépissé, whose text is read with pypdf. axe-core checks every form page on the way.
Only the référentiel (the campagne, its financeurs, objectifs, QPVs and required pièces) is seeded in the database.
"""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect
from pypdf import PdfReader

from subventions.campagnes.models import Campagne
from subventions.demandes.etapes import LIBELLES_ETAPES, NOMS_ETAPES
from tests.e2e.conftest import verifier_accessibilite
from tests.factories import (
    CampagneFactory,
    ContratFactory,
    FinanceurFactory,
    ObjectifFactory,
    PilierFactory,
    QPVFactory,
    TerritoireFactory,
    TypePieceFactory,
    pdf_minimal,
    siret_valide,
)

EMAIL = "tresoriere@jardins-belle-de-mai.fr"
MOT_DE_PASSE = "Potager-partage-2024!"
PORTEUR = "Les Jardins partagés de la Belle de Mai"
INTITULE = "Potager pédagogique pour les familles du quartier"
IBAN = "FR7630001007941234567890185"
BIC = "BDFEFRPPCCT"
# The budget: charges 1 200,00 + 9 050,50 = produits 8 750,50 (État, line 74) + 1 500,00 (cotisations).
MONTANT_ETAT = "8 750,50"
NBSP = "\u00a0"
# The référentiel's usual pièces (data migration 0002_types_pieces; recreated after another test's flush).
STATUTS = "Statuts régulièrement déclarés"
RIB = "Relevé d'identité bancaire (RIB)"


def _campagne_ouverte() -> Campagne:
    """The référentiel an administrator would have set: an open campagne with two financeurs, an objectif of the
    contrat de ville, a territoire with its QPVs, and statuts and RIB as required pièces."""
    contrat = ContratFactory(nom="Contrat de ville de Marseille")
    etat = FinanceurFactory(code="etat", nom="État")
    ville = FinanceurFactory(code="ville-marseille", nom="Ville de Marseille")
    maintenant = timezone.now()
    campagne = CampagneFactory(
        contrat=contrat,
        exercice=timezone.localdate().year + 1,
        titre="Appel à projets du contrat de ville de Marseille",
        ouverture=maintenant - timedelta(days=10),
        cloture=maintenant + timedelta(days=30),
        financeurs=[etat, ville],
    )
    pilier = PilierFactory(contrat=contrat, code="P1", numero=1, libelle="Cohésion sociale")
    campagne.objectifs.set(
        [ObjectifFactory(pilier=pilier, code="1.1", libelle="Favoriser la réussite éducative et la parentalité")]
    )
    TerritoireFactory(
        contrat=contrat,
        nom="Grand Centre-Ville",
        qpvs=[
            QPVFactory(code="QP013901", nom="Belle de Mai"),
            QPVFactory(code="QP013902", nom="Saint-Mauront - National"),
        ],
    )
    campagne.pieces_requises.set(
        [
            TypePieceFactory(code="statuts", libelle=STATUTS),
            TypePieceFactory(code="rib", libelle=RIB),
        ]
    )
    return campagne


def _lien_de_confirmation(mailoutbox, email: str) -> str:
    """The path of the confirmation link sent to `email`: written in the outbox, then sent (eager task queue)."""
    from workflows.models import Courriel

    assert [c.statut for c in Courriel.objects.all() if email in c.destinataires] == ["envoye"]
    messages = [m for m in mailoutbox if email in m.to]
    assert len(messages) == 1, [m.subject for m in mailoutbox]
    return re.search(r"https?://[^/\s]+(/compte/confirm-email/\S+/)", messages[0].body).group(1)


def _texte_pdf(chemin: Path) -> str:
    texte = "\n".join(page.extract_text() for page in PdfReader(chemin).pages)
    # reportlab writes non-breaking spaces with the space glyph: compare with ordinary spaces.
    return re.sub(r"[\u00a0\u202f]", " ", texte)


def _champ(page: Page, libelle: str):
    """The field labelled exactly `libelle`, required (its label ends with an asterisk) or not."""
    return page.get_by_label(re.compile(rf"^{re.escape(libelle)}( \*)?$"))


def _enregistrer_et_continuer(page: Page, etape: str) -> None:
    """Saves the step: htmx swaps in the next one, whose heading, confirmation and address are awaited."""
    suivante = NOMS_ETAPES[NOMS_ETAPES.index(etape) + 1]
    page.get_by_role("button", name="Enregistrer et continuer").click()
    numero, libelle = NOMS_ETAPES.index(suivante) + 1, LIBELLES_ETAPES[suivante]
    expect(page.get_by_role("heading", name=f"Étape {numero} : {libelle}")).to_be_visible()
    expect(
        page.get_by_role("status").filter(has_text=f"« {LIBELLES_ETAPES[etape]} » est enregistrée.")
    ).to_be_visible()
    expect(page).to_have_url(re.compile(rf"/demandes/\d+/etapes/{suivante}/$"))


def _deposer_au_coffre(page: Page, type_piece: str, nom_fichier: str, contenu: bytes) -> None:
    page.get_by_label("Type de pièce").select_option(label=type_piece)
    page.get_by_label("Fichier").set_input_files(
        {"name": nom_fichier, "mimeType": "application/pdf", "buffer": contenu}
    )
    page.get_by_role("button", name="Déposer", exact=True).click()
    expect(page.get_by_text(f"« {nom_fichier} » est déposé dans le coffre-fort.")).to_be_visible()
    expect(page.get_by_role("rowheader", name=re.compile(re.escape(nom_fichier)))).to_be_visible()


@pytest.mark.django_db(transaction=True)
def test_a_new_association_signs_up_and_files_a_complete_request(page: Page, mailoutbox, tmp_path):
    campagne = _campagne_ouverte()
    exercice = campagne.exercice

    # --- Sign-up, then the confirmation link of the email.
    page.goto("/")
    page.get_by_role("link", name="Créer un compte association").click()
    verifier_accessibilite(page)
    page.get_by_label("Courriel").fill(EMAIL)
    _champ(page, "Mot de passe").fill(MOT_DE_PASSE)
    page.get_by_label("Mot de passe (confirmation)").fill(MOT_DE_PASSE)
    page.get_by_role("button", name="Création de compte").click()
    expect(page).to_have_url(re.compile(r"/compte/confirm-email/$"))  # « vérifiez votre adresse »

    page.goto(_lien_de_confirmation(mailoutbox, EMAIL))
    page.get_by_role("button", name="Confirmer").click()
    expect(page.get_by_role("link", name=EMAIL)).to_be_visible()  # logged in: the account link in the header

    # --- The association's record.
    page.get_by_role("link", name="Espace association").first.click()
    page.get_by_role("link", name="Créer ou rejoindre ma structure").click()
    expect(page.get_by_role("heading", name="Inscrire une structure")).to_be_visible()
    verifier_accessibilite(page)
    _champ(page, "Nom").fill(PORTEUR)
    _champ(page, "Sigle").fill("JPBM")
    _champ(page, "SIRET").fill(siret_valide(4321))
    page.get_by_label("Numéro RNA").fill("W133024680")
    page.get_by_label("Objet social").fill("Jardiner ensemble et transmettre le goût de la nature aux enfants.")
    page.get_by_label("Adresse du siège").fill("14 rue Loubon")
    _champ(page, "Code postal").fill("13003")
    _champ(page, "Commune").fill("Marseille")
    _champ(page, "Prénom du représentant légal").fill("Samia")
    _champ(page, "Nom du représentant légal").fill("Benali")
    page.get_by_label("Qualité (président·e…)").fill("Présidente")
    _champ(page, "Bénévoles").fill("12")
    _champ(page, "Adhérents").fill("85")
    _champ(page, "IBAN").fill(IBAN)
    _champ(page, "BIC").fill(BIC)
    page.get_by_role("button", name="Inscrire la structure").click()
    expect(page.get_by_text(f"La structure « {PORTEUR} » est inscrite")).to_be_visible()

    # --- The vault: statuts and RIB, real PDF bytes through the file chooser.
    page.get_by_role("link", name="Coffre-fort de pièces").click()
    verifier_accessibilite(page)
    _deposer_au_coffre(page, STATUTS, "statuts-jpbm.pdf", pdf_minimal("Statuts de l'association"))
    _deposer_au_coffre(page, RIB, "rib-jpbm.pdf", pdf_minimal(f"Relevé d'identité bancaire {IBAN}"))
    verifier_accessibilite(page)

    # --- Nouvelle demande on the open campagne.
    page.get_by_role("link", name="Espace association").first.click()
    page.get_by_role("link", name=f"Nouvelle demande — {campagne.titre}").first.click()
    verifier_accessibilite(page)
    page.get_by_label("Intitulé de l'action").fill(INTITULE)
    page.get_by_role("button", name="Créer la demande").click()

    # 1. Identification: prefilled from the porteur.
    expect(page.get_by_role("heading", name="Étape 1 : Identification de la structure")).to_be_visible()
    expect(_champ(page, "IBAN")).to_have_value(IBAN)
    verifier_accessibilite(page)
    _enregistrer_et_continuer(page, "identification")

    # 2. Nature.
    verifier_accessibilite(page)
    page.get_by_label("En numéraire (argent)").check()
    page.get_by_label("Première demande").check()
    page.get_by_label("Projet(s) / action(s)").check()
    page.get_by_label("Annuelle ou ponctuelle").check()
    _enregistrer_et_continuer(page, "nature")

    # 3. The action, with dates inside the exercice.
    verifier_accessibilite(page)
    expect(page.get_by_label("Intitulé de l'action")).to_have_value(INTITULE)
    page.get_by_label("Objectifs de l'action").fill("Faire jardiner parents et enfants ensemble, chaque semaine.")
    page.get_by_label("Description de l'action").fill(
        "Deux ateliers par semaine au jardin, une fête des récoltes en septembre, avec l'école du quartier."
    )
    page.get_by_label("Date de début").fill(date(exercice, 3, 1).isoformat())
    page.get_by_label("Date de fin").fill(date(exercice, 11, 30).isoformat())
    page.get_by_label("Bénévoles affectés").fill("6")
    _champ(page, "Salariés affectés").fill("1")
    page.get_by_label("Salariés affectés en ETPT").fill("0,5")
    _enregistrer_et_continuer(page, "action")

    # 4. Public and QPVs.
    verifier_accessibilite(page)
    page.get_by_label("Nombre de bénéficiaires").fill("60")
    page.get_by_label("Part du public résidant en quartier prioritaire (%)").fill("80")
    page.get_by_label("Âge minimum").fill("4")
    page.get_by_label("Âge maximum").fill("70")
    page.get_by_label("Public visé").fill("Familles du quartier, enfants de l'école Révolution.")
    page.get_by_label("QP013901 — Belle de Mai").check()
    page.get_by_label("QP013902 — Saint-Mauront - National").check()
    page.get_by_label("Territoire de projet").select_option(label="Grand Centre-Ville")
    page.get_by_label("Lieu(x) de réalisation").fill("Jardin partagé, 14 rue Loubon")
    _enregistrer_et_continuer(page, "public")

    # 5. Objectifs of the contrat de ville and one indicator.
    verifier_accessibilite(page)
    page.get_by_label("1.1 — Favoriser la réussite éducative et la parentalité").check()
    _champ(page, "Indicateur 1").fill("Familles participant régulièrement")
    page.get_by_label("Valeur cible de l'indicateur 1").fill("25")
    _enregistrer_et_continuer(page, "objectifs")

    # 6. Budget, balanced, line 74 asking the État; the totals are computed live by the server.
    verifier_accessibilite(page)
    page.get_by_label("60 – Achats").fill("1 200")
    page.get_by_label("64 – Charges de personnel").fill("9 050,50")
    _champ(page, "État").fill(MONTANT_ETAT)
    page.get_by_label("75 – Autres produits de gestion courante (cotisations, dons…)").fill("1 500")
    page.get_by_label("Précisions sur le compte 75").fill("Cotisations des adhérents")
    page.get_by_label("Précisions sur le compte 75").blur()
    totaux = page.locator("#totaux-budget")
    expect(totaux.get_by_text("Budget équilibré.")).to_be_visible()
    expect(totaux.locator("#total-charges")).to_have_text(f"10{NBSP}250,50{NBSP}€")
    expect(totaux.locator("#total-produits")).to_have_text(f"10{NBSP}250,50{NBSP}€")
    verifier_accessibilite(page)
    _enregistrer_et_continuer(page, "budget")

    # 7. Pièces, chosen from the vault.
    verifier_accessibilite(page)
    page.get_by_role("group", name=STATUTS).get_by_label(re.compile(r"^statuts-jpbm\.pdf, déposée le")).check()
    page.get_by_role("group", name=RIB).get_by_label(re.compile(r"^rib-jpbm\.pdf, déposée le")).check()
    _enregistrer_et_continuer(page, "pieces")

    # 8. Déclaration sur l'honneur by the représentant légal, then the deposit.
    expect(page.get_by_text("Le dossier est complet.")).to_be_visible()
    verifier_accessibilite(page)
    page.get_by_label("Nom et prénom du signataire").fill("Samia Benali")
    expect(page.get_by_label("Qualité du signataire")).to_have_value("Présidente")
    page.get_by_label("Je déclare que la structure souscrit au contrat d'engagement républicain").check()
    page.get_by_label("Je certifie exactes les informations du dossier").check()
    page.get_by_role("button", name="Déposer la demande").click()

    # --- The deposited request, its number and the récépissé.
    numero = f"{exercice}-000001"
    expect(page.get_by_text(f"Votre demande est déposée sous le numéro {numero}.")).to_be_visible()
    expect(page.get_by_text(f"Dossier n° {numero}")).to_be_visible()
    expect(page.get_by_role("heading", name=INTITULE, level=1)).to_be_visible()
    verifier_accessibilite(page)
    with page.expect_download() as telechargement:
        page.get_by_role("link", name="Télécharger le récépissé de dépôt").click()
    assert telechargement.value.suggested_filename == f"recepisse-{numero}.pdf"
    chemin = tmp_path / telechargement.value.suggested_filename
    telechargement.value.save_as(chemin)
    texte = _texte_pdf(chemin)
    for attendu in (numero, PORTEUR, INTITULE, f"{MONTANT_ETAT} €"):
        assert attendu in texte, f"« {attendu} » absent du récépissé :\n{texte}"
