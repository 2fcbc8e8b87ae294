"""Reads of campagnes and enveloppes, scoped to the user."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils import timezone

from subventions.campagnes.models import Campagne, Enveloppe
from subventions.comptes.scopes import scope_queryset


def campagnes_ouvertes() -> QuerySet[Campagne]:
    """Campagnes open for deposit now: public information for every signed-in user."""
    maintenant = timezone.now()
    return (
        Campagne.objects.filter(ouverture__lte=maintenant, cloture__gt=maintenant)
        .select_related("contrat")
        .prefetch_related("financeurs")
    )


def campagnes_visibles(user, *, roles) -> QuerySet[Campagne]:
    """Campagnes in which at least one financeur of the user's perimeter takes part."""
    return (
        scope_queryset(Campagne.objects.all(), user, roles=roles, financeur_field="financeurs")
        .select_related("contrat")
        .prefetch_related("financeurs")
        .order_by("-exercice", "titre")
    )


def enveloppes_visibles(user, *, roles) -> QuerySet[Enveloppe]:
    return scope_queryset(
        Enveloppe.objects.select_related("campagne", "financeur", "pilier"), user, roles=roles
    ).order_by("-campagne__exercice", "financeur__nom", "pilier__numero")
