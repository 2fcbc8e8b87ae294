"""Emails to a porteur about its demande (compléments, irrecevabilité, décision, reminders), one outbox row each."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Prefetch
from django.template.loader import render_to_string
from django.urls import reverse

from subventions.demandes.models import Demande, LigneFinancement
from workflows.models import Courriel, TransitionLog
from workflows.services import courriel_programmer

# Transitions that carry the comité's decision on a demande.
TRANSITIONS_DECISION = ("valider", "refuser", "ajourner")


def lien_demande(demande: Demande) -> str:
    """Absolute link to the demande in the association's space."""
    site = getattr(settings, "SUBVENTIONS_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
    return site + reverse("demandes:detail", kwargs={"pk": demande.pk})


def destinataires_porteur(demande: Demande) -> list[str]:
    """Emails of the porteur's members whose account is active, sorted, without duplicates."""
    emails = demande.porteur.membres.filter(user__is_active=True).values_list("user__email", flat=True)
    return sorted({email for email in emails if email})


def _nombre_de_transitions(demande: Demande, *noms: str) -> int:
    return TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(Demande), object_id=demande.pk, transition__in=noms
    ).count()


def _programmer(*, demande: Demande, modele: str, sujet: str, gabarit: str, contexte: dict) -> Courriel | None:
    """One outbox row per `modele`: a second call for the same event writes nothing and returns None.

    The demande row is locked first (the transition services already hold the lock), so two concurrent calls for
    the same event cannot both see "no row yet".
    """
    with transaction.atomic():
        Demande.objects.select_for_update().filter(pk=demande.pk).exists()
        if Courriel.objects.filter(modele=modele).exists():
            return None
        destinataires = destinataires_porteur(demande)
        if not destinataires:
            return None
        contexte = {"demande": demande, "lien": lien_demande(demande), **contexte}
        return courriel_programmer(
            destinataires=destinataires,
            sujet=sujet,
            texte=render_to_string(gabarit, contexte),
            modele=modele,
        )


def notifier_complements(*, demande: Demande, message: str, echeance: date) -> Courriel | None:
    """Tell the porteur what is missing and by when; one email per request for complements."""
    n = _nombre_de_transitions(demande, "demander_complements")
    return _programmer(
        demande=demande,
        modele=f"complements:{demande.pk}:{n}",
        sujet=f"Compléments demandés pour votre demande {demande.numero} — {demande.intitule}",
        gabarit="notifications/complements.txt",
        contexte={"message": message, "echeance": echeance},
    )


def notifier_irrecevable(*, demande: Demande, motif: str) -> Courriel | None:
    """Tell the porteur its demande is irrecevable, and why; once per demande."""
    return _programmer(
        demande=demande,
        modele=f"irrecevable:{demande.pk}",
        sujet=f"Votre demande {demande.numero} est irrecevable — {demande.intitule}",
        gabarit="notifications/irrecevable.txt",
        contexte={"motif": motif},
    )


def notifier_decision(*, demande: Demande) -> Courriel | None:
    """Tell the porteur the comité's decision, line by line with the amounts granted.

    Call it after the decision transition (valider, refuser or ajourner), in the same transaction: the key counts
    those transitions, so a demande ajournée then decided later gets a second email, and a repeated call none.
    """
    n = _nombre_de_transitions(demande, *TRANSITIONS_DECISION)
    demande = (
        Demande.objects.select_related("porteur", "campagne")
        .prefetch_related(
            Prefetch(
                "lignes_financement",
                queryset=LigneFinancement.objects.select_related("financeur").filter(montant_demande__gt=0),
            )
        )
        .get(pk=demande.pk)
    )
    return _programmer(
        demande=demande,
        modele=f"decision:{demande.pk}:{n}",
        sujet=f"Décision sur votre demande {demande.numero} — {demande.intitule}",
        gabarit="notifications/decision.txt",
        contexte={"lignes": list(demande.lignes_financement.all())},
    )


def notifier_rappel_complements(*, demande: Demande) -> Courriel | None:
    """Reminder: the complements are due soon; once per demande and deadline."""
    echeance = demande.echeance_complements
    return _programmer(
        demande=demande,
        modele=f"rappel-complements:{demande.pk}:{echeance.isoformat()}",
        sujet=f"Rappel : compléments attendus le {echeance:%d/%m/%Y} — {demande.intitule}",
        gabarit="notifications/rappel_complements.txt",
        contexte={"echeance": echeance},
    )


def notifier_rappel_cloture(*, demande: Demande, cloture: date) -> Courriel | None:
    """Reminder: a brouillon not deposited yet, the campagne closes soon; once per brouillon and closing date."""
    return _programmer(
        demande=demande,
        modele=f"rappel-cloture:{demande.pk}:{cloture.isoformat()}",
        sujet=f"Rappel : la campagne ferme le {cloture:%d/%m/%Y}, votre demande n'est pas déposée",
        gabarit="notifications/rappel_cloture.txt",
        contexte={"cloture": cloture},
    )


def notifier_message(*, message) -> Courriel | None:
    """A new message of the thread: from the instruction team, to the porteur's members; from the porteur, to the
    instructeur assigned to the demande (nobody assigned: no email). Once per message."""
    demande = Demande.objects.select_related("porteur", "instructeur").get(pk=message.demande_id)
    modele = f"message:{message.pk}"
    if Courriel.objects.filter(modele=modele).exists():
        return None
    if message.de_l_instruction:
        destinataires = destinataires_porteur(demande)
        lien = lien_demande(demande)
        sujet = f"Nouveau message du service instructeur — {demande.numero} {demande.intitule}"
        entete = "Le service instructeur vous a écrit au sujet de votre demande"
    else:
        instructeur = demande.instructeur
        destinataires = [instructeur.email] if instructeur and instructeur.is_active and instructeur.email else []
        site = getattr(settings, "SUBVENTIONS_SITE_URL", "http://127.0.0.1:8000").rstrip("/")
        lien = site + reverse("instruction:demande", kwargs={"pk": demande.pk}) + "#messages"
        sujet = f"Message du porteur {demande.porteur.nom} — {demande.numero} {demande.intitule}"
        entete = f"{demande.porteur.nom} a écrit au sujet du dossier"
    if not destinataires:
        return None
    texte = (
        f"Bonjour,\n\n{entete} n° {demande.numero} « {demande.intitule} » :\n\n{message.texte}\n\n"
        f"Pour lire le fil et répondre : {lien}\n\n"
        "Ce message est envoyé automatiquement, merci de ne pas y répondre par courriel.\n"
    )
    return courriel_programmer(destinataires=destinataires, sujet=sujet, texte=texte, modele=modele)
