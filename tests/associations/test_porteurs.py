"""Porteur registry: registration, identifier checks, one porteur per SIRET with join requests, edition rights."""

from __future__ import annotations

import re

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from associations.enums import RoleMembre, StatutAdhesion
from associations.forms import SECTIONS_PORTEUR
from associations.models import DemandeAdhesion, Membre, Porteur
from associations.services import CHAMPS_PORTEUR, adhesion_decider, adhesion_demander, porteur_creer
from tests.associations.factories import DemandeAdhesionFactory
from tests.factories import MembreFactory, PorteurFactory, UserFactory, siret_valide
from workflows.models import Courriel

pytestmark = pytest.mark.django_db

CREER = reverse("associations:porteur_creer")


def espace(siret: str) -> str:
    return f"{siret[:3]} {siret[3:6]} {siret[6:9]} {siret[9:]}"


def donnees(**surcharges) -> dict:
    valeurs = {
        "nom": "Centre social de la Belle de Mai",
        "sigle": "CSBM",
        "siret": espace(siret_valide(90001)),
        "rna": "w133012345",
        "forme_juridique": "association",
        "objet": "Animation sociale du quartier.",
        "adresse": "3 boulevard Burel",
        "code_postal": "13003",
        "commune": "Marseille",
        "telephone": "04 91 00 00 00",
        "email": "contact@csbm.test",
        "site_web": "",
        "representant_prenom": "Aïcha",
        "representant_nom": "Durand",
        "representant_qualite": "Présidente",
        "representant_email": "presidence@csbm.test",
        "representant_telephone": "",
        "contact_prenom": "Karim",
        "contact_nom": "Benali",
        "contact_qualite": "Directeur",
        "contact_email": "direction@csbm.test",
        "contact_telephone": "",
        "agrements": "Jeunesse et éducation populaire, DDCS 13, 2012",
        "date_utilite_publique": "",
        "benevoles": "25",
        "salaries": "6",
        "etpt": "4,5",
        "volontaires": "2",
        "adherents": "180",
        "budget_annee_precedente": "245 000,00",
        "budget_annee_courante": "260000,50",
        "iban": "fr76 3000 1007 9412 3456 7890 185",
        "bic": "bdfe frpp cct",
    }
    valeurs.update(surcharges)
    return valeurs


def erreur_du_champ(html: str, champ: str) -> str:
    """The text of the error shown right under a field (id_<champ>_error), as a screen reader reads it."""
    trouve = re.search(rf'id="id_{champ}_error">(.*?)</div>', html, re.S)
    assert trouve, f"no error next to {champ}"
    return trouve.group(1)


def test_the_form_sections_cover_every_field_of_the_porteur():
    dans_les_sections = [nom for _titre, noms, _aide in SECTIONS_PORTEUR for nom in noms]
    assert sorted(dans_les_sections) == sorted(CHAMPS_PORTEUR)
    assert "iban" in CHAMPS_PORTEUR and "siren" not in CHAMPS_PORTEUR


def test_a_signed_in_user_registers_a_porteur_and_becomes_its_representant_legal(client):
    user = UserFactory(first_name="Aïcha", last_name="Durand")
    client.force_login(user)
    page = client.get(CREER)
    assert page.status_code == 200
    assert 'value="Durand"' in page.content.decode()  # représentant légal prefilled from the account

    response = client.post(CREER, donnees())

    porteur = Porteur.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("associations:porteur_detail", kwargs={"pk": porteur.pk})
    assert porteur.siret == siret_valide(90001)
    assert porteur.siren == siret_valide(90001)[:9]
    assert porteur.rna == "W133012345"
    assert porteur.iban == "FR7630001007941234567890185"
    assert porteur.bic == "BDFEFRPPCCT"
    assert str(porteur.etpt) == "4.50"
    assert str(porteur.budget_annee_precedente) == "245000.00"
    assert Membre.objects.get(porteur=porteur).user == user
    assert Membre.objects.get(porteur=porteur).role == RoleMembre.REPRESENTANT_LEGAL
    detail = client.get(response.url).content.decode()
    assert "Centre social de la Belle de Mai" in detail and siret_valide(90001) in detail


def test_registering_twice_by_double_click_creates_one_porteur(client):
    client.force_login(UserFactory())
    premiere = client.post(CREER, donnees())
    seconde = client.post(CREER, donnees())
    assert Porteur.objects.count() == 1 and Membre.objects.count() == 1
    assert seconde.status_code == 302 and seconde.url == premiere.url


