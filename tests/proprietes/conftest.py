"""Shared settings of the property-based tests and the count of examples tried, printed at the end of the run."""

from __future__ import annotations

import re
from collections import Counter

from django.core.exceptions import ValidationError
from hypothesis import HealthCheck, settings

# The world of the access matrix (porteurs A and B, every role, an object at every state), built once per module.
from tests.securite.conftest import _media_du_module, monde  # noqa: F401

# Bounded so that the whole folder runs in well under 90 s on SQLite; no deadline (the machine is shared).
PEU = settings(max_examples=30, deadline=None)
# Examples that touch the database (each one in a savepoint rolled back).
BASE = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

EXEMPLES: Counter[str] = Counter()
CHAMPS: dict[str, int] = {}  # fuzz pass: route → number of fields found in its forms


def compter(famille: str = "pures") -> None:
    """One example tried (hypothesis counts none for us across tests)."""
    EXEMPLES[famille] += 1


MOTS_FRANCAIS = {
    "le", "la", "les", "un", "une", "des", "du", "de", "est", "sont", "doit", "doivent", "ce", "cet", "cette", "il",
    "ne", "pas", "chiffres", "caractères", "vérifiez", "suivi", "montant", "saisissez", "au", "plus", "compte",
}  # fmt: skip


def francais(message) -> bool:
    """A French sentence (a cheap check: it uses French words and none of the libraries' English phrases)."""
    if isinstance(message, ValidationError):
        return all(francais(m) for m in message.messages)
    texte = str(message)
    mots = set(re.findall(r"[a-zàâçéèêëîïôûùüÿœ]+", texte.lower()))
    anglais = {"invalid", "the", "is", "length", "checksum", "number", "format", "must"}
    return bool(mots & MOTS_FRANCAIS) and not (mots & anglais)


def pytest_terminal_summary(terminalreporter):
    if EXEMPLES:
        detail = ", ".join(f"{famille} {n}" for famille, n in sorted(EXEMPLES.items()))
        terminalreporter.write_line(f"Tests par propriétés : {sum(EXEMPLES.values())} exemples essayés ({detail}).")
    if CHAMPS:
        sans = sorted(nom for nom, n in CHAMPS.items() if not n)
        terminalreporter.write_line(
            f"Fuzz : {len(CHAMPS)} routes POST, {sum(CHAMPS.values())} champs ; "
            f"routes sans champ : {sans or 'aucune'}."
        )
