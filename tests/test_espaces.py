"""The home page takes each user to their space; spaces show only the user's perimeter, at a fixed query cost."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import reverse

from subventions.comptes.enums import Role
from tests.factories import CampagneFactory, EnveloppeFactory, FinanceurFactory, PilierFactory, UserFactory, agent

pytestmark = pytest.mark.django_db


def test_anonymous_home_invites_to_sign_up_and_lists_open_campagnes(client):
    campagne = CampagneFactory(financeurs=[FinanceurFactory()])
    close = CampagneFactory(close=True)
    page = client.get(reverse("accueil")).content.decode()
    assert "Créer un compte association" in page
    assert campagne.titre in page
    assert close.titre not in page
    assert 'href="#contenu"' in page and 'id="contenu"' in page  # skip link to the main landmark


def test_association_member_goes_straight_to_their_space(client):
    client.force_login(UserFactory())
    response = client.get(reverse("accueil"))
    assert response.status_code == 302 and response.url == reverse("espace_association")


def test_user_with_several_spaces_chooses(client):
    user = agent(Role.INSTRUCTEUR, tous=True)
    client.force_login(user)
    page = client.get(reverse("accueil")).content.decode()
    assert reverse("espace_instruction") in page and reverse("espace_association") in page


def test_finance_space_shows_only_its_financeurs_enveloppes(client, django_assert_num_queries):
    etat, ville = FinanceurFactory(nom="État"), FinanceurFactory(nom="Ville de Test")
    campagne = CampagneFactory(financeurs=[etat, ville])
    EnveloppeFactory(campagne=campagne, financeur=etat, montant=Decimal("1234567.89"))
    EnveloppeFactory(campagne=campagne, financeur=ville, montant=Decimal("555.00"))
    autre = CampagneFactory(financeurs=[etat, ville])
    EnveloppeFactory(campagne=autre, financeur=etat, montant=Decimal("10.00"))
    EnveloppeFactory(
        campagne=autre, financeur=etat, pilier=PilierFactory(contrat=autre.contrat), montant=Decimal("5.00")
    )
    user = agent(Role.FINANCE, financeurs=[etat])
    client.force_login(user)
    with django_assert_num_queries(6):
        page = client.get(reverse("espace_finance")).content.decode()
    assert "1\xa0234\xa0567,89\xa0€" in page
    assert "555,00" not in page
    assert "Ville de Test" not in page


def test_instruction_space_query_count_is_constant(client, django_assert_num_queries):
    etat = FinanceurFactory()
    for _ in range(3):
        CampagneFactory(financeurs=[etat, FinanceurFactory()])
    client.force_login(agent(Role.INSTRUCTEUR, financeurs=[etat]))
    with django_assert_num_queries(8):
        client.get(reverse("espace_instruction"))
    for _ in range(3):
        CampagneFactory(financeurs=[etat, FinanceurFactory()])
    with django_assert_num_queries(8):
        page = client.get(reverse("espace_instruction")).content.decode()
    assert page.count("Appel à projets") >= 6


def test_comite_space_marks_conseil_citoyen_read_only(client):
    client.force_login(agent(Role.CONSEIL_CITOYEN, tous=True))
    assert "Accès en lecture" in client.get(reverse("espace_comite")).content.decode()
    client.force_login(agent(Role.COMITE, tous=True))
    assert "Accès en lecture" not in client.get(reverse("espace_comite")).content.decode()


def test_english_is_available(client):
    client.cookies["django_language"] = "en"
    page = client.get(reverse("accueil")).content.decode()
    assert '<html lang="en">' in page