def test_la_poste_siret_is_accepted_although_it_fails_luhn(client):
    from stdnum import luhn

    la_poste = "35600000049837"
    assert not luhn.is_valid(la_poste)
    client.force_login(UserFactory())
    response = client.post(CREER, donnees(siret=la_poste, nom="Bureau de poste associatif"))
    assert response.status_code == 302
    assert Porteur.objects.get().siren == "356000000"


@pytest.mark.parametrize(
    ("champ", "valeur", "message"),
    [
        ("siret", "732 829 320 00079", "clé de contrôle incorrecte"),
        ("siret", "7328293200", "Un SIRET compte 14 chiffres."),
        ("siret", "7328293200007A", "Un SIRET ne contient que des chiffres."),
        ("iban", "FR76 3000 1007 9412 3456 7890 186", "Cet IBAN n&#x27;est pas valide : la clé de contrôle"),
        ("iban", "FR76 3000 1007 9412 3456 7890", "pas la bonne longueur"),
        ("iban", "XX76 3000 1007 9412 3456 7890 185", "code pays"),
        ("iban", "FR76 3000 1007 9412 3456 7890 18!", "que des lettres et des chiffres"),
        ("bic", "ZZ", "Ce BIC n&#x27;est pas valide : un BIC compte 8 ou 11 caractères"),
        ("rna", "W12345", "Un numéro RNA s&#x27;écrit W suivi de 9 chiffres"),
        ("code_postal", "1300", "Un code postal compte 5 chiffres"),
        ("nom", "", "Ce champ est obligatoire."),
        ("budget_annee_courante", "-10", "supérieure ou égale à 0"),
    ],
)
def test_invalid_identifiers_give_a_french_message_next_to_the_field_and_in_the_summary(
    client, champ, valeur, message
):
    client.force_login(UserFactory())
    response = client.post(CREER, donnees(**{champ: valeur}))
    html = response.content.decode()
    assert response.status_code == 200
    assert message in erreur_du_champ(html, champ)
    assert 'id="resume-erreurs"' in html and f'href="#id_{champ}"' in html
    assert re.search(rf'<[^>]*id="id_{champ}"[^>]*aria-invalid="true"', html) or 'aria-invalid="true"' in html
    assert not Porteur.objects.exists()


def test_a_duplicate_siret_is_refused_and_a_join_request_is_offered_then_approved(
    client, mailoutbox, django_capture_on_commit_callbacks
):
    existant = PorteurFactory(nom="Les Amis du Panier")
    representant = MembreFactory(porteur=existant)
    demandeuse = UserFactory(first_name="Inès", last_name="Martin")
    client.force_login(demandeuse)

    # Same SIRET, typed with spaces: refused by the form, next to the field, with the offer to join.
    response = client.post(CREER, donnees(siret=espace(existant.siret)))
    html = response.content.decode()
    assert response.status_code == 200
    assert "déjà inscrite" in erreur_du_champ(html, "siret") and "Les Amis du Panier" in html
    assert reverse("associations:adhesion_demander") in html
    assert html.count('id="id_siret"') == 1  # the join form on the same page has its own ids
    assert Porteur.objects.count() == 1

    rejoindre = {"siret": existant.siret, "message": "Je suis la nouvelle trésorière."}
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("associations:adhesion_demander"), rejoindre)
    assert response.status_code == 302 and response.url == reverse("associations:mes_structures")
    adhesion = DemandeAdhesion.objects.get()
    assert (adhesion.user, adhesion.statut) == (demandeuse, StatutAdhesion.EN_ATTENTE)
    assert [m.to for m in mailoutbox] == [[representant.user.email]]
    assert "nouvelle trésorière" in mailoutbox[0].body

    # Double click: nothing new.
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("associations:adhesion_demander"), rejoindre)
    assert DemandeAdhesion.objects.count() == 1 and len(mailoutbox) == 1
    assert "en attente" in client.get(reverse("associations:mes_structures")).content.decode()
    # Until approved, the porteur stays closed to her.
    assert client.get(reverse("associations:porteur_detail", kwargs={"pk": existant.pk})).status_code == 404

    # The représentant légal sees the request and approves it as gestionnaire.
    client.force_login(representant.user)
    membres = client.get(reverse("associations:membres", kwargs={"pk": existant.pk})).content.decode()
    assert "Je suis la nouvelle trésorière." in membres
    decider = reverse("associations:adhesion_decider", kwargs={"pk": existant.pk, "adhesion_pk": adhesion.pk})
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(decider, {"decision": "accepter", "role": RoleMembre.GESTIONNAIRE})
    assert response.status_code == 302
    assert Membre.objects.get(porteur=existant, user=demandeuse).role == RoleMembre.GESTIONNAIRE
    adhesion.refresh_from_db()
    assert (adhesion.statut, adhesion.decide_par) == (StatutAdhesion.ACCEPTEE, representant.user)
    assert mailoutbox[-1].to == [demandeuse.email] and "gestionnaire" in mailoutbox[-1].body
    assert Courriel.objects.filter(modele="associations/adhesion_decidee").count() == 1

    # Deciding again (second tab) changes nothing.
    response = client.post(decider, {"decision": "refuser"}, follow=True)
    assert "déjà été traitée" in response.content.decode()
    assert Membre.objects.filter(porteur=existant, user=demandeuse).count() == 1

    client.force_login(demandeuse)
    assert client.get(reverse("associations:porteur_detail", kwargs={"pk": existant.pk})).status_code == 200


