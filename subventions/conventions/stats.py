"""Figures on the actes attributifs of a campagne (`manage.py stats`): one aggregate query."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db.models import Count, Q

from subventions.campagnes.models import Campagne
from subventions.conventions.models import ActeAttribution, ActeLigne, NatureActe, StatutActe
from subventions.referentiel.models import Financeur

LIBELLES_CONVENTIONS: dict[str, str] = {
    "conventions": "Conventions (hors avenants)",
    "arretes": "Arrêtés attributifs (hors avenants)",
    "avenants": "Avenants",
    "actions_par_convention": "Actions par convention (moyenne)",
    "conventions_signees": "Conventions signées (exécutoires ou soldées)",
    "actes_bloques": "Documents bloqués",
}


def statistiques_conventions(*, campagne: Campagne, financeur: Financeur | None = None) -> dict[str, Any]:
    """Documents of the campagne (with a financeur: its own). `actions_par_convention` is the number of actions in
    the conventions (not avenants) over the number of conventions, a string with two decimals ("2.39")."""
    actes = ActeAttribution.objects.filter(campagne=campagne)
    if financeur is not None:
        actes = actes.filter(financeur=financeur)
    base = Q(est_avenant=False)
    chiffres = actes.aggregate(
        conventions=Count("pk", filter=base & Q(nature=NatureActe.CONVENTION)),
        arretes=Count("pk", filter=base & Q(nature=NatureActe.ARRETE)),
        avenants=Count("pk", filter=Q(est_avenant=True)),
        conventions_signees=Count(
            "pk",
            filter=base & Q(nature=NatureActe.CONVENTION, statut__in=[StatutActe.SIGNEE, StatutActe.SOLDEE]),
        ),
        actes_bloques=Count("pk", filter=Q(statut=StatutActe.BLOQUEE)),
    )
    actions = ActeLigne.objects.filter(acte__in=actes.filter(base, nature=NatureActe.CONVENTION)).count()
    moyenne = (
        (Decimal(actions) / Decimal(chiffres["conventions"])).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
        if chiffres["conventions"]
        else Decimal("0.00")
    )
    return {
        "conventions": chiffres["conventions"],
        "arretes": chiffres["arretes"],
        "avenants": chiffres["avenants"],
        "actions_par_convention": str(moyenne),
        "conventions_signees": chiffres["conventions_signees"],
        "actes_bloques": chiffres["actes_bloques"],
    }
