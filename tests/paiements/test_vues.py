"""Finance pages: dashboard figures and query counts, liste creation (once, even submitted twice), liste page with
results one by one, return import, the échéancier, the porteur's payments; another financeur sees none of it."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from associations.models import Porteur
from subventions.paiements.models import Echeancier, ListePaiements
from subventions.paiements.services import Criteres, liste_creer, paiement_payer, paiement_rejeter
from tests.factories import MembreFactory
from tests.paiements.aides import acte, avance, etat, finance, recharger, ville

pytestmark = pytest.mark.django_db


def _texte(reponse) -> str:
    return re.sub(r"\s+", " ", reponse.content.decode().replace("\u00a0", " "))


@pytest.fixture
def monde():
    e, v = etat(), ville()
    actes = [acte(e, "1000.00"), acte(e, "3000.00"), acte(v, "2000.00")]
    user = finance(e, v)
    return {"etat": e, "ville": v, "actes": actes, "user": user}


def test_dashboard_counts_and_amounts_per_financeur(client, monde):
    e = monde["etat"]
    liste_creer(criteres=Criteres(financeur=e, paiement_ids=[avance(monde["actes"][0]).pk]), acteur=monde["user"])
    client.force_login(monde["user"])
    reponse = client.get(reverse("paiements:tableau_de_bord"))
    lignes = {ligne.financeur.code: ligne for ligne in reponse.context["lignes"]}
    assert lignes["etat"].chiffres["a_payer"] == (1, Decimal("1500.00"))
    assert lignes["etat"].chiffres["exporte"] == (1, Decimal("500.00"))
    assert lignes["etat"].chiffres["prevu"] == (2, Decimal("2000.00"))
    assert lignes["ville-test"].chiffres["a_payer"] == (1, Decimal("1600.00"))
    assert lignes["ville-test"].chiffres["paye"] == (0, Decimal("0.00"))
    texte = _texte(reponse)
    assert "1 500,00 €" in texte and "Aucun paiement bloqué." in texte


def test_dashboard_lists_show_how_many_payments_are_paid_and_rejected(client, monde):
    e = monde["etat"]
    liste = liste_creer(criteres=Criteres(financeur=e), acteur=monde["user"]).liste
    premier, second = (recharger(avance(a)) for a in monde["actes"][:2])
    paiement_payer(paiement=premier, acteur=monde["user"], reference="VIR-1", date=timezone.localdate())
    autre = liste_creer(criteres=Criteres(financeur=monde["ville"]), acteur=monde["user"]).liste
    client.force_login(monde["user"])
    texte = _texte(client.get(reverse("paiements:tableau_de_bord")))
    assert f"{liste.numero}" in texte and "1 payé(s), 0 rejeté(s)" in texte
    paiement_rejeter(paiement=recharger(second), acteur=monde["user"], motif="Compte clos")
    texte = _texte(client.get(reverse("paiements:tableau_de_bord")))
    assert "1 payé(s), 1 rejeté(s)" in texte
    # The Ville's liste: nothing paid nor rejected yet.
    assert f"{autre.numero}" in texte and "0 payé(s), 0 rejeté(s)" in texte


# Session, user, habilitations, MFA; payments and reversements per financeur, the financeurs; the porteurs owed a
# payment with their bank details, the blocked payments (only when a porteur is blocked); the last listes.
REQUETES_TABLEAU_DE_BORD = 10


def test_dashboard_query_count_does_not_grow_with_data(client, monde, django_assert_num_queries):
    client.force_login(monde["user"])
    url = reverse("paiements:tableau_de_bord")
    client.get(url)
    with django_assert_num_queries(REQUETES_TABLEAU_DE_BORD - 1):  # nobody blocked: no payment to load
        client.get(url)
    Porteur.objects.filter(pk=monde["actes"][0].porteur_id).update(iban="")
    with django_assert_num_queries(REQUETES_TABLEAU_DE_BORD):
        reponse = client.get(url)
    assert _texte(reponse).count("IBAN manquant") == 1
    for _ in range(3):
        bloque = acte(monde["etat"], "700.00")
        Porteur.objects.filter(pk=bloque.porteur_id).update(iban="FR1100000000000000000000000")  # wrong check digits
    liste_creer(criteres=Criteres(financeur=monde["ville"]), acteur=monde["user"])
    with django_assert_num_queries(REQUETES_TABLEAU_DE_BORD):
        reponse = client.get(url)
    texte = _texte(reponse)
    assert texte.count("IBAN manquant") == 1 and texte.count("IBAN invalide") == 3


def test_a_finance_user_sees_only_the_figures_of_its_financeurs(client, monde):
    client.force_login(finance(monde["ville"]))
    reponse = client.get(reverse("paiements:tableau_de_bord"))
    assert [ligne.financeur.code for ligne in reponse.context["lignes"]] == ["ville-test"]
    assert "État" not in _texte(reponse)


def test_creating_a_liste_from_the_page_then_submitting_again_gives_one_liste(client, monde):
    client.force_login(monde["user"])
    e = monde["etat"]
    Porteur.objects.filter(pk=monde["actes"][1].porteur_id).update(iban="FR00")
    page = client.get(reverse("paiements:liste_creer"), {"financeur": e.pk})
    texte = _texte(page)
    assert "Bloqué" in texte and "IBAN invalide" in texte
    assert [p.reference for p in page.context["payables"]] == [avance(monde["actes"][0]).reference]
    cle = page.context["creation"]["cle"].value()
    donnees = {"financeur": e.pk, "cle": cle, "paiements": [avance(a).pk for a in monde["actes"]]}
    reponse = client.post(reverse("paiements:liste_creer"), donnees, follow=True)
    liste = ListePaiements.objects.get()
    assert reponse.redirect_chain[-1][0] == reverse("paiements:liste", kwargs={"pk": liste.pk})
    assert liste.nb_paiements == 1, "the other État payment is blocked, the Ville's is not the chosen financeur's"
    assert f"Liste {liste.numero} créée : 1 paiement(s)." in _texte(reponse)
    encore = client.post(reverse("paiements:liste_creer"), donnees, follow=True)
    assert "déjà été créée" in _texte(encore) and ListePaiements.objects.count() == 1


def test_nothing_ticked_or_another_financeur_creates_nothing(client, monde):
    client.force_login(finance(monde["ville"]))
    cle = "5b0e5c2c-1a47-4d2b-9d43-2f0a8e3f7c11"
    url = reverse("paiements:liste_creer")
    client.post(url, {"financeur": monde["ville"].pk, "cle": cle})
    reponse = client.post(
        url, {"financeur": monde["etat"].pk, "cle": cle, "paiements": [avance(monde["actes"][0]).pk]}
    )
    assert reponse.status_code == 302 and not ListePaiements.objects.exists()
    assert recharger(avance(monde["actes"][0])).statut == "a_payer"


def test_liste_page_shows_files_and_takes_results_one_by_one(client, monde, django_assert_num_queries):
    e = monde["etat"]
    liste = liste_creer(criteres=Criteres(financeur=e), acteur=monde["user"]).liste
    client.force_login(monde["user"])
    url = reverse("paiements:liste", kwargs={"pk": liste.pk})
    client.get(url)
    with django_assert_num_queries(9):
        reponse = client.get(url)
    texte = _texte(reponse)
    for format_ in ("csv", "xlsx", "sepa"):
        assert reverse("paiements:liste_telecharger", kwargs={"pk": liste.pk, "format": format_}) in texte
    un, deux = (avance(a) for a in monde["actes"][:2])
    jour = timezone.localdate().isoformat()
    client.post(reverse("paiements:paiement_payer", kwargs={"pk": un.pk}), {"reference": "VIR-77", "date": jour})
    client.post(reverse("paiements:paiement_rejeter", kwargs={"pk": deux.pk}), {"motif": "Compte clos"})
    assert (recharger(un).statut, recharger(un).reglement_reference) == ("paye", "VIR-77")
    assert (recharger(deux).statut, recharger(deux).motif_rejet) == ("rejete", "Compte clos")
    with django_assert_num_queries(9):
        texte = _texte(client.get(url))
    assert "VIR-77" in texte and "Compte clos" in texte and "Remettre à payer" in texte
    assert "Annuler la liste" not in texte, "a liste with a paid payment cannot be cancelled"


def test_a_stale_page_does_not_overwrite_a_newer_result(client, monde):
    liste_creer(criteres=Criteres(financeur=monde["etat"]), acteur=monde["user"])
    paiement = avance(monde["actes"][0])
    version_affichee = paiement.version
    paiement_rejeter(paiement=paiement, acteur=monde["user"], motif="Rejet banque")
    client.force_login(monde["user"])
    reponse = client.post(
        reverse("paiements:paiement_payer", kwargs={"pk": paiement.pk}),
        {"reference": "VIR-1", "date": timezone.localdate().isoformat(), "version": version_affichee},
        follow=True,
    )
    assert recharger(paiement).statut == "rejete"
    assert "a changé entre-temps" in _texte(reponse)


def test_cancelling_from_the_page_frees_the_payments(client, monde):
    liste = liste_creer(criteres=Criteres(financeur=monde["etat"]), acteur=monde["user"]).liste
    client.force_login(monde["user"])
    url = reverse("paiements:liste_annuler", kwargs={"pk": liste.pk})
    client.post(url, {"motif": ""})
    assert ListePaiements.objects.get(pk=liste.pk).statut == "emise"
    reponse = client.post(url, {"motif": "Fichier refusé par la banque"}, follow=True)
    assert "Liste annulée" in _texte(reponse)
    assert recharger(avance(monde["actes"][0])).statut == "a_payer"


def test_return_import_page_reports_matched_and_unmatched_lines(client, monde):
    liste_creer(criteres=Criteres(financeur=monde["etat"]), acteur=monde["user"])
    client.force_login(monde["user"])
    a, b = (avance(x).reference for x in monde["actes"][:2])
    jour = timezone.localdate().strftime("%d/%m/%Y")
    fichier = SimpleUploadedFile("retour.csv", f"référence;date\n{a};{jour}\nXXX;{jour}\n".encode(), "text/csv")
    texte = _texte(client.post(reverse("paiements:retour_importer"), {"fichier": fichier}))
    assert "rien n’a été enregistré" in texte and "1 ligne(s) reconnue(s), 1 ligne(s) non reconnue(s)" in texte
    fichier = SimpleUploadedFile("retour.csv", f"référence;date\n{a};{jour}\n{b};{jour}\n".encode(), "text/csv")
    texte = _texte(client.post(reverse("paiements:retour_importer"), {"fichier": fichier}))
    assert "Retour appliqué : 2 payé(s), 0 rejeté(s), 0 déjà enregistré(s)." in texte
    assert recharger(avance(monde["actes"][0])).statut == "paye"


def test_echeancier_page_records_the_engagement_juridique(client, monde):
    objet = monde["actes"][0]
    client.force_login(monde["user"])
    url = reverse("paiements:echeancier", kwargs={"acte_pk": objet.pk})
    texte = _texte(client.get(url))
    assert f"{objet.numero}-AV" in texte and f"{objet.numero}-SO" in texte
    assert "Après validation du compte-rendu financier" in texte
    client.post(url, {"engagement_juridique": "2103456789"})
    assert Echeancier.objects.get(acte=objet).engagement_juridique == "2103456789"


@pytest.mark.parametrize(
    ("nom", "kwargs"),
    [
        ("liste", lambda m: {"pk": m["liste"].pk}),
        ("liste_telecharger", lambda m: {"pk": m["liste"].pk, "format": "csv"}),
        ("echeancier", lambda m: {"acte_pk": m["actes"][0].pk}),
    ],
)
def test_another_financeurs_finance_user_gets_404_by_changing_the_id(client, monde, nom, kwargs):
    monde["liste"] = liste_creer(criteres=Criteres(financeur=monde["etat"]), acteur=monde["user"]).liste
    client.force_login(finance(monde["ville"]))
    assert client.get(reverse(f"paiements:{nom}", kwargs=kwargs(monde))).status_code == 404


def test_the_porteur_sees_its_payments_and_where_to_fix_its_iban(client, monde):
    objet = monde["actes"][0]
    representant = MembreFactory(porteur=objet.porteur)
    lecteur = MembreFactory(porteur=objet.porteur, role="lecteur")
    Porteur.objects.filter(pk=objet.porteur_id).update(iban="")
    url = reverse("paiements:porteur", kwargs={"porteur_pk": objet.porteur_id})
    client.force_login(representant.user)
    texte = _texte(client.get(url))
    assert "Vos paiements sont bloqués." in texte and "IBAN manquant" in texte
    assert reverse("associations:porteur_modifier", kwargs={"pk": objet.porteur_id}) in texte
    assert "500,00 €" in texte and "À payer" in texte
    client.force_login(lecteur.user)
    texte = _texte(client.get(url))
    assert "IBAN manquant" in texte
    assert reverse("associations:porteur_modifier", kwargs={"pk": objet.porteur_id}) not in texte
    client.force_login(MembreFactory().user)
    assert client.get(url).status_code == 404


def test_the_finance_space_links_to_the_payment_pages(client, monde):
    client.force_login(monde["user"])
    texte = _texte(client.get(reverse("espace_finance")))
    for nom in ("tableau_de_bord", "liste_creer", "listes", "retour_importer"):
        assert reverse(f"paiements:{nom}") in texte


def test_liste_and_echeancier_pages_cost_the_same_with_more_rows(client, monde, django_assert_num_queries):
    client.force_login(monde["user"])
    petite = liste_creer(criteres=Criteres(financeur=monde["ville"]), acteur=monde["user"]).liste
    for _ in range(4):
        acte(monde["ville"], "900.00")
    grande = liste_creer(criteres=Criteres(financeur=monde["ville"]), acteur=monde["user"]).liste
    assert (petite.nb_paiements, grande.nb_paiements) == (1, 4)
    for liste in (petite, grande):
        with django_assert_num_queries(9):
            client.get(reverse("paiements:liste", kwargs={"pk": liste.pk}))
    for objet in (monde["actes"][2], monde["actes"][0]):
        with django_assert_num_queries(7):
            client.get(reverse("paiements:echeancier", kwargs={"acte_pk": objet.pk}))
