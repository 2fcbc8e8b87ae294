"""The files of a liste de paiements, as pure functions from rows to bytes: CSV for French spreadsheets, XLSX with
typed cells and a totals row, SEPA Credit Transfer pain.001.001.03. Storage and state changes stay in services."""

from __future__ import annotations

import contextlib
import csv
import datetime
import io
import os
import re
import shutil
import threading
import unicodedata
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

import sepaxml
from lxml import etree
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from openpyxl.writer.excel import ExcelWriter
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException
from sepaxml import SepaTransfer

CENTIME = Decimal("0.01")
FORMAT_EUROS = '#,##0.00\\ "€"'
FORMAT_DATE = "DD/MM/YYYY"
# Characters of the SEPA "Latin" set allowed in identifiers (EndToEndId, MsgId, PmtInfId).
HORS_SEPA = re.compile(r"[^A-Za-z0-9/\-?:().,'+ ]")
# The XSD sepaxml ships and validates against.
XSD_PAIN_001 = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"
NS_PAIN_001 = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
_VALIDATION = threading.local()


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
    JJ/MM/AAAA, one header row and one row per payment (no totals row: the file is also read by programs).

    Rows are encoded as they are written (a text wrapper over a byte buffer): the only full copy in memory is the
    file's bytes, not a str of the whole file and then its encoding."""
    tampon = io.BytesIO()
    sortie = io.TextIOWrapper(tampon, encoding="utf-8-sig", newline="")
    writer = csv.writer(sortie, delimiter=";", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLONNES)
    for ligne in lignes:
        valeurs = _valeurs(ligne)
        valeurs[COLONNE_MONTANT] = montant_fr(ligne.montant)
        valeurs[COLONNE_ECHEANCE] = ligne.echeance.strftime("%d/%m/%Y")
        writer.writerow(valeurs)
    sortie.flush()
    contenu = tampon.getvalue()
    sortie.detach()
    return contenu


def xlsx_liste(entete: EnteteListe, lignes: Sequence[LigneExport]) -> bytes:
    """One sheet: header row, one row per payment with typed cells (amounts are numbers shown in €, dates are dates),
    and a totals row (number of payments, total amount).

    openpyxl's write-only mode streams each row to the sheet's temporary file (no Cell kept per value): time and
    memory grow linearly with the rows. Everything that styles the sheet (frozen header, column widths) is set before
    the first row, as that mode requires."""
    classeur = Workbook(write_only=True)
    # Fixed document properties: the stored file says when the liste was made, not when the bytes were written.
    naif = entete.cree_le.replace(tzinfo=None, microsecond=0)
    classeur.properties.created = naif
    classeur.properties.modified = naif
    classeur.properties.creator = "Subventions"
    classeur.properties.title = f"Liste de paiements {entete.numero}"
    feuille = classeur.create_sheet("Paiements")
    feuille.freeze_panes = "A2"
    for i, titre in enumerate(COLONNES, start=1):
        feuille.column_dimensions[get_column_letter(i)].width = max(12, min(40, len(titre) + 4))
    gras = Font(bold=True)

    def cellule(valeur, *, format_: str | None = None, en_gras: bool = False) -> WriteOnlyCell:
        c = WriteOnlyCell(feuille, value=valeur)
        if format_:
            c.number_format = format_
        if en_gras:
            c.font = gras
        return c

    feuille.append([cellule(titre, en_gras=True) for titre in COLONNES])
    try:
        total = Decimal("0.00")
        nombre = 0
        for ligne in lignes:
            valeurs = _valeurs(ligne)
            valeurs[COLONNE_MONTANT] = cellule(ligne.montant, format_=FORMAT_EUROS)
            valeurs[COLONNE_ECHEANCE] = cellule(ligne.echeance, format_=FORMAT_DATE)
            feuille.append(valeurs)
            total += ligne.montant
            nombre += 1
        totaux = [cellule("", en_gras=True) for _ in COLONNES]
        totaux[0] = cellule("Total", en_gras=True)
        totaux[COLONNE_MONTANT - 1] = cellule(f"{nombre} paiement(s)", en_gras=True)
        totaux[COLONNE_MONTANT] = cellule(total, format_=FORMAT_EUROS, en_gras=True)
        feuille.append(totaux)
        sortie = io.BytesIO()
        # Not classeur.save(): it stamps "modified" with the current time; the zip entries carry the time of writing.
        ExcelWriter(classeur, _ZipDate(sortie, date_time=naif.timetuple()[:6])).save()
    except BaseException:
        # openpyxl streams the sheet to a temporary file holding the names and IBANs already written: a failure
        # half-way must not leave it on disk until the process exits.
        if getattr(feuille, "_writer", None) is not None:
            with contextlib.suppress(OSError, ValueError):
                feuille._writer.cleanup()
        raise
    return sortie.getvalue()


