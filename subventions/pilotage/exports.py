"""Every dashboard table as a file, pure functions from a `Tableau` to bytes: CSV for French spreadsheets (`;`,
UTF-8 with a BOM, decimal comma) and XLSX with typed cells (counts and amounts are numbers, amounts shown in €, ratios
in %)."""

from __future__ import annotations

import csv
import datetime
import io
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from subventions.pilotage.selectors import Nombre, Taux
from subventions.pilotage.tableaux import Tableau

FORMAT_EUROS = '#,##0.00\\ "€"'
FORMAT_TAUX = "0%"
FORMAT_DECIMAL = "0.00"
FORMAT_DATE = "DD/MM/YYYY"
TYPES_MIME = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _texte(valeur) -> str:
    """A text cell a spreadsheet must not read as a formula (CSV/XLSX injection)."""
    texte = str(valeur)
    return f"'{texte}" if texte[:1] in ("=", "+", "-", "@", "\t", "\r") else texte


def _csv(valeur) -> str:
    if valeur is None:
        return ""
    if isinstance(valeur, bool):
        return "oui" if valeur else "non"
    if isinstance(valeur, Decimal):
        return f"{valeur:f}".replace(".", ",")
    if isinstance(valeur, int):
        return str(valeur)
    if isinstance(valeur, datetime.date):
        return valeur.strftime("%d/%m/%Y")
    return _texte(valeur)


def csv_tableau(tableau: Tableau) -> bytes:
    """One header row, the rows, the totals row if any. Amounts with two decimals and a comma, ratios as 0,93."""
    sortie = io.StringIO(newline="")
    writer = csv.writer(sortie, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow([_texte(c) for c in tableau.colonnes])
    for ligne in tableau.toutes_les_lignes():
        writer.writerow([_csv(v) for v in ligne])
    return sortie.getvalue().encode("utf-8-sig")


def _xlsx(valeur):
    if valeur is None:
        return None, None
    if isinstance(valeur, Taux):
        return float(valeur), FORMAT_TAUX
    if isinstance(valeur, Nombre):
        return float(valeur), FORMAT_DECIMAL
    if isinstance(valeur, Decimal):
        return valeur, FORMAT_EUROS
    if isinstance(valeur, bool):
        return valeur, None
    if isinstance(valeur, int):
        return valeur, "0"
    if isinstance(valeur, datetime.date):
        return valeur, FORMAT_DATE
    return _texte(valeur), None


def xlsx_tableau(tableau: Tableau) -> bytes:
    """One sheet named after the table: bold header, typed cells, bold totals row, frozen header."""
    classeur = Workbook()
    classeur.properties.creator = "Subventions"
    classeur.properties.title = str(tableau.titre)
    feuille = classeur.active
    feuille.title = tableau.cle[:31]
    feuille.append([str(c) for c in tableau.colonnes])
    for cellule in feuille[1]:
        cellule.font = Font(bold=True)
    for ligne in tableau.toutes_les_lignes():
        rang = feuille.max_row + 1
        for i, valeur in enumerate(ligne, start=1):
            contenu, format_ = _xlsx(valeur)
            cellule = feuille.cell(rang, i, contenu)
            if format_:
                cellule.number_format = format_
    if tableau.total:
        for cellule in feuille[feuille.max_row]:
            cellule.font = Font(bold=True)
    feuille.freeze_panes = "A2"
    for i, titre in enumerate(tableau.colonnes, start=1):
        feuille.column_dimensions[get_column_letter(i)].width = max(12, min(60, len(str(titre)) + 4))
    sortie = io.BytesIO()
    classeur.save(sortie)
    return sortie.getvalue()
