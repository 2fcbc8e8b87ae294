"""The files of a liste de paiements, as pure functions from rows to bytes: CSV for French spreadsheets, XLSX with
typed cells and a totals row, SEPA Credit Transfer pain.001.001.03. Storage and state changes stay in services."""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer

CENTIME = Decimal("0.01")
FORMAT_EUROS = '#,##0.00\\ "€"'
FORMAT_DATE = "DD/MM/YYYY"
# Characters of the SEPA "Latin" set allowed in identifiers (EndToEndId, MsgId, PmtInfId).
HORS_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")


class ExportImpossible(Exception):
    """A file cannot be written as asked (bad bank details…); the message is French and shown as is."""


@dataclass(frozen=True)
class LigneExport:
    """One payment as the files print it (a snapshot taken when the liste is created)."""

    reference: str
    financeur: str
    acte_numero: str
    exercice: int
    porteur: str
    siret: str
    iban: str
    bic: str
    nature: str  # French label (Avance, Acompte, Solde)
    montant: Decimal
    echeance: datetime.date
    engagement_juridique: str
    centre_financier: str
    domaine_fonctionnel: str
    activite: str

    @property
    def libelle_virement(self) -> str:
        """The remittance text: the acte's number and exercice (what the porteur's accountant needs)."""
        return f"{self.acte_numero} exercice {self.exercice} {self.nature}"[:140]


@dataclass(frozen=True)
class EnteteListe:
    numero: str
    cree_le: datetime.datetime
    date_execution: datetime.date
    debiteur_nom: str
    debiteur_iban: str
    debiteur_bic: str


COLONNES = [
    "Référence paiement",
    "Financeur",
    "Acte (convention / arrêté)",
    "Exercice",
    "Porteur",
    "SIRET",
    "IBAN",
    "BIC",
    "Nature",
    "Montant (€)",
    "Échéance",
    "Engagement juridique",
    "Centre financier",
    "Domaine fonctionnel",
    "Activité",
]
COLONNE_MONTANT = COLONNES.index("Montant (€)")
COLONNE_ECHEANCE = COLONNES.index("Échéance")


def _texte(valeur: str) -> str:
    """A text cell a spreadsheet must not read as a formula (CSV/XLSX injection)."""
    valeur = str(valeur or "")
    return f"'{valeur}" if valeur[:1] in ("=", "+", "-", "@", "\t", "\r") else valeur


def _valeurs(ligne: LigneExport) -> list:
    return [
        _texte(ligne.reference),
        _texte(ligne.financeur),
        _texte(ligne.acte_numero),
        ligne.exercice,
        _texte(ligne.porteur),
        _texte(ligne.siret),
        _texte(ligne.iban),
        _texte(ligne.bic),
        _texte(ligne.nature),
        ligne.montant,
        ligne.echeance,
        _texte(ligne.engagement_juridique),
        _texte(ligne.centre_financier),
        _texte(ligne.domaine_fonctionnel),
        _texte(ligne.activite),
    ]


def montant_fr(montant: Decimal) -> str:
    """1234.5 → "1234,50": decimal comma, no thousands separator (spreadsheets read it as a number)."""
    return f"{montant.quantize(CENTIME):f}".replace(".", ",")


def csv_liste(entete: EnteteListe, lignes: Sequence[LigneExport]) -> bytes:
    """`;`-separated, UTF-8 with a BOM (Excel opens it in French without an import wizard), decimal comma, dates
    JJ/MM/AAAA, one header row and one row per payment (no totals row: the file is also read by programs)."""
    sortie = io.StringIO(newline="")
    writer = csv.writer(sortie, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLONNES)
    for ligne in lignes:
        valeurs = _valeurs(ligne)
        valeurs[COLONNE_MONTANT] = montant_fr(ligne.montant)
        valeurs[COLONNE_ECHEANCE] = ligne.echeance.strftime("%d/%m/%Y")
        writer.writerow(valeurs)
    return sortie.getvalue().encode("utf-8-sig")


