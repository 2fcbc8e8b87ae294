"""Values read from query strings and forms, shared by the staff views."""

from __future__ import annotations


def entier_positif(valeur) -> int | None:
    """An id or a year typed in a URL or posted by a form: None unless it is a positive integer the database can
    hold (1 … 2**63 − 1), so that a crafted value is ignored instead of overflowing a query (a 500)."""
    try:
        entier = int(valeur)
    except (TypeError, ValueError):
        return None
    return entier if 0 < entier < 2**63 else None