def test_a_refused_join_request_is_notified_and_grants_nothing(django_capture_on_commit_callbacks, mailoutbox):
    representant = MembreFactory()
    adhesion = DemandeAdhesionFactory(porteur=representant.porteur)
    with django_capture_on_commit_callbacks(execute=True):
        adhesion_decider(adhesion=adhesion, user=representant.user, accepter=False)
    adhesion.refresh_from_db()
    assert adhesion.statut == StatutAdhesion.REFUSEE
    assert not Membre.objects.filter(user=adhesion.user).exists()
    assert mailoutbox[0].to == [adhesion.user.email] and "n'a pas été acceptée" in mailoutbox[0].body


def test_only_a_representant_legal_decides_a_join_request(client):
    gestionnaire = MembreFactory(role=RoleMembre.GESTIONNAIRE)
    adhesion = DemandeAdhesionFactory(porteur=gestionnaire.porteur)
    client.force_login(gestionnaire.user)
    url = reverse("associations:adhesion_decider", kwargs={"pk": gestionnaire.porteur_id, "adhesion_pk": adhesion.pk})
    assert client.post(url, {"decision": "accepter", "role": "representant_legal"}).status_code == 403
    assert not Membre.objects.filter(user=adhesion.user).exists()


def test_a_member_cannot_ask_to_join_again():
    membre = MembreFactory()
    with pytest.raises(ValidationError, match="déjà membre"):
        adhesion_demander(porteur=membre.porteur, user=membre.user)


def test_the_service_refuses_a_second_porteur_with_the_same_siret():
    existant = PorteurFactory()
    champs = donnees(siret=existant.siret)
    champs.update({"etpt": "4.5", "budget_annee_precedente": None, "budget_annee_courante": None})
    with pytest.raises(ValidationError) as erreur:
        porteur_creer(user=UserFactory(), champs=champs)
    assert "déjà inscrite" in erreur.value.message_dict["siret"][0]
    assert Porteur.objects.count() == 1


def test_a_gestionnaire_edits_the_identification(client_de, porteur, gestionnaire):
    client = client_de(gestionnaire)
    url = reverse("associations:porteur_modifier", kwargs={"pk": porteur.pk})
    assert client.get(url).status_code == 200
    response = client.post(url, donnees(siret=porteur.siret, nom="Les Amis du Panier (nouveau nom)"))
    assert response.status_code == 302
    porteur.refresh_from_db()
    assert porteur.nom == "Les Amis du Panier (nouveau nom)"
    assert porteur.benevoles == 25


def test_editing_cannot_take_the_siret_of_another_porteur(client_de, porteur, representant):
    autre = PorteurFactory()
    response = client_de(representant).post(
        reverse("associations:porteur_modifier", kwargs={"pk": porteur.pk}), donnees(siret=autre.siret)
    )
    assert response.status_code == 200
    assert "déjà inscrite" in erreur_du_champ(response.content.decode(), "siret")
    porteur.refresh_from_db()
    assert porteur.siret != autre.siret


def test_a_lecteur_reads_the_identification_but_cannot_edit_it(client_de, porteur, lecteur):
    client = client_de(lecteur)
    page = client.get(reverse("associations:porteur_detail", kwargs={"pk": porteur.pk})).content.decode()
    assert porteur.nom in page
    assert reverse("associations:porteur_modifier", kwargs={"pk": porteur.pk}) not in page
    url = reverse("associations:porteur_modifier", kwargs={"pk": porteur.pk})
    assert client.get(url).status_code == 403
    assert client.post(url, donnees(siret=porteur.siret, nom="Piraté")).status_code == 403
    porteur.refresh_from_db()
    assert porteur.nom == "Les Amis du Panier"


