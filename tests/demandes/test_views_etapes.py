"""The step-by-step request form: each step saves on the server and shows again what was saved, with and without
htmx; amounts typed the French way; French messages next to the field and in the summary; roles."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from associations.enums import RoleMembre
from subventions.demandes.etapes import NOMS_ETAPES
from subventions.demandes.models import Demande, Indicateur, LigneBudget, LigneFinancement, PieceDemande
from tests.demandes.aides_vues import HTMX, brancher_recepisse, donnees_budget, membre_de, texte, url_etape
from tests.factories import (
    CampagneFactory,
    FinanceurFactory,
    MembreFactory,
    ObjectifFactory,
    PieceFactory,
    PilierFactory,
    QPVFactory,
    TerritoireFactory,
    TypePieceFactory,
    demande_complete,
)

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _recepisse(monkeypatch):
    brancher_recepisse(monkeypatch)


@pytest.fixture
def demande():
    return demande_complete()


@pytest.fixture
def rl_client(client, demande):
    client.force_login(demande.cree_par)
    return client


def test_every_step_shows_with_the_progress_sidebar(rl_client, demande):
    for etape in NOMS_ETAPES:
        response = rl_client.get(url_etape(demande, etape))
        assert response.status_code == 200, etape
        page = texte(response)
        assert "Étapes de la demande" in page
        # A complete demande: every step before the deposit has its check.
        assert page.count("(complète)") == len(NOMS_ETAPES) - 1
        assert 'aria-current="step"' in page


def test_sidebar_marks_an_incomplete_step(rl_client, demande):
    demande.indicateurs.all().delete()
    page = texte(rl_client.get(url_etape(demande, "action")))
    assert page.count("(complète)") == len(NOMS_ETAPES) - 2
    assert "(à compléter)" in page


def test_identification_updates_the_porteur_and_shows_it_again(rl_client, demande):
    url = url_etape(demande, "identification")
    page = texte(rl_client.get(url))
    assert demande.porteur.siret in page and 'value="Durand"' in page  # prefilled from the porteur
    data = {
        "adresse": "3 place des Marseillaises",
        "code_postal": "13001",
        "commune": "Marseille",
        "representant_prenom": "Nadia",
        "representant_nom": "Benali",
        "representant_qualite": "Présidente",
        "contact_prenom": "Louis",
        "contact_nom": "Martin",
        "contact_email": "louis@asso.test",
        "benevoles": "12",
        "salaries": "3",
        "etpt": "2,5",
        "volontaires": "1",
        "adherents": "150",
        "budget_annee_precedente": "120 000,00",
        "budget_annee_courante": "",
        "iban": "FR76 3000 1007 9412 3456 7890 185",
        "bic": "bdfefrppcct",
        "action": "continuer",
    }
    response = rl_client.post(url, data)
    assert response.status_code == 302 and response.url == url_etape(demande, "nature")
    porteur = demande.porteur
    porteur.refresh_from_db()
    assert porteur.representant_nom == "Benali"
    assert porteur.etpt == Decimal("2.50")
    assert porteur.budget_annee_precedente == Decimal("120000.00")
    assert porteur.iban == "FR7630001007941234567890185" and porteur.bic == "BDFEFRPPCCT"
    page = texte(rl_client.get(url))
    assert 'value="Benali"' in page and 'value="120000,00"' in page


def test_identification_refuses_a_wrong_iban_with_a_french_message(rl_client, demande):
    response = rl_client.post(
        url_etape(demande, "identification"),
        {"adresse": "x", "code_postal": "130", "commune": "Marseille", "representant_prenom": "A",
         "representant_nom": "B", "representant_qualite": "P", "benevoles": "0", "salaries": "0", "volontaires": "0",
         "adherents": "0", "iban": "FR7630001007941234567890186", "bic": ""},
    )  # fmt: skip
    assert response.status_code == 200
    page = texte(response)
    assert 'id="resume-erreurs"' in page
    assert "Cet IBAN n'est pas valide" in page
    assert "Un code postal compte 5 chiffres." in page
    assert 'id="id_code_postal_error"' in page and 'aria-invalid="true"' in page
    demande.porteur.refresh_from_db()
    assert demande.porteur.iban == "FR7630001007941234567890185"


def test_nature_saves_with_htmx_and_pushes_the_next_step(rl_client, demande):
    response = rl_client.post(
        url_etape(demande, "nature"),
        {"nature": "en_nature", "type_demande": "renouvellement", "objet": "fonctionnement", "duree": "pluriannuelle",
         "action": "continuer"},
        **HTMX,
    )  # fmt: skip
    assert response.status_code == 200
    assert response["HX-Push-Url"] == url_etape(demande, "action")
    page = texte(response)
    assert "<html" not in page  # the swappable area only
    assert 'id="formulaire-demande"' in page and "Étape 3 : L'action" in page
    assert "« Nature de la demande » est enregistrée." in page
    demande.refresh_from_db()
    assert (demande.nature, demande.type_demande, demande.objet, demande.duree) == (
        "en_nature", "renouvellement", "fonctionnement", "pluriannuelle",
    )  # fmt: skip
    # The back button may ask htmx to restore the page from the server: the whole page then.
    restauration = rl_client.get(url_etape(demande, "action"), HTTP_HX_HISTORY_RESTORE_REQUEST="true", **HTMX)
    assert "<html" in texte(restauration) and "HX-Request" in restauration["Vary"]
    page = texte(rl_client.get(url_etape(demande, "nature")))
    assert 'value="pluriannuelle" class="form-check-input" id="id_duree_1" required checked' in page


def test_action_saves_and_checks_the_dates(rl_client, demande):
    url = url_etape(demande, "action")
    data = {
        "intitule": "Jardins partagés",
        "objectifs_action": "Créer du lien.",
        "description": "Un jardin au pied des immeubles.",
        "date_debut": "2025-03-01",
        "date_fin": "01/02/2025",
        "moyens_benevoles": "4",
        "moyens_salaries": "1",
        "moyens_etpt": "0,5",
    }
    response = rl_client.post(url, data)
    assert response.status_code == 200
    assert "La date de fin doit suivre la date de début." in texte(response)
    data["date_fin"] = "30/11/2025"
    response = rl_client.post(url, data)
    assert response.status_code == 302 and response.url == url
    demande.refresh_from_db()
    assert demande.intitule == "Jardins partagés"
    assert (demande.date_debut, demande.date_fin) == (date(2025, 3, 1), date(2025, 11, 30))
    assert demande.moyens_etpt == Decimal("0.50")
    page = texte(rl_client.get(url))
    assert 'value="Jardins partagés"' in page and 'value="2025-11-30"' in page
    assert "Vos modifications sont enregistrées." in page


def test_public_offers_the_qpv_of_the_contrat_and_saves_them(rl_client, demande):
    dedans, dehors = QPVFactory(nom="Belle de Mai"), QPVFactory(nom="Ailleurs")
    territoire = TerritoireFactory(contrat=demande.campagne.contrat, qpvs=[dedans])
    url = url_etape(demande, "public")
    page = texte(rl_client.get(url))
    assert "Belle de Mai" in page and "Ailleurs" not in page
    data = {
        "public_nombre": "60",
        "public_age_min": "6",
        "public_age_max": "12",
        "public_part_qpv": "72,5",
        "public_description": "Enfants",
        "qpvs": [str(dedans.pk)],
        "territoire": str(territoire.pk),
        "lieu": "École Révolution",
    }
    assert rl_client.post(url, {**data, "qpvs": [str(dehors.pk)]}).status_code == 200
    response = rl_client.post(url, data)
    assert response.status_code == 302
    demande.refresh_from_db()
    assert list(demande.qpvs.all()) == [dedans]
    assert demande.public_part_qpv == Decimal("72.50") and demande.territoire == territoire
    response = rl_client.post(url, {**data, "public_part_qpv": "120", "public_age_min": "14"})
    page = texte(response)
    assert "La valeur ne peut pas dépasser 100,00 %." in page
    assert "L'âge maximum doit être supérieur ou égal à l'âge minimum." in page


def test_objectifs_grouped_by_pilier_and_indicators_added_and_removed(rl_client, demande):
    campagne = demande.campagne
    autre = ObjectifFactory(pilier=PilierFactory(contrat=campagne.contrat, libelle="Cadre de vie"), libelle="Mobilité")
    campagne.objectifs.add(autre)
    url = url_etape(demande, "objectifs")
    page = texte(rl_client.get(url))
    assert "Cadre de vie" in page and "Mobilité" in page
    existant = demande.indicateurs.get()

    def donnees(**extra):
        data = {
            "objectifs": [str(autre.pk)],
            "indicateurs-TOTAL_FORMS": "1",
            "indicateurs-INITIAL_FORMS": "1",
            "indicateurs-MIN_NUM_FORMS": "0",
            "indicateurs-MAX_NUM_FORMS": "1000",
            "indicateurs-0-id": str(existant.pk),
            "indicateurs-0-nom": "Participants réguliers",
            "indicateurs-0-cible": "35",
        }
        data.update(extra)
        return data

    # "Ajouter un indicateur" (htmx): saved, and the form comes back with an empty row.
    response = rl_client.post(url, donnees(action="ajouter"), **HTMX)
    page = texte(response)
    assert 'name="indicateurs-1-nom"' in page
    assert demande.objectifs.get() == autre
    assert demande.indicateurs.get().cible == "35"
    # The new row, half filled: a French message next to it.
    data = donnees(
        **{"indicateurs-TOTAL_FORMS": "2", "indicateurs-1-nom": "Ateliers tenus", "indicateurs-1-cible": ""}
    )
    page = texte(rl_client.post(url, data, **HTMX))
    assert "Donnez la valeur cible de l'indicateur." in page and 'id="resume-erreurs"' in page
    data["indicateurs-1-cible"] = "60"
    assert rl_client.post(url, data).status_code == 302
    assert list(demande.indicateurs.values_list("nom", "cible")) == [
        ("Participants réguliers", "35"),
        ("Ateliers tenus", "60"),
    ]
    # "Retirer" on the first row, without JavaScript.
    nouveau = demande.indicateurs.get(nom="Ateliers tenus")
    data.update({"indicateurs-INITIAL_FORMS": "2", "indicateurs-1-id": str(nouveau.pk), "retirer": "0"})
    assert rl_client.post(url, data).status_code == 302
    assert list(Indicateur.objects.filter(demande=demande).values_list("nom", flat=True)) == ["Ateliers tenus"]


def test_objectif_outside_the_campagne_is_refused(rl_client, demande):
    etranger = ObjectifFactory()
    data = {
        "objectifs": [str(etranger.pk)],
        "indicateurs-TOTAL_FORMS": "0",
        "indicateurs-INITIAL_FORMS": "0",
    }
    page = texte(rl_client.post(url_etape(demande, "objectifs"), data))
    assert "Cet objectif n'est pas éligible à la campagne." in page
    assert etranger not in demande.objectifs.all()


def test_budget_saves_every_line_with_the_french_decimal_comma(rl_client, demande):
    etat, ville = demande.campagne.financeurs.order_by("code")
    url = url_etape(demande, "budget")
    page = texte(rl_client.get(url))
    assert "74 – Subventions d'exploitation" in page and etat.nom in page and ville.nom in page
    assert page.count('inputmode="decimal"') == 18 + 2  # every plan comptable line, then one 74 line per financeur
    data = donnees_budget(
        demande,
        comptes={"60": "1 234,56", "64": "10\u00a0000", "86": "500,00", "75": "1.234,56", "87": "500"},
        financeurs={etat.pk: "8 000,00", ville.pk: "2000,00"},
    )
    data["detail_compte_64"] = "Animatrice à mi-temps"
    response = rl_client.post(url, data)
    assert response.status_code == 302
    lignes = {ligne.compte: ligne.montant for ligne in LigneBudget.objects.filter(demande=demande)}
    assert lignes == {
        "60": Decimal("1234.56"),
        "64": Decimal("10000.00"),
        "86": Decimal("500.00"),
        "75": Decimal("1234.56"),
        "87": Decimal("500.00"),
    }
    assert LigneBudget.objects.get(demande=demande, compte="64").detail == "Animatrice à mi-temps"
    assert LigneFinancement.objects.get(demande=demande, financeur=etat).montant_demande == Decimal("8000.00")
    assert LigneFinancement.objects.get(demande=demande, financeur=ville).montant_demande == Decimal("2000.00")
    page = texte(rl_client.get(url))
    assert 'value="1234,56"' in page and 'value="8000,00"' in page
    assert "Budget équilibré." in page  # 11 734,56 of charges = 11 734,56 of produits


@pytest.mark.parametrize(
    ("saisie", "message"),
    [
        ("-5", "Le montant ne peut pas être négatif."),
        ("-0,01", "Le montant ne peut pas être négatif."),
        ("10 000 000,00", "Le montant ne peut pas dépasser 9 999 999,99 €."),
        ("99999999999999999", "Le montant ne peut pas dépasser 9 999 999,99 €."),
        ("12,345", "Un montant a au plus deux chiffres après la virgule (les centimes)."),
        ("douze", "Saisissez un montant en euros, par exemple 1 234,56."),
        ("1e3", "Saisissez un montant en euros, par exemple 1 234,56."),
        ("NaN", "Saisissez un montant en euros, par exemple 1 234,56."),
    ],
)
def test_budget_refuses_bad_amounts_with_a_french_message(rl_client, demande, saisie, message):
    etat = demande.campagne.financeurs.order_by("code").first()
    avant = {ligne.compte: ligne.montant for ligne in LigneBudget.objects.filter(demande=demande)}
    data = donnees_budget(demande, comptes={"60": saisie}, financeurs={etat.pk: "100"})
    response = rl_client.post(url_etape(demande, "budget"), data)
    assert response.status_code == 200
    page = texte(response)
    assert 'id="resume-erreurs"' in page
    assert f'<a href="#id_compte_60">60 – Achats</a> : {message}' in page  # the summary links to the field
    assert f'<div class="invalid-feedback d-block" id="id_compte_60_error">{message}</div>' in page
    assert {ligne.compte: ligne.montant for ligne in LigneBudget.objects.filter(demande=demande)} == avant


def test_the_maximum_amount_is_accepted(rl_client, demande):
    etat = demande.campagne.financeurs.order_by("code").first()
    data = donnees_budget(demande, comptes={"60": "9 999 999,99"}, financeurs={etat.pk: "0"})
    assert rl_client.post(url_etape(demande, "budget"), data).status_code == 302
    assert LigneBudget.objects.get(demande=demande, compte="60").montant == Decimal("9999999.99")


def test_budget_totals_partial_shows_the_difference(rl_client, demande):
    etat, ville = demande.campagne.financeurs.order_by("code")
    data = donnees_budget(
        demande, comptes={"60": "1 000,50", "86": "300"}, financeurs={etat.pk: "500", ville.pk: "250,25"}
    )
    response = rl_client.post(f"/demandes/{demande.pk}/budget/totaux/", data, **HTMX)
    assert response.status_code == 200
    page = texte(response)
    assert "<html" not in page
    assert "1\u00a0300,50\u00a0€" in page  # charges
    assert "750,25\u00a0€" in page  # produits
    assert 'text-danger" id="ecart-budget">550,25\u00a0€' in page
    assert "Budget non équilibré : écart de 550,25\u00a0€." in page
    assert "compte 86 = 300,00\u00a0€, compte 87 = 0,00\u00a0€" in page
    # Nothing is saved by the live totals.
    assert not LigneBudget.objects.filter(demande=demande, compte="60").exists()

    data = donnees_budget(demande, comptes={"60": "1000", "75": "-3"}, financeurs={etat.pk: "1 000,00"})
    page = texte(rl_client.post(f"/demandes/{demande.pk}/budget/totaux/", data, **HTMX))
    assert "Budget équilibré." in page and "Montants invalides, comptés pour zéro" in page


def test_pieces_attach_a_valid_piece_of_the_vault(rl_client, demande):
    type_statuts = demande.campagne.pieces_requises.get()
    rib = TypePieceFactory(code="rib", libelle="RIB")
    demande.campagne.pieces_requises.add(rib)
    url = url_etape(demande, "pieces")
    page = texte(rl_client.get(url))
    assert "Aucune pièce valable de ce type dans votre coffre-fort." in page
    piece_rib = PieceFactory(porteur=demande.porteur, type=rib, libelle="RIB Crédit Coopératif")
    expiree = PieceFactory(porteur=demande.porteur, type=rib, libelle="Ancien RIB", valide_au=date(2000, 1, 1))
    etrangere = PieceFactory(type=rib, libelle="RIB d'une autre structure")
    page = texte(rl_client.get(url))
    assert "RIB Crédit Coopératif" in page
    assert "Ancien RIB" not in page and "RIB d'une autre structure" not in page
    statuts = demande.pieces.get().piece
    for refusee in (expiree, etrangere):
        response = rl_client.post(url, {f"piece_{type_statuts.pk}": statuts.pk, f"piece_{rib.pk}": refusee.pk})
        assert "Choisissez une pièce valide de votre coffre-fort." in texte(response)
    response = rl_client.post(url, {f"piece_{type_statuts.pk}": statuts.pk, f"piece_{rib.pk}": piece_rib.pk})
    assert response.status_code == 302
    assert PieceDemande.objects.get(demande=demande, type=rib).piece == piece_rib


def test_lecteur_reads_the_steps_but_cannot_write(client, demande):
    lecteur = membre_de(demande.porteur, RoleMembre.LECTEUR)
    client.force_login(lecteur.user)
    page = texte(client.get(url_etape(demande, "action")))
    assert "permet de consulter la demande, pas de la modifier" in page
    assert "Enregistrer et continuer" not in page and "disabled" in page
    response = client.post(url_etape(demande, "action"), {"intitule": "Pirate"})
    assert response.status_code == 403
    assert client.post(f"/demandes/{demande.pk}/renouveler/", {"campagne": demande.campagne.pk}).status_code == 403
    demande.refresh_from_db()
    assert demande.intitule != "Pirate"


def test_gestionnaire_prepares_the_request(client, demande):
    gestionnaire = membre_de(demande.porteur, RoleMembre.GESTIONNAIRE)
    client.force_login(gestionnaire.user)
    response = client.post(url_etape(demande, "nature"), {"nature": "numeraire", "type_demande": "premiere",
                                                           "objet": "projet", "duree": "annuelle"})  # fmt: skip
    assert response.status_code == 302


def test_after_deposit_steps_are_read_only(client, demande):
    from subventions.demandes.services import demande_deposer

    user = demande.cree_par
    demande_deposer(
        demande=demande, user=user, nom="Aïcha Durand", qualite="Présidente", engagement_republicain=True,
        exactitude=True,
    )  # fmt: skip
    client.force_login(user)
    detail = f"/demandes/{demande.pk}/"
    for etape in NOMS_ETAPES:
        response = client.get(url_etape(demande, etape))
        assert response.status_code == 302 and response.url == detail, etape
    response = client.post(url_etape(demande, "action"), {"intitule": "Changé après dépôt"}, follow=True)
    assert "elle ne peut plus être modifiée" in texte(response)
    assert 'name="intitule"' not in texte(response)
    response = client.post(url_etape(demande, "budget"), donnees_budget(demande, comptes={"60": "1"}), **HTMX)
    assert response.status_code == 200 and response["HX-Redirect"] == detail
    demande.refresh_from_db()
    assert demande.intitule == "Ateliers d'écriture au centre social"
    assert not LigneBudget.objects.filter(demande=demande, compte="60").exists()


def test_a_completer_is_editable_again(rl_client, demande):
    Demande.objects.filter(pk=demande.pk).update(statut="a_completer")
    assert rl_client.get(url_etape(demande, "action")).status_code == 200
    data = {"intitule": "Complété", "objectifs_action": "x", "description": "y"}
    assert rl_client.post(url_etape(demande, "action"), data).status_code == 302
    assert Demande.objects.get(pk=demande.pk).intitule == "Complété"


def test_unknown_step_is_404(rl_client, demande):
    assert rl_client.get(f"/demandes/{demande.pk}/etapes/inconnue/").status_code == 404


def test_new_demande_from_an_open_campagne(client):
    membre = MembreFactory()
    autre = MembreFactory(user=membre.user, role=RoleMembre.GESTIONNAIRE)
    lue = MembreFactory(user=membre.user, role=RoleMembre.LECTEUR)  # a third structure, where they only read
    etat = FinanceurFactory(code="etat", nom="État")
    campagne = CampagneFactory(financeurs=[etat, FinanceurFactory()])
    client.force_login(membre.user)
    url = f"/demandes/nouvelle/{campagne.pk}/"
    page = texte(client.get(url + f"?porteur={autre.porteur.pk}"))
    assert f'<option value="{autre.porteur.pk}" selected>' in page
    assert page.count("<option") == 2 + 2  # two structures, and the two languages of the header
    assert lue.porteur.nom not in page
    page = texte(client.post(url, {"porteur": autre.porteur.pk, "intitule": "  "}))
    assert "Ce champ est obligatoire." in page or "Donnez un intitulé à l'action." in page
    response = client.post(url, {"porteur": autre.porteur.pk, "intitule": "Chantier jeunes"})
    demande = Demande.objects.get()
    assert response.status_code == 302 and response.url == url_etape(demande, "identification")
    assert demande.porteur == autre.porteur and demande.statut == "brouillon"
    assert demande.lignes_financement.count() == 2
    # A double click gives the same brouillon.
    client.post(url, {"porteur": autre.porteur.pk, "intitule": "Chantier jeunes"})
    assert Demande.objects.count() == 1


def test_new_demande_refuses_a_closed_campagne_and_invites_a_user_without_structure(client):
    close = CampagneFactory(close=True)
    ouverte = CampagneFactory()
    client.force_login(MembreFactory().user)
    assert client.get(f"/demandes/nouvelle/{close.pk}/").status_code == 404
    client.force_login(MembreFactory(role=RoleMembre.LECTEUR).user)
    page = texte(client.get(f"/demandes/nouvelle/{ouverte.pk}/"))
    assert "ne permet pas de créer une demande" in page
    assert client.post(f"/demandes/nouvelle/{ouverte.pk}/", {"intitule": "x"}).status_code == 403
