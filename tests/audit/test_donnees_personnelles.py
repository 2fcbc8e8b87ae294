"""A member downloads what the product holds about them and closes their account; drafts have a retention period."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from associations.models import Membre, Porteur
from subventions.comptes.enums import Role
from subventions.comptes.models import User
from subventions.demandes.models import Demande, LigneFinancement, Message
from tests.factories import DEFAULT_PASSWORD, CampagneFactory, MembreFactory, UserFactory, agent
from workflows.models import TransitionLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def membre():
    membre = MembreFactory(role="representant_legal", user=UserFactory(email="aicha@asso.test", telephone="0601"))
    campagne = CampagneFactory()
    demande = Demande.objects.create(
        campagne=campagne, porteur=membre.porteur, cree_par=membre.user, intitule="Ateliers"
    )
    Message.objects.create(demande=demande, auteur=membre.user, texte="Voici le budget corrigé.")
    TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(Demande),
        object_id=demande.pk,
        transition="deposer",
        source="brouillon",
        cible="deposee",
        acteur=membre.user,
    )
    return membre


def test_a_member_downloads_everything_about_them_and_no_secret(client, membre, django_assert_max_num_queries):
    autre = MembreFactory()
    Message.objects.create(
        demande=Demande.objects.create(
            campagne=CampagneFactory(), porteur=autre.porteur, cree_par=autre.user, intitule="Autre"
        ),
        auteur=autre.user,
        texte="Message d'une autre personne",
    )
    client.force_login(membre.user)
    with django_assert_max_num_queries(25):
        response = client.get(reverse("audit:mes_donnees_telecharger"))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith('attachment; filename="mes-donnees-subventions-')
    donnees = json.loads(response.content)
    assert donnees["compte"]["email"] == "aicha@asso.test" and donnees["compte"]["telephone"] == "0601"
    assert [a["email"] for a in donnees["adresses_electroniques"]] == ["aicha@asso.test"]
    assert donnees["adhesions"] == [
        {
            "structure": membre.porteur.nom,
            "siret": membre.porteur.siret,
            "role": "representant_legal",
            "depuis_le": membre.cree_le.isoformat(),
        }
    ]
    assert [m["texte"] for m in donnees["messages_ecrits"]] == ["Voici le budget corrigé."]
    assert [t["transition"] for t in donnees["changements_d_etat"]] == ["deposer"]
    assert len(donnees["demandes_creees_ou_deposees"]) == 1
    brut = response.content.decode()
    assert "pbkdf2" not in brut and membre.user.password not in brut
    assert "Message d'une autre personne" not in brut


def test_mfa_presence_is_exported_without_its_secret(client):
    user = agent(Role.INSTRUCTEUR, tous=True)
    from allauth.mfa.models import Authenticator

    secret = Authenticator.objects.get(user=user).data
    client.force_login(user)
    donnees = json.loads(client.get(reverse("audit:mes_donnees_telecharger")).content)
    assert [a["type"] for a in donnees["double_authentification"]] == ["totp"]
    assert [h["role"] for h in donnees["habilitations"]] == [Role.INSTRUCTEUR]
    assert json.dumps(secret)[2:20] not in json.dumps(donnees)


def test_the_page_says_the_structures_data_is_kept(client, membre):
    client.force_login(membre.user)
    page = client.get(reverse("audit:mes_donnees")).content.decode()
    assert "Les données des structures (porteurs) sont conservées" in page
    assert "durée légale" in page and "24 mois" in page


def test_closing_asks_the_password_again_then_anonymises_and_keeps_the_porteurs_records(client, membre):
    user, porteur = membre.user, membre.porteur
    client.force_login(user)
    # force_login records no authentication: allauth asks for the password before the account can be closed.
    response = client.post(reverse("audit:compte_fermer"), {"confirmation": "FERMER"})
    assert response.status_code == 302 and response.url.startswith(reverse("account_reauthenticate"))
    assert User.objects.get(pk=user.pk).is_active
    client.post(reverse("account_reauthenticate"), {"password": DEFAULT_PASSWORD})
    assert client.post(reverse("audit:compte_fermer"), {"confirmation": "non"}).status_code == 302
    assert User.objects.get(pk=user.pk).is_active
    response = client.post(reverse("audit:compte_fermer"), {"confirmation": "FERMER"})
    assert response.status_code == 302 and response.url == reverse("accueil")
    ferme = User.objects.get(pk=user.pk)
    assert not ferme.is_active and not ferme.has_usable_password()
    assert ferme.email == f"compte-ferme-{user.pk}@invalid" and "aicha" not in (ferme.first_name + ferme.last_name)
    assert ferme.telephone == ""
    assert not Membre.objects.filter(user=ferme).exists()
    # The funding records stay: the porteur, its demande, the messages and the transitions made.
    assert Porteur.objects.filter(pk=porteur.pk).exists()
    assert Demande.objects.filter(porteur=porteur).count() == 1
    assert Message.objects.filter(auteur=ferme).count() == 1
    assert TransitionLog.objects.filter(acteur=ferme).count() == 1
    # Nobody can log in with the old address or password any more; the session is gone.
    assert client.get(reverse("audit:mes_donnees")).status_code == 302
    client.post(reverse("account_login"), {"login": "aicha@asso.test", "password": DEFAULT_PASSWORD})
    assert "_auth_user_id" not in client.session


def test_an_agent_account_is_not_closed_from_here(client):
    user = agent(Role.INSTRUCTEUR, tous=True)
    client.force_login(user)
    session = client.session
    session["account_authentication_methods"] = [{"method": "password", "at": timezone.now().timestamp()}]
    session.save()
    client.post(reverse("audit:compte_fermer"), {"confirmation": "FERMER"})
    assert User.objects.get(pk=user.pk).is_active


def _vieillir(demande, jours: int) -> None:
    Demande.objects.filter(pk=demande.pk).update(modifie_le=timezone.now() - timedelta(days=jours))


def test_drafts_untouched_past_the_retention_period_are_purged(membre, capsys):
    campagne = CampagneFactory()
    porteur, user = membre.porteur, membre.user
    ancien = Demande.objects.create(campagne=campagne, porteur=porteur, cree_par=user, intitule="Oublié")
    LigneFinancement.objects.create(demande=ancien, financeur=campagne.financeurs.first() or _financeur())
    recent = Demande.objects.create(campagne=campagne, porteur=porteur, cree_par=user, intitule="En cours")
    depose = Demande.objects.create(campagne=campagne, porteur=porteur, cree_par=user, intitule="Déposé")
    Demande.objects.filter(pk=depose.pk).update(statut="deposee", depose_le=timezone.now() - timedelta(days=1000))
    for d, jours in ((ancien, 30 * 24 + 1), (recent, 30 * 24 - 1), (depose, 1000)):
        _vieillir(d, jours)
    brouillon_fixture = Demande.objects.get(intitule="Ateliers")  # created today: kept

    call_command("purger_brouillons", "--dry-run")
    assert "1 brouillon(s) de plus de 24 mois seraient supprimés" in capsys.readouterr().out
    assert Demande.objects.filter(pk=ancien.pk).exists()

    call_command("purger_brouillons")
    assert "1 brouillon(s) de plus de 24 mois supprimé(s)." in capsys.readouterr().out
    restants = set(Demande.objects.values_list("pk", flat=True))
    assert restants == {recent.pk, depose.pk, brouillon_fixture.pk}
    assert not LigneFinancement.objects.filter(demande_id=ancien.pk).exists()
    # Twice is harmless.
    call_command("purger_brouillons")
    assert "0 brouillon(s)" in capsys.readouterr().out


def _financeur():
    from tests.factories import FinanceurFactory

    return FinanceurFactory()
