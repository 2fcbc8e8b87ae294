"""Figures on the demandes of a campagne (`manage.py stats`): a few aggregate queries, one dict of JSON values."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, QuerySet, Sum

from subventions.campagnes.models import Campagne
from subventions.demandes.models import ZERO, Demande, LigneFinancement
from subventions.referentiel.models import Financeur

# The French label of each figure, in display order; a key added to the dict below gets its label here.
LIBELLES: dict[str, str] = {
    "campagne": "Campagne (exercice)",
    "financeur": "Financeur",
    "actions_deposees": "Actions déposées",
    "porteurs": "Porteurs ayant déposé",
    "montant_demande": "Montant total demandé (€)",
}


def demandes_deposees(*, campagne: Campagne, financeur: Financeur | None = None) -> QuerySet[Demande]:
    """Every demande of the campagne that has been deposited (it has a dossier number, whatever became of it since),
    restricted to those asking `financeur` a positive amount when given."""
    demandes = Demande.objects.filter(campagne=campagne).exclude(numero="")
    if financeur is not None:
        demandes = demandes.filter(
            Exists(LigneFinancement.objects.filter(demande=OuterRef("pk"), financeur=financeur, montant_demande__gt=0))
        )
    return demandes


def statistiques_demandes(*, campagne: Campagne, financeur: Financeur | None = None) -> dict[str, Any]:
    """The figures of the campagne, JSON-ready (amounts as strings with two decimals, never floats)."""
    demandes = demandes_deposees(campagne=campagne, financeur=financeur)
    lignes = LigneFinancement.objects.filter(demande__in=demandes)
    if financeur is not None:
        lignes = lignes.filter(financeur=financeur)

    comptes = demandes.aggregate(actions_deposees=Count("pk"), porteurs=Count("porteur", distinct=True))
    montant = lignes.aggregate(total=Sum("montant_demande"))["total"] or ZERO
    return {
        "campagne": campagne.exercice,
        "financeur": financeur.code if financeur else None,
        "actions_deposees": comptes["actions_deposees"],
        "porteurs": comptes["porteurs"],
        "montant_demande": _montant(montant),
    }


def _montant(valeur: Decimal) -> str:
    return str(Decimal(valeur).quantize(Decimal("0.01")))