def test_mes_structures_lists_roles_invitations_and_join_requests(client, porteur, representant):
    from tests.associations.factories import InvitationFactory

    user = representant.user
    autre = PorteurFactory(nom="Boxe Club du 3e")
    MembreFactory(porteur=autre, user=user, role=RoleMembre.LECTEUR)
    DemandeAdhesionFactory(porteur=porteur)
    InvitationFactory(email=user.email, porteur=PorteurFactory(nom="Jardin partagé Félix Pyat"))
    DemandeAdhesionFactory(user=user, porteur=PorteurFactory(nom="Radio Galère"))
    client.force_login(user)
    html = client.get(reverse("associations:mes_structures")).content.decode()
    assert "Les Amis du Panier" in html and "Représentant légal" in html
    assert "Boxe Club du 3e" in html and "Lecteur" in html
    assert "1 demande d'adhésion" in html
    assert "Jardin partagé Félix Pyat" in html
    assert "Radio Galère" in html and "En attente" in html


def test_mes_structures_query_count_is_constant(client, django_assert_num_queries):
    from tests.associations.factories import InvitationFactory

    user = UserFactory()
    client.force_login(user)

    def une_de_chaque():
        MembreFactory(user=user, role=RoleMembre.REPRESENTANT_LEGAL)
        InvitationFactory(email=user.email)
        DemandeAdhesionFactory(user=user)

    une_de_chaque()
    une_de_chaque()
    # session, user, staff roles (navigation), memberships, join requests, verified emails, invitations
    with django_assert_num_queries(7):
        assert client.get(reverse("associations:mes_structures")).status_code == 200
    une_de_chaque()
    with django_assert_num_queries(7):
        response = client.get(reverse("associations:mes_structures"))
    assert response.content.decode().count("Voir l'invitation") == 3


# --- Porteurs without SIRET (imported from a funder's file that gave none) ----------------------------------------


def test_several_porteurs_without_siret_coexist_but_a_filled_siret_stays_unique():
    a = PorteurFactory(siret="", nom="AGORA")
    b = PorteurFactory(siret="", nom="COSDEN")
    assert (a.siren, b.siren) == ("", "")
    a.full_clean()  # an empty SIRET is allowed by the model (and not "taken" by the other one)
    avec = PorteurFactory()
    doublon = PorteurFactory.build(siret=avec.siret)
    with pytest.raises(ValidationError) as erreur:
        doublon.full_clean()
    assert "Une structure est déjà inscrite avec ce SIRET." in str(erreur.value)
    from django.db import IntegrityError, transaction

    with pytest.raises(IntegrityError), transaction.atomic():
        Porteur.objects.filter(pk=b.pk).update(siret=avec.siret)


@pytest.mark.parametrize("siret", ["", "   ", ". ."])
def test_online_registration_still_requires_a_siret(client, siret):
    PorteurFactory(siret="", nom="Importée sans SIRET")
    client.force_login(UserFactory())
    response = client.post(CREER, donnees(siret=siret))
    assert response.status_code == 200
    assert erreur_du_champ(response.content.decode(), "siret").strip()
    assert Porteur.objects.count() == 1


def test_the_member_of_a_porteur_imported_without_siret_must_complete_it(client_de):
    porteur = PorteurFactory(siret="", nom="AGORA")
    representant = MembreFactory(porteur=porteur, role=RoleMembre.REPRESENTANT_LEGAL)
    url = reverse("associations:porteur_modifier", kwargs={"pk": porteur.pk})
    client = client_de(representant)
    response = client.post(url, donnees(siret="", nom="AGORA"))
    assert response.status_code == 200
    assert "Ce champ est obligatoire." in erreur_du_champ(response.content.decode(), "siret")
    response = client.post(url, donnees(siret=espace(siret_valide(90002)), nom="AGORA"))
    assert response.status_code == 302
    porteur.refresh_from_db()
    assert (porteur.siret, porteur.siren) == (siret_valide(90002), siret_valide(90002)[:9])


def test_a_join_request_never_targets_a_porteur_without_siret():
    from associations.forms import AdhesionForm

    PorteurFactory(siret="", nom="AGORA")
    for valeur in (".", " - "):
        form = AdhesionForm(data={"siret": valeur})
        assert not form.is_valid()
        assert form.errors["siret"] == ["Aucune structure n'est inscrite avec ce SIRET."] and form.porteur is None
