"""The bilans pages as their users see them: the porteur fills its compte-rendu in French amounts, saves, deposits,
reads the errors at the top; the instructeur filters its list, sees the gaps highlighted and validates; finance
lists the reversements. List pages cost the same number of queries with more rows."""

from __future__ import annotations

import re
from decimal import Decimal
from html import unescape

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from subventions.bilans import services
from subventions.bilans.models import CompteRendu, PieceCompteRendu
from subventions.referentiel.models import TypePiece
from tests.bilans import aides
from tests.factories import pdf_minimal

pytestmark = pytest.mark.django_db
D = Decimal
NBSP = "\u00a0"


def _texte(reponse) -> str:
    html = reponse.content.decode()
    html = html[html.index("<main") : html.index("</main>")]
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", html)).replace(NBSP, " ").split())


@pytest.fixture
def m():
    m = aides.monde(taux_avance=D("80"))
    m.lf = aides.action(m)
    m.acte = aides.acte(m, m.lf)
    m.cr = aides.compte_rendu(m.acte)
    return m


def _url_porteur(m, cr=None) -> str:
    return reverse("bilans:porteur_compte_rendu", kwargs={"porteur_pk": m.porteur.pk, "pk": (cr or m.cr).pk})


def _donnees(cr: CompteRendu, action: str, **montants) -> dict:
    donnees = {
        "version": cr.version,
        "action": action,
        "actions_realisees": "Trente ateliers.",
        "public_touche": "Collégiens du quartier.",
        "beneficiaires": "32",
        "ecarts_expliques": "",
    }
    for ligne in cr.lignes.all():
        donnees[f"realise_{ligne.pk}"] = montants.get(ligne.cle, "")
    for ind in cr.indicateurs.all():
        donnees[f"indicateur_{ind.pk}"] = "30" if ind.cible == "30" else "oui"
    return donnees


# --- Porteur -------------------------------------------------------------------------------------------------------


def test_porteur_saves_french_amounts_then_deposits(client, m):
    client.force_login(m.gestionnaire)
    montants = {"60": "1 950,50", "64": "8 000", "86": "1 000,00", f"74-{m.financeur.pk}": "8 000", "75": "1950,5"}
    reponse = client.post(_url_porteur(m), _donnees(m.cr, "enregistrer", **montants), follow=True)
    assert "Compte-rendu enregistré (non déposé)." in _texte(reponse)
    cr = aides.recharger(m.cr)
    assert cr.statut == "a_deposer" and cr.beneficiaires == 32
    assert cr.lignes.get(cle="60").realise == D("1950.50") and cr.lignes.get(cle="87").realise is None
    # The page now shows the gap of each line saved, and what is still missing before the deposit.
    texte = _texte(reponse)
    assert "−49,50 € (−2,5 %)" in texte
    assert "Montant réalisé à indiquer (0 si rien) pour : 87 – Contributions volontaires en nature." in texte
    montants["87"] = "1000"
    reponse = client.post(_url_porteur(m), _donnees(cr, "deposer", **montants), follow=True)
    texte = _texte(reponse)
    assert "Compte-rendu déposé : le service instructeur de État va le vérifier." in texte
    cr = aides.recharger(cr)
    assert cr.statut == "depose" and cr.depose_par == m.gestionnaire
    assert "Compte-rendu déposé (PDF, version 1" in texte
    assert "Enregistrer et déposer" not in texte  # read only now


def test_an_incomplete_deposit_is_saved_and_the_missing_parts_are_summarised_at_the_top(client, m):
    client.force_login(m.representant)
    donnees = _donnees(m.cr, "deposer", **{"60": "2000"})
    donnees["public_touche"] = ""
    reponse = client.post(_url_porteur(m), donnees)
    assert reponse.status_code == 200
    html = reponse.content.decode()
    resume = html.split('id="resume-erreurs"')[1].split("</div>")[0]
    assert "enregistré mais n’a pas pu être déposé" in unescape(resume)
    assert "Décrivez le public touché." in unescape(resume)
    cr = aides.recharger(m.cr)
    assert cr.statut == "a_deposer" and cr.lignes.get(cle="60").realise == D("2000.00")


