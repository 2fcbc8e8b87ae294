"""Template filters shared by every page: amounts in euros the French way, labels of choice fields."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from functools import cache

from django import template

register = template.Library()

NBSP = "\u00a0"


def formater_montant(value) -> str:
    """Decimal('1234.5') → '1 234,50 €' (non-breaking spaces), never through float."""
    if value is None or value == "":
        return ""
    try:
        montant = Decimal(str(value)) if not isinstance(value, Decimal) else value
    except (InvalidOperation, ValueError):
        return str(value)
    montant = montant.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    texte = f"{montant:,.2f}".replace(",", NBSP).replace(".", ",")
    return f"{texte}{NBSP}€"


@register.filter
def euros(value) -> str:
    return formater_montant(value)


@cache
def _libelles(modele: type, champ: str) -> dict:
    """The {value: label} dict of a choice field, built once per process (labels stay lazy: translated when shown)."""
    return dict(modele._meta.get_field(champ).flatchoices)


@register.filter
def libelle(obj, champ: str) -> str:
    """`{{ obj|libelle:"statut" }}` prints what `obj.get_statut_display` does, without rebuilding the field's choices
    dict on every call as Django's `_get_FIELD_display` does (it shows on lists of hundreds of rows)."""
    valeur = getattr(obj, champ)
    return str(_libelles(type(obj), champ).get(valeur, valeur))
