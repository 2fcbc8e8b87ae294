"""Template filters of the bilans pages: signed gaps in euros and percentages, written the French way."""

from __future__ import annotations

from django import template

from subventions.bilans.calculs import lisible, montant_signe, pourcent_signe

register = template.Library()


@register.filter
def ecart_euros(valeur) -> str:
    """+1 234,00 € / −1 234,00 € / — when unknown."""
    return montant_signe(valeur)


@register.filter
def ecart_pourcent(valeur) -> str:
    """+12,5 % / −3,0 % / — when it cannot be computed (nothing planned)."""
    return pourcent_signe(valeur)


@register.filter
def pourcent(valeur) -> str:
    """10.00 → "10 %"."""
    return "—" if valeur is None else f"{lisible(valeur)}\u00a0%"