def test_an_unreadable_amount_saves_nothing_and_links_to_its_field(client, m):
    client.force_login(m.representant)
    ligne = m.cr.lignes.get(cle="64")
    reponse = client.post(_url_porteur(m), _donnees(m.cr, "enregistrer", **{"64": "huit mille", "60": "10"}))
    assert reponse.status_code == 200
    html = reponse.content.decode()
    assert f'<a href="#id_realise_{ligne.pk}">' in html
    assert "Saisissez un montant en euros" in unescape(html)
    assert 'aria-invalid="true"' in html
    assert aides.recharger(m.cr).lignes.get(cle="60").realise is None


def test_a_pdf_is_attached_through_the_vault_checks_and_a_fake_one_refused(client, m):
    client.force_login(m.gestionnaire)
    autre = TypePiece.objects.get_or_create(code="autre", defaults={"libelle": "Autre pièce"})[0]
    url = reverse("bilans:porteur_piece_ajouter", kwargs={"porteur_pk": m.porteur.pk, "pk": m.cr.pk})
    faux = SimpleUploadedFile("factures.pdf", b"MZ\x90\x00 not a pdf", content_type="application/pdf")
    reponse = client.post(url, {"type": autre.pk, "fichier": faux}, follow=True)
    assert "ni un PDF ni une image" in _texte(reponse)
    assert not PieceCompteRendu.objects.exists()
    vrai = SimpleUploadedFile("factures.pdf", pdf_minimal("Factures"), content_type="application/pdf")
    reponse = client.post(url, {"type": autre.pk, "libelle": "Factures 2015", "fichier": vrai}, follow=True)
    lien = PieceCompteRendu.objects.get()
    assert (lien.compte_rendu, lien.piece.porteur, lien.piece.libelle) == (m.cr, m.porteur, "Factures 2015")
    assert reverse("associations:piece_telecharger", args=[m.porteur.pk, lien.piece_id]) in reponse.content.decode()


def test_porteur_list_shows_each_situation_in_constant_queries(client, m, django_assert_num_queries):
    client.force_login(m.lecteur)
    url = reverse("bilans:porteur_liste", kwargs={"porteur_pk": m.porteur.pk})
    client.get(url)
    with django_assert_num_queries(5):
        client.get(url)
    # More rows, in every situation: deposited, validated, sent back.
    aides.deposer(aides.compte_rendu(aides.acte(m, aides.action(m, intitule="B"), exercice=2016)), m.gestionnaire)
    valide = aides.acte(m, aides.action(m, intitule="C"), exercice=2017)
    aides.payer_avance(m, valide)
    services.compte_rendu_valider(
        compte_rendu=aides.deposer(aides.compte_rendu(valide), m.gestionnaire), acteur=m.instructeur
    )
    corriger = aides.deposer(
        aides.compte_rendu(aides.acte(m, aides.action(m, intitule="D"), exercice=2018)), m.gestionnaire
    )
    services.compte_rendu_demander_corrections(compte_rendu=corriger, acteur=m.instructeur, commentaire="Factures")
    with django_assert_num_queries(5):
        reponse = client.get(url)
    situations = {s: int(n) for s, n in re.findall(r'data-situation="(\w+)">(\d+)<', reponse.content.decode())}
    # 2015's compte-rendu is due on 30/06/2016: long past, it is late.
    assert situations == {"en_retard": 1, "depose": 1, "valide": 1, "a_corriger": 1}


# --- Instructeur -----------------------------------------------------------------------------------------------------


def _deposes(m, n: int, debut: int) -> list[CompteRendu]:
    return [
        aides.deposer(
            aides.compte_rendu(aides.acte(m, aides.action(m, intitule=f"Action {i}"), exercice=2015 + i)),
            m.gestionnaire,
        )
        for i in range(debut, debut + n)
    ]


