"""The porteur's side of the message thread (post, read, notified both ways, internal notes never shown) and the
decision letters in the porteur's space (own letters only, downloadable)."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from associations.enums import RoleMembre
from subventions.comites import services as comites
from subventions.comites.models import LettreDecision
from subventions.demandes import services_instruction
from subventions.demandes.models import Demande, Message, NoteInterne
from tests.comites.aides import campagne_de_test, instruite, seance_de_test, secretaire
from tests.demandes.aides_vues import membre_de, texte
from tests.demandes.test_instruction_vues import construire_monde
from tests.factories import MembreFactory, demande_complete
from workflows.models import Courriel
from workflows.transitions import TransitionRefusee

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return construire_monde()


def _url_message(demande) -> str:
    return reverse("demandes:message", args=[demande.pk])


def _detail(client, demande) -> str:
    return texte(client.get(reverse("demandes:detail", args=[demande.pk])))


# --- The thread on the porteur's demande page.


def test_the_representant_posts_a_message_and_reads_the_thread(client, monde):
    demande = monde["demande"]
    services_instruction.message_instruction_envoyer(
        demande=demande, user=monde["instr_etat"], texte="Merci de préciser le calendrier."
    )
    client.force_login(monde["rl"])
    page = _detail(client, demande)
    assert "Messages avec le service instructeur" in page and "Merci de préciser le calendrier." in page
    assert 'name="message-texte"' in page
    reponse = client.post(_url_message(demande), {"message-texte": "  Les ateliers commencent en mars.  "})
    assert reponse.status_code == 302 and reponse.url == reverse("demandes:detail", args=[demande.pk]) + "#messages"
    message = Message.objects.get(demande=demande, de_l_instruction=False)
    assert (message.auteur, message.texte) == (monde["rl"], "Les ateliers commencent en mars.")
    page = _detail(client, demande)
    assert "Les ateliers commencent en mars." in page and "Votre message est envoyé au service instructeur." in page


def test_a_gestionnaire_may_post_too(client, monde):
    gestionnaire = membre_de(monde["demande"].porteur, RoleMembre.GESTIONNAIRE)
    client.force_login(gestionnaire.user)
    client.post(_url_message(monde["demande"]), {"message-texte": "Bonjour"})
    assert Message.objects.filter(auteur=gestionnaire.user, de_l_instruction=False).count() == 1


def test_an_empty_message_is_refused_in_french(client, monde):
    client.force_login(monde["rl"])
    reponse = client.post(_url_message(monde["demande"]), {"message-texte": "   "}, follow=True)
    assert "Le message est vide." in texte(reponse)
    assert not Message.objects.exists()


def test_no_thread_form_on_a_brouillon(client):
    brouillon = demande_complete()
    client.force_login(brouillon.cree_par)
    assert 'name="message-texte"' not in _detail(client, brouillon)
    client.post(_url_message(brouillon), {"message-texte": "Trop tôt"})
    assert not Message.objects.exists()
    with pytest.raises(TransitionRefusee):
        services_instruction.message_porteur_envoyer(demande=brouillon, user=brouillon.cree_par, texte="Trop tôt")


def test_a_lecteur_reads_the_thread_but_cannot_post(client, monde):
    demande = monde["demande"]
    services_instruction.message_instruction_envoyer(demande=demande, user=monde["instr_etat"], texte="Bonjour")
    lecteur = membre_de(demande.porteur, RoleMembre.LECTEUR)
    client.force_login(lecteur.user)
    page = _detail(client, demande)
    assert "Bonjour" in page and 'name="message-texte"' not in page
    assert "permet de lire les messages, pas d'en écrire" in page
    assert client.post(_url_message(demande), {"message-texte": "Intrus"}).status_code == 403
    with pytest.raises(PermissionDenied):
        services_instruction.message_porteur_envoyer(demande=demande, user=lecteur.user, texte="Intrus")
    assert Message.objects.count() == 1


def test_a_member_of_another_porteur_gets_404(client, monde):
    autre = MembreFactory()
    client.force_login(autre.user)
    assert client.post(_url_message(monde["demande"]), {"message-texte": "Intrus"}).status_code == 404
    assert client.get(reverse("demandes:detail", args=[monde["demande"].pk])).status_code == 404
    with pytest.raises(PermissionDenied):
        services_instruction.message_porteur_envoyer(demande=monde["demande"], user=autre.user, texte="Intrus")
    assert not Message.objects.exists()


def test_internal_notes_are_never_shown_to_the_porteur(client, monde):
    demande = monde["demande"]
    services_instruction.note_interne_ajouter(demande=demande, user=monde["instr_etat"], texte="NOTE-SECRETE-42")
    services_instruction.message_instruction_envoyer(demande=demande, user=monde["instr_etat"], texte="Visible")
    assert NoteInterne.objects.count() == 1
    for user in (monde["rl"], membre_de(demande.porteur, RoleMembre.LECTEUR).user):
        client.force_login(user)
        page = _detail(client, demande)
        assert "Visible" in page and "NOTE-SECRETE-42" not in page
        assert "NOTE-SECRETE-42" not in texte(client.get(reverse("espace_association")))


def test_the_completed_file_is_deposited_again_from_the_deposit_step(client, monde):
    """Complements asked: "Déposer la demande" sends the file back (transition redeposer), not a second deposit."""
    demande = monde["demande"]
    Demande.objects.filter(pk=demande.pk).update(statut="a_completer")
    client.force_login(monde["rl"])
    reponse = client.post(
        reverse("demandes:etape", args=[demande.pk, "depot"]),
        {"nom": "Aïcha Durand", "qualite": "Présidente", "engagement_republicain": "on", "exactitude": "on"},
        follow=True,
    )
    assert "est renvoyée au service instructeur" in texte(reponse)
    rafraichie = Demande.objects.get(pk=demande.pk)
    assert (rafraichie.statut, rafraichie.numero) == ("deposee", demande.numero)


# --- Emails, both ways, through the outbox.


def test_a_staff_message_emails_the_porteur_members(monde, mailoutbox, django_capture_on_commit_callbacks):
    demande = monde["demande"]
    gestionnaire = membre_de(demande.porteur, RoleMembre.GESTIONNAIRE)
    with django_capture_on_commit_callbacks(execute=True):
        message = services_instruction.message_instruction_envoyer(
            demande=demande, user=monde["instr_etat"], texte="Il manque le bilan 2014."
        )
    courriel = Courriel.objects.get(modele=f"message:{message.pk}")
    assert courriel.destinataires == sorted([monde["rl"].email, gestionnaire.user.email])
    assert len(mailoutbox) == 1
    envoye = mailoutbox[0]
    assert sorted(envoye.to) == courriel.destinataires
    assert demande.numero in envoye.subject and "Il manque le bilan 2014." in envoye.body
    assert f"/demandes/{demande.pk}/" in envoye.body
    assert monde["instr_etat"].email not in envoye.to


def test_a_porteur_message_emails_the_assigned_instructeur(monde, mailoutbox, django_capture_on_commit_callbacks):
    demande = monde["demande"]
    instr = monde["instr_etat"]
    Demande.objects.filter(pk=demande.pk).update(instructeur=instr)
    with django_capture_on_commit_callbacks(execute=True):
        message = services_instruction.message_porteur_envoyer(
            demande=demande, user=monde["rl"], texte="Voici le bilan demandé."
        )
    assert Courriel.objects.get(modele=f"message:{message.pk}").destinataires == [instr.email]
    assert len(mailoutbox) == 1 and mailoutbox[0].to == [instr.email]
    assert "Voici le bilan demandé." in mailoutbox[0].body
    assert reverse("instruction:demande", args=[demande.pk]) + "#messages" in mailoutbox[0].body
    assert demande.porteur.nom in mailoutbox[0].subject


def test_a_porteur_message_without_assigned_instructeur_sends_nothing(
    monde, mailoutbox, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services_instruction.message_porteur_envoyer(demande=monde["demande"], user=monde["rl"], texte="Bonjour")
    assert not Courriel.objects.exists() and mailoutbox == []


# --- Decision letters in the porteur's space.


@pytest.fixture
def lettres():
    """A closed séance deciding one demande of porteur A and one of porteur B: one letter each."""
    campagne, etat, ville, _pilier = campagne_de_test()
    comite = secretaire(etat, ville)
    seance = seance_de_test(campagne, comite)
    a, b = instruite(campagne, intitule="Action de A"), instruite(campagne, intitule="Action de B")
    comites.odj_ajouter(seance=seance, user=comite, demandes=[a, b])
    comites.decider_en_bloc(seance=seance, user=comite)
    comites.seance_cloturer(seance=seance, user=comite)
    return {
        "a": a.porteur.membres.get(),
        "b": b.porteur.membres.get(),
        "lettre_a": LettreDecision.objects.get(porteur=a.porteur),
        "lettre_b": LettreDecision.objects.get(porteur=b.porteur),
        "demande_a": a,
    }


def test_the_home_lists_the_porteurs_own_letters_and_they_download(client, lettres):
    client.force_login(lettres["a"].user)
    page = texte(client.get(reverse("espace_association")))
    assert 'id="courriers"' in page and "Lettre de décision du comité du 09/06/2015" in page
    url_a = reverse("comites:lettre_telecharger", args=[lettres["lettre_a"].pk])
    url_b = reverse("comites:lettre_telecharger", args=[lettres["lettre_b"].pk])
    assert f'href="{url_a}"' in page and url_b not in page
    reponse = client.get(url_a)
    assert reponse.status_code == 200 and reponse["Content-Type"] == "application/pdf"
    assert b"".join(reponse.streaming_content).startswith(b"%PDF")
    # The demande page links to that section of the home.
    detail = _detail(client, lettres["demande_a"])
    assert "Courriers de décision" in detail and f'href="{reverse("espace_association")}#courriers"' in detail


def test_another_porteurs_letter_is_not_found(client, lettres):
    client.force_login(lettres["b"].user)
    reponse = client.get(reverse("comites:lettre_telecharger", args=[lettres["lettre_a"].pk]))
    assert reponse.status_code in (403, 404)
    lecteur = membre_de(lettres["a"].porteur, RoleMembre.LECTEUR)
    client.force_login(lecteur.user)  # any member of the porteur reads its letters
    assert client.get(reverse("comites:lettre_telecharger", args=[lettres["lettre_a"].pk])).status_code == 200


def test_a_home_without_letters_says_so(client, monde):
    client.force_login(monde["rl"])
    page = texte(client.get(reverse("espace_association")))
    assert "Aucun courrier de décision pour l'instant" in page
