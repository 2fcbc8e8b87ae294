"""Figures on the demandes of a campagne (`manage.py stats`): a few aggregate queries, one dict of JSON values."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q, QuerySet, Sum

from subventions.campagnes.models import Campagne
from subventions.demandes.enums import StatutDemande, StatutLigne
from subventions.demandes.models import ZERO, Demande, LigneFinancement
from subventions.referentiel.models import Financeur

# The French label of each figure, in display order; a key added to the dict below gets its label here.
LIBELLES: dict[str, str] = {
    "campagne": "Campagne (exercice)",
    "financeur": "Financeur",
    "actions_deposees": "Actions déposées",
    "porteurs": "Porteurs ayant déposé",
    "actions_validees": "Actions validées",
    "taux_validation": "Taux de validation (validées / déposées)",
    "comites": "Actions validées par comité",
    "montant_demande": "Montant total demandé (€)",
    "montant_accorde": "Montant total accordé (€)",
}
# A demande validated in comité, whatever became of it since (convention, bilan, solde).
VALIDEES = (StatutDemande.VALIDEE, StatutDemande.CONVENTIONNEE, StatutDemande.BILAN_DEPOSE, StatutDemande.SOLDEE)


def demandes_deposees(*, campagne: Campagne, financeur: Financeur | None = None) -> QuerySet[Demande]:
    """Every demande of the campagne that has been deposited (it has a dossier number, whatever became of it since),
    restricted to those asking `financeur` a positive amount when given."""
    demandes = Demande.objects.filter(campagne=campagne).exclude(numero="")
    if financeur is not None:
        demandes = demandes.filter(
            Exists(LigneFinancement.objects.filter(demande=OuterRef("pk"), financeur=financeur, montant_demande__gt=0))
        )
    return demandes


def validees_q(financeur: Financeur | None = None) -> Q:
    """Validated demandes (or later states); for a financeur, those where its own line was granted."""
    q = Q(statut__in=VALIDEES)
    if financeur is not None:
        q &= Q(
            Exists(
                LigneFinancement.objects.filter(
                    demande=OuterRef("pk"), financeur=financeur, statut=StatutLigne.ACCORDEE
                )
            )
        )
    return q


def statistiques_demandes(*, campagne: Campagne, financeur: Financeur | None = None) -> dict[str, Any]:
    """The figures of the campagne, JSON-ready (amounts as strings with two decimals, never floats). Two queries.

    actions_validees: deposited demandes now validee, conventionnee, bilan_depose or soldee (with a financeur: and
    that financeur's line accordée). taux_validation: actions_validees / actions_deposees as a ratio with two
    decimals ("0.93"), "0.00" when nothing was deposited. montant_accorde: montant_accorde of the accordée lines."""
    demandes = demandes_deposees(campagne=campagne, financeur=financeur)
    lignes = LigneFinancement.objects.filter(demande__in=demandes)
    if financeur is not None:
        lignes = lignes.filter(financeur=financeur)

    comptes = demandes.aggregate(
        actions_deposees=Count("pk"),
        porteurs=Count("porteur", distinct=True),
        actions_validees=Count("pk", filter=validees_q(financeur)),
    )
    montants = lignes.aggregate(
        demande=Sum("montant_demande"), accorde=Sum("montant_accorde", filter=Q(statut=StatutLigne.ACCORDEE))
    )
    return {
        "campagne": campagne.exercice,
        "financeur": financeur.code if financeur else None,
        "actions_deposees": comptes["actions_deposees"],
        "porteurs": comptes["porteurs"],
        "actions_validees": comptes["actions_validees"],
        "taux_validation": taux(comptes["actions_validees"], comptes["actions_deposees"]),
        "montant_demande": _montant(montants["demande"] or ZERO),
        "montant_accorde": _montant(montants["accorde"] or ZERO),
    }


def taux(partie: int, total: int) -> str:
    """A ratio with two decimals, rounded half up: taux(667, 720) == "0.93"."""
    if not total:
        return "0.00"
    return str((Decimal(partie) / Decimal(total)).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP))


def _montant(valeur: Decimal) -> str:
    return str(Decimal(valeur).quantize(Decimal("0.01")))
