"""A SEPA or XLSX export that fails half-way (in the real writer, after some rows are out) leaves no liste and no
payment marked; the next attempt makes the liste. tests/paiements/test_listes.py replaces whole writers by a
failing function and the storage of the second file; here the real writer runs and breaks mid-stream."""

from __future__ import annotations

import os

import pytest
from openpyxl.worksheet import _writer as openpyxl_writer
from openpyxl.worksheet._write_only import WriteOnlyWorksheet
from sepaxml import SepaTransfer

from subventions.paiements.models import LigneListe, ListePaiements
from subventions.paiements.services import Criteres, liste_creer
from tests.paiements.aides import acte, avance, etat, finance, recharger
from workflows.models import Document, TransitionLog

pytestmark = pytest.mark.django_db

# (class, method, calls that go through before the failure): XLSX header row + 2 payment rows; 2 SEPA payments.
ECRIVAINS = {
    "xlsx": (WriteOnlyWorksheet, "append", 3),
    "sepa": (SepaTransfer, "add_payment", 2),
}


@pytest.mark.parametrize("format_", sorted(ECRIVAINS))
def test_an_export_failing_half_way_in_the_real_writer_leaves_no_liste_and_no_payment_marked(monkeypatch, format_):
    financeur = etat()
    actes = [acte(financeur, f"{1000 * (i + 1)}.00") for i in range(4)]
    user = finance(financeur)
    classe, methode, reussis = ECRIVAINS[format_]
    original = getattr(classe, methode)
    appels = []

    def panne_a_mi_parcours(self, *args, **kwargs):
        appels.append(methode)
        if len(appels) > reussis:
            raise OSError("disque plein")
        return original(self, *args, **kwargs)

    monkeypatch.setattr(classe, methode, panne_a_mi_parcours)
    with pytest.raises(OSError, match="disque plein"):
        liste_creer(criteres=Criteres(financeur=financeur), acteur=user)
    assert len(appels) == reussis + 1, "the writer broke half-way, after some rows"

    assert not ListePaiements.objects.exists() and not LigneListe.objects.exists()
    assert not Document.objects.exists()
    assert {recharger(avance(a)).statut for a in actes} == {"a_payer"}
    assert not TransitionLog.objects.filter(transition="exporter").exists()

    monkeypatch.undo()
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    assert liste.nb_paiements == 4 and liste.numero.endswith("-0001")
    assert {recharger(avance(a)).statut for a in actes} == {"exporte"}


def _fichiers_temporaires_openpyxl() -> set[str]:
    return {p for p in openpyxl_writer.ALL_TEMP_FILES if os.path.exists(p)}


def test_an_xlsx_export_failing_half_way_leaves_no_temporary_file_with_the_rows(monkeypatch):
    financeur = etat()
    for i in range(3):
        acte(financeur, f"{1000 * (i + 1)}.00")
    user = finance(financeur)
    original = WriteOnlyWorksheet.append
    appels = []

    def panne_a_mi_parcours(self, *args, **kwargs):
        appels.append(1)
        if len(appels) > 2:
            raise OSError("disque plein")
        return original(self, *args, **kwargs)

    avant = _fichiers_temporaires_openpyxl()
    monkeypatch.setattr(WriteOnlyWorksheet, "append", panne_a_mi_parcours)
    with pytest.raises(OSError, match="disque plein"):
        liste_creer(criteres=Criteres(financeur=financeur), acteur=user)
    assert _fichiers_temporaires_openpyxl() - avant == set()
