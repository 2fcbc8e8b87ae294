"""Template filters shared by every page: amounts in euros the French way."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

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