def test_instructeur_list_shows_the_deposited_ones_by_default_in_constant_queries(
    client, m, django_assert_num_queries
):
    client.force_login(m.instructeur)
    url = reverse("bilans:liste")
    _deposes(m, 1, 1)
    client.get(url)
    with django_assert_num_queries(8):
        client.get(url)
    _deposes(m, 3, 2)
    with django_assert_num_queries(8):
        reponse = client.get(url)
    assert len(reponse.context["page"].object_list) == 4
    assert all(cr.statut == "depose" for cr in reponse.context["page"].object_list)
    comptes = dict(
        re.findall(
            r'data-statut="(\w+)">[^<]*<span class="badge text-bg-light compte-statut">(\d+)', reponse.content.decode()
        )
    )
    assert comptes == {"a_deposer": "1", "depose": "4", "a_corriger": "0", "valide": "0"}
    tous = client.get(url, {"statut": "tous", "q": m.cr.demande.numero})
    assert [cr.pk for cr in tous.context["page"].object_list] == [m.cr.pk]


def test_instructeur_page_highlights_the_gaps_and_validates(client, m):
    aides.payer_avance(m, m.acte)
    cr = aides.deposer(m.cr, m.gestionnaire, facteur="0.85")
    client.force_login(m.instructeur)
    url = reverse("bilans:compte_rendu", kwargs={"pk": cr.pk})
    reponse = client.get(url)
    html = reponse.content.decode()
    # 15 % under on every line, tolerance 10 %: each line is marked, in words, not by colour alone.
    assert html.count('data-hors-tolerance="1"') == 6
    assert html.count("écart au-delà de la tolérance") == 6
    texte = _texte(reponse)
    assert "Subvention retenue si validé 6 800,00 € sous-réalisation de 15 % : réduction proportionnelle" in texte
    reponse = client.post(reverse("bilans:valider", kwargs={"pk": cr.pk}), {"version": cr.version}, follow=True)
    texte = _texte(reponse)
    assert "Compte-rendu validé : 6 800,00 € retenus sur 8 000,00 € accordés." in texte
    assert "Le solde de l'acte, 400,00 €, est à payer." in texte
    assert "Solde à payer 400,00 € — À payer" in texte


def test_a_stale_validation_page_is_refused(client, m):
    cr = aides.deposer(m.cr, m.gestionnaire)
    services.compte_rendu_demander_corrections(compte_rendu=cr, acteur=m.instructeur, commentaire="Factures")
    cr = aides.deposer(aides.recharger(cr), m.gestionnaire)
    client.force_login(m.instructeur)
    reponse = client.post(reverse("bilans:valider", kwargs={"pk": cr.pk}), {"version": cr.version - 3}, follow=True)
    assert "changé entre-temps" in _texte(reponse)
    assert aides.recharger(cr).statut == "depose"


# --- Finance ---------------------------------------------------------------------------------------------------------


def _reversement(m, i: int):
    acte = aides.acte(m, aides.action(m, intitule=f"R{i}"), exercice=2015 + i)
    aides.payer_avance(m, acte)
    services.compte_rendu_valider(
        compte_rendu=aides.deposer(aides.compte_rendu(acte), m.gestionnaire, facteur="0.5"), acteur=m.instructeur
    )
    return acte


def test_reversements_to_issue_listed_for_finance_in_constant_queries(client, m, django_assert_num_queries):
    premier = _reversement(m, 1)
    client.force_login(m.finance)
    url = reverse("bilans:reversements")
    client.get(url)
    with django_assert_num_queries(7):
        client.get(url)
    for i in (2, 3):
        _reversement(m, i)
    with django_assert_num_queries(7):
        reponse = client.get(url)
    texte = _texte(reponse)
    # 8 000 € granted, half spent: 4 000 € due, 6 400 € paid → 2 400 € each.
    assert "3 reversements, 7 200,00 €" in texte
    assert f"{premier.numero} {m.porteur.nom}" in texte and "2 400,00 €" in texte
    assert reverse("paiements:echeancier", args=[premier.pk]) in reponse.content.decode()
