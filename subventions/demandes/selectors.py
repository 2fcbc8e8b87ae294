"""Reads of demandes for porteurs' members (staff selectors come with the instruction stage)."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet
from django.http import Http404

from subventions.demandes.models import Demande, LigneFinancement


def demandes_des_porteurs_de(user) -> QuerySet[Demande]:
    if not getattr(user, "is_authenticated", False):
        return Demande.objects.none()
    return (
        Demande.objects.filter(porteur__membres__user=user)
        .select_related("campagne", "porteur")
        .prefetch_related(
            Prefetch("lignes_financement", queryset=LigneFinancement.objects.select_related("financeur"))
        )
        .order_by("-campagne__exercice", "-cree_le")
    )


def demande_pour_membre(user, pk: int) -> Demande:
    """The demande if the user is a member of its porteur; 404 otherwise (never 'exists but forbidden')."""
    demande = demandes_des_porteurs_de(user).filter(pk=pk).first()
    if demande is None:
        raise Http404("Demande introuvable.")
    return demande