class _ZipDate(zipfile.ZipFile):
    """The zip of an XLSX whose entries all carry one given date (the liste's), so that the same liste always gives
    the same bytes. The write-only sheet comes as a temporary file: copied by chunks, never read whole."""

    def __init__(self, fichier, *, date_time: tuple[int, ...]):
        super().__init__(fichier, "w", zipfile.ZIP_DEFLATED, allowZip64=True)
        self._date_time = date_time

    def _entree(self, nom: str, taille: int = 0) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(nom, date_time=self._date_time)
        info.compress_type = self.compression
        info.external_attr = 0o600 << 16
        info.file_size = taille
        return info

    def writestr(self, zinfo_or_arcname, data, compress_type=None, compresslevel=None):
        if not isinstance(zinfo_or_arcname, zipfile.ZipInfo):
            zinfo_or_arcname = self._entree(zinfo_or_arcname)
        super().writestr(zinfo_or_arcname, data, compress_type, compresslevel)

    def write(self, filename, arcname=None, compress_type=None, compresslevel=None):
        info = self._entree(arcname or os.path.basename(filename), os.path.getsize(filename))
        with open(filename, "rb") as source, self.open(info, "w") as cible:
            shutil.copyfileobj(source, cible, 1 << 16)


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


def _validation_pain_001() -> tuple[etree.XMLParser, etree.XMLSchema]:
    """A parser and the pain.001.001.03 XSD that ships inside sepaxml (the one its own export() checks against),
    compiled by libxml2 once per thread: an lxml parser or validator keeps state on the object (its error log), so
    threads do not share one. The parser reads our own output: no network, no entities, no size limit."""
    if not hasattr(_VALIDATION, "schema"):
        _VALIDATION.analyseur = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=True)
        _VALIDATION.schema = etree.XMLSchema(etree.parse(str(XSD_PAIN_001)))
    return _VALIDATION.analyseur, _VALIDATION.schema


def sepa_valider(contenu: bytes) -> None:
    """Refuse a document that is not valid against the pain.001.001.03 XSD (libxml2 through lxml, at C speed:
    sepaxml's own check runs the pure-Python xmlschema and takes most of an export's time)."""
    analyseur, schema = _validation_pain_001()
    try:
        document = etree.fromstring(contenu, analyseur)
    except etree.XMLSyntaxError as exc:
        raise ExportImpossible(f"Le fichier SEPA produit est illisible : {exc}") from exc
    if not schema.validate(document):
        erreur = schema.error_log.last_error
        ou = _paiement_fautif(document, erreur)
        raise ExportImpossible(
            f"Le fichier SEPA produit n'est pas conforme au schéma pain.001.001.03{ou} : {erreur.message}"
        )


def _paiement_fautif(document, erreur) -> str:
    """ " pour le paiement <EndToEndId>" when the XSD error lies inside a transaction (the file is one line: its line
    number says nothing), else nothing."""
    trouves = document.xpath(erreur.path) if erreur.path else []
    if not trouves or not hasattr(trouves[0], "iterancestors"):
        return ""
    for ancetre in (trouves[0], *trouves[0].iterancestors()):
        if etree.QName(ancetre).localname == "CdtTrfTxInf":
            return f" pour le paiement {ancetre.findtext('p:PmtId/p:EndToEndId', namespaces=NS_PAIN_001)}"
    return ""


def sepa_liste(entete: EnteteListe, lignes: Sequence[LigneExport]) -> bytes:
    """SEPA Credit Transfer initiation, pain.001.001.03: one batch, debtor = the financeur's account, one transaction
    per payment (end-to-end id = payment reference, remittance = acte number and exercice). Every IBAN and BIC is
    checked with schwifty first; the result is validated against sepaxml's XSD with lxml before it is returned."""
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
    # sepaxml's own check (xmlschema, pure Python) is skipped for lxml's below, on the same XSD. The ElementTree is
    # dropped first: the validation's libxml2 tree then reuses its memory instead of adding to the peak.
    contenu = virement.export(validate=False)
    del virement
    sepa_valider(contenu)
    return contenu