def xlsx_liste(entete: EnteteListe, lignes: Sequence[LigneExport]) -> bytes:
    """One sheet: header row, one row per payment with typed cells (amounts are numbers shown in €, dates are dates),
    and a totals row (number of payments, total amount)."""
    classeur = Workbook()
    # Fixed document properties: the stored file says when the liste was made, not when the bytes were written.
    naif = entete.cree_le.replace(tzinfo=None, microsecond=0)
    classeur.properties.created = naif
    classeur.properties.modified = naif
    classeur.properties.creator = "Subventions"
    classeur.properties.title = f"Liste de paiements {entete.numero}"
    feuille = classeur.active
    feuille.title = "Paiements"
    feuille.append(COLONNES)
    for cellule in feuille[1]:
        cellule.font = Font(bold=True)
    for ligne in lignes:
        feuille.append(_valeurs(ligne))
        rang = feuille.max_row
        feuille.cell(rang, COLONNE_MONTANT + 1).number_format = FORMAT_EUROS
        feuille.cell(rang, COLONNE_ECHEANCE + 1).number_format = FORMAT_DATE
    total = sum((ligne.montant for ligne in lignes), Decimal("0.00"))
    totaux = [""] * len(COLONNES)
    totaux[0] = "Total"
    totaux[COLONNE_MONTANT - 1] = f"{len(lignes)} paiement(s)"
    totaux[COLONNE_MONTANT] = total
    feuille.append(totaux)
    rang = feuille.max_row
    for cellule in feuille[rang]:
        cellule.font = Font(bold=True)
    feuille.cell(rang, COLONNE_MONTANT + 1).number_format = FORMAT_EUROS
    feuille.freeze_panes = "A2"
    for i, titre in enumerate(COLONNES, start=1):
        feuille.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(titre) + 4))
    sortie = io.BytesIO()
    classeur.save(sortie)
    return sortie.getvalue()


def texte_sepa(valeur: str, longueur: int) -> str:
    """Free text (names, remittance) in the SEPA Latin character set that every bank accepts: accents dropped,
    other characters (« » & _ …) turned into spaces."""
    ascii_ = unicodedata.normalize("NFKD", valeur or "").encode("ascii", "ignore").decode()
    return " ".join(HORS_SEPA.sub(" ", ascii_).split())[:longueur]


def identifiant_sepa(valeur: str) -> str:
    """An identifier in the SEPA character set, at most 35 characters."""
    return HORS_SEPA.sub("-", valeur)[:35]


def iban_verifie(valeur: str, *, qui: str) -> str:
    try:
        return IBAN(valeur).compact
    except SchwiftyException as exc:
        raise ExportImpossible(f"IBAN invalide pour {qui} : {exc}") from exc


def bic_verifie(valeur: str, *, qui: str) -> str:
    if not valeur:
        return ""
    try:
        return str(BIC(valeur))
    except SchwiftyException as exc:
        raise ExportImpossible(f"BIC invalide pour {qui} : {exc}") from exc


class _VirementSepa(SepaTransfer):
    """sepaxml's transfer with the liste's own identifiers and date instead of random ones and "now": the file
    names the liste it belongs to, and two files of two listes never share an id."""

    def __init__(self, config, *, numero: str, cree_le: datetime.datetime):
        self._numero = numero
        self._cree_le = cree_le
        super().__init__(config, schema="pain.001.001.03", clean=True)

    def _create_header(self):
        super()._create_header()
        entete = self._xml.find("CstmrCdtTrfInitn/GrpHdr")
        entete.find("MsgId").text = self._numero
        entete.find("CreDtTm").text = self._cree_le.strftime("%Y-%m-%dT%H:%M:%S")

    def _finalize_batch(self):
        super()._finalize_batch()
        for rang, bloc in enumerate(self._xml.iter("PmtInf"), start=1):
            bloc.find("PmtInfId").text = identifiant_sepa(f"{self._numero}-{rang}")


def sepa_liste(entete: EnteteListe, lignes: Sequence[LigneExport]) -> bytes:
    """SEPA Credit Transfer initiation, pain.001.001.03: one batch, debtor = the financeur's account, one transaction
    per payment (end-to-end id = payment reference, remittance = acte number and exercice). Every IBAN and BIC is
    checked with schwifty first; sepaxml validates the result against the XSD before returning it."""
    if not entete.debiteur_iban:
        raise ExportImpossible("Le compte SEPA du financeur (donneur d'ordre) n'est pas renseigné.")
    config = {
        "name": texte_sepa(entete.debiteur_nom, 70),
        "IBAN": iban_verifie(entete.debiteur_iban, qui="le financeur (donneur d'ordre)"),
        "batch": True,
        "currency": "EUR",
    }
    bic = bic_verifie(entete.debiteur_bic, qui="le financeur (donneur d'ordre)")
    if bic:
        config["BIC"] = bic
    virement = _VirementSepa(config, numero=identifiant_sepa(entete.numero), cree_le=entete.cree_le)
    for ligne in lignes:
        qui = f"{ligne.porteur} ({ligne.reference})"
        paiement = {
            "name": texte_sepa(ligne.porteur, 70),
            "IBAN": iban_verifie(ligne.iban, qui=qui),
            "amount": int(ligne.montant.quantize(CENTIME) * 100),
            "execution_date": entete.date_execution,
            "description": texte_sepa(ligne.libelle_virement, 140),
            "endtoend_id": identifiant_sepa(ligne.reference),
        }
        bic_creancier = bic_verifie(ligne.bic, qui=qui)
        if bic_creancier:
            paiement["BIC"] = bic_creancier
        virement.add_payment(paiement)
    return virement.export(validate=True)
