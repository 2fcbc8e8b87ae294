"""Writes of the instruction team that are not state changes: assignment, internal notes, messages to the porteur."""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from subventions.demandes.models import Demande, Message, NoteInterne
from subventions.demandes.permissions import est_instructeur_de
from workflows.transitions import TransitionRefusee


def _verrouiller_pour(demande: Demande, user) -> Demande:
    verrouillee = Demande.objects.select_for_update().get(pk=demande.pk)
    if not est_instructeur_de(verrouillee, user):
        raise TransitionRefusee(_("Vous n'avez pas le droit d'effectuer cette action sur ce dossier."))
    return verrouillee


@transaction.atomic
def demande_assigner(*, demande: Demande, user, instructeur) -> Demande:
    """Assign the demande to `instructeur` (None: nobody), who must be an instructeur of a financeur it asks and of
    its territoire: the Ville's instructeur is never handed a file that only the État funds."""
    verrouillee = _verrouiller_pour(demande, user)
    if instructeur is not None and not est_instructeur_de(verrouillee, instructeur):
        raise TransitionRefusee(
            _("%(nom)s n'instruit pas pour les financeurs ou le territoire de ce dossier.")
            % {"nom": instructeur.get_full_name() or instructeur.email}
        )
    verrouillee.instructeur = instructeur
    verrouillee.save(update_fields=["instructeur", "modifie_le"])
    return verrouillee


@transaction.atomic
def note_interne_ajouter(*, demande: Demande, user, texte: str) -> NoteInterne:
    verrouillee = _verrouiller_pour(demande, user)
    if not texte.strip():
        raise TransitionRefusee(_("La note est vide."))
    note = NoteInterne(demande=verrouillee, auteur=user, texte=texte.strip())
    note.full_clean()
    note.save()
    return note


@transaction.atomic
def message_instruction_envoyer(*, demande: Demande, user, texte: str) -> Message:
    """A message of the instruction team to the porteur, in the demande's thread."""
    verrouillee = _verrouiller_pour(demande, user)
    if not texte.strip():
        raise TransitionRefusee(_("Le message est vide."))
    message = Message(demande=verrouillee, auteur=user, texte=texte.strip(), de_l_instruction=True)
    message.full_clean()
    message.save()
    from subventions.demandes.notifications import notifier_message

    notifier_message(message=message)
    return message


@transaction.atomic
def message_porteur_envoyer(*, demande: Demande, user, texte: str) -> Message:
    """A message of the porteur to the instruction team, in the demande's thread.

    Only a représentant légal or a gestionnaire of the demande's porteur may write (PermissionDenied otherwise), and
    only once the demande is deposited: a brouillon has no instructeur yet. The assigned instructeur, if any, gets
    an email through the outbox.
    """
    from django.core.exceptions import PermissionDenied

    from associations.models import Membre
    from subventions.demandes.enums import StatutDemande
    from subventions.demandes.notifications import notifier_message
    from subventions.demandes.services import ROLES_EDITION

    verrouillee = Demande.objects.select_for_update().get(pk=demande.pk)
    if not Membre.objects.filter(porteur_id=verrouillee.porteur_id, user=user, role__in=ROLES_EDITION).exists():
        raise PermissionDenied(_("Seuls les représentants légaux et gestionnaires de la structure peuvent écrire."))
    if verrouillee.statut == StatutDemande.BROUILLON:
        raise TransitionRefusee(_("Déposez d'abord la demande : le fil de messages s'ouvre au dépôt."))
    if not texte.strip():
        raise TransitionRefusee(_("Le message est vide."))
    message = Message(demande=verrouillee, auteur=user, texte=texte.strip(), de_l_instruction=False)
    message.full_clean()
    message.save()
    notifier_message(message=message)
    return message
