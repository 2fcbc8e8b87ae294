"""Reads of porteurs, always through the user's memberships: a member of A never loads B."""

from __future__ import annotations

from datetime import timedelta

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from associations.enums import RoleMembre, StatutAdhesion
from associations.models import DemandeAdhesion, Invitation, Membre, Piece, Porteur

ROLES_EDITION = (RoleMembre.REPRESENTANT_LEGAL, RoleMembre.GESTIONNAIRE)
ROLES_GESTION_MEMBRES = (RoleMembre.REPRESENTANT_LEGAL,)


def porteurs_de(user) -> QuerySet[Porteur]:
    if not getattr(user, "is_authenticated", False):
        return Porteur.objects.none()
    return Porteur.objects.filter(membres__user=user).order_by("nom")


def membre_de(user, porteur_id: int, roles: tuple[str, ...] | None = None) -> Membre:
    """The user's membership of this porteur, or 404 (same answer whether it exists or not); 403 for a wrong role."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    membre = Membre.objects.select_related("porteur").filter(user=user, porteur_id=porteur_id).first()
    if membre is None:
        raise Http404(_("Structure introuvable."))
    if roles is not None and membre.role not in roles:
        raise PermissionDenied(_("Votre rôle dans cette structure ne permet pas cette action."))
    return membre


def adhesions_de(user) -> QuerySet[Membre]:
    """The user's memberships with their porteur, for « Mes structures »."""
    return Membre.objects.filter(user=user).select_related("porteur").order_by("porteur__nom")


def membres_du_porteur(porteur: Porteur) -> QuerySet[Membre]:
    return porteur.membres.select_related("user").order_by("user__last_name", "user__first_name", "user__email")


def membre_du_porteur(porteur: Porteur, membre_id: int) -> Membre:
    membre = porteur.membres.select_related("user").filter(pk=membre_id).first()
    if membre is None:
        raise Http404(_("Membre introuvable."))
    return membre


def invitations_en_attente(porteur: Porteur) -> QuerySet[Invitation]:
    return porteur.invitations.filter(acceptee_le__isnull=True, annulee=False).select_related("invite_par")


def invitation_du_porteur(porteur: Porteur, invitation_id: int) -> Invitation:
    invitation = porteur.invitations.filter(pk=invitation_id).first()
    if invitation is None:
        raise Http404(_("Invitation introuvable."))
    return invitation


def adhesions_en_attente(porteur: Porteur) -> QuerySet[DemandeAdhesion]:
    return porteur.demandes_adhesion.filter(statut=StatutAdhesion.EN_ATTENTE).select_related("user")


def adhesion_du_porteur(porteur: Porteur, adhesion_id: int) -> DemandeAdhesion:
    adhesion = porteur.demandes_adhesion.select_related("user").filter(pk=adhesion_id).first()
    if adhesion is None:
        raise Http404(_("Demande d'adhésion introuvable."))
    return adhesion


def demandes_adhesion_de(user) -> QuerySet[DemandeAdhesion]:
    """The user's own join requests still waiting, and those decided in the last 30 days."""
    depuis = timezone.now() - timedelta(days=30)
    return (
        DemandeAdhesion.objects.filter(user=user)
        .exclude(statut=StatutAdhesion.ACCEPTEE, decide_le__lt=depuis)
        .exclude(statut=StatutAdhesion.REFUSEE, decide_le__lt=depuis)
        .select_related("porteur")
        .order_by("-cree_le")
    )


def emails_verifies(user) -> list[str]:
    from allauth.account.models import EmailAddress

    return [e.lower() for e in EmailAddress.objects.filter(user=user, verified=True).values_list("email", flat=True)]


def invitations_pour(user) -> QuerySet[Invitation]:
    """Invitations still usable, sent to one of the user's verified addresses."""
    return (
        Invitation.objects.filter(
            email__in=emails_verifies(user), acceptee_le__isnull=True, annulee=False, expire_le__gt=timezone.now()
        )
        .exclude(porteur__membres__user=user)
        .select_related("porteur")
        .order_by("-cree_le")
    )


def pieces_du_porteur(porteur: Porteur, *, archivees: bool = False) -> QuerySet[Piece]:
    return (
        porteur.pieces.filter(archivee=archivees)
        .select_related("type", "depose_par")
        .order_by("type__ordre", "-depose_le")
    )


def piece_du_porteur(porteur: Porteur, piece_id: int) -> Piece:
    """A pièce of this porteur (archived ones included: they may be attached to past demandes), or 404."""
    piece = porteur.pieces.select_related("type").filter(pk=piece_id).first()
    if piece is None:
        raise Http404(_("Pièce introuvable."))
    return piece
