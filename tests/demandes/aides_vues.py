"""Helpers for the request pages' tests: page text, htmx headers, budget form data, the récépissé renderer."""

from __future__ import annotations

import html
import importlib
import sys
import types

from django.urls import reverse

from subventions.demandes.enums import COMPTES
from subventions.demandes.forms import nom_champ_compte, nom_champ_financeur
from tests.factories import MembreFactory, UserFactory, pdf_minimal

HTMX = {"HTTP_HX_REQUEST": "true"}


def texte(response) -> str:
    """The page as a user reads it (entities decoded)."""
    return html.unescape(response.content.decode())


def url_etape(demande, etape: str) -> str:
    return reverse("demandes:etape", kwargs={"pk": demande.pk, "etape": etape})


def membre_de(porteur, role: str):
    """A new user who is a member of `porteur` with `role`."""
    return MembreFactory(porteur=porteur, user=UserFactory(), role=role)


def donnees_budget(demande, comptes: dict[str, str] | None = None, financeurs: dict[int, str] | None = None) -> dict:
    """POST data for the budget step: every line empty except those given (amounts as typed, e.g. '1 234,56')."""
    data = {}
    for code, _libelle in COMPTES:
        data[nom_champ_compte(code)] = (comptes or {}).get(code, "")
        data[f"detail_{nom_champ_compte(code)}"] = ""
    for financeur in demande.campagne.financeurs.all():
        data[nom_champ_financeur(financeur.pk)] = (financeurs or {}).get(financeur.pk, "")
    return data


def brancher_recepisse(monkeypatch) -> None:
    """Use subventions.demandes.pdf.recepisse_pdf when it exists; until then, a minimal PDF in its place."""
    try:
        module = importlib.import_module("subventions.demandes.pdf")
    except ImportError:
        module = None
    if module is not None and hasattr(module, "recepisse_pdf"):
        return
    factice = types.ModuleType("subventions.demandes.pdf")
    factice.recepisse_pdf = lambda demande: pdf_minimal(f"Récépissé de dépôt {demande.numero}")
    monkeypatch.setitem(sys.modules, "subventions.demandes.pdf", factice)
