"""Reads of porteurs, always through the user's memberships: a member of A never loads B."""

from __future__ import annotations

from django.db.models import QuerySet
from django.http import Http404

from associations.enums import RoleMembre
from associations.models import Membre, Piece, Porteur


def porteurs_de(user) -> QuerySet[Porteur]:
    if not getattr(user, "is_authenticated", False):
        return Porteur.objects.none()
    return Porteur.objects.filter(membres__user=user).order_by("nom")


def membre_de(user, porteur_id: int, roles: tuple[str, ...] | None = None) -> Membre:
    """The user's membership of this porteur, or 404 (same answer whether it exists or not)."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    qs = Membre.objects.select_related("porteur").filter(user=user, porteur_id=porteur_id)
    membre = qs.first()
    if membre is None:
        raise Http404("Structure introuvable.")
    if roles is not None and membre.role not in roles:
        from django.core.exceptions import PermissionDenied

        raise PermissionDenied("Votre rôle dans cette structure ne permet pas cette action.")
    return membre


def pieces_du_porteur(porteur: Porteur) -> QuerySet[Piece]:
    return (
        porteur.pieces.filter(archivee=False)
        .select_related("type", "depose_par")
        .order_by("type__ordre", "-depose_le")
    )


ROLES_EDITION = (RoleMembre.REPRESENTANT_LEGAL, RoleMembre.GESTIONNAIRE)
