"""Reading spreadsheets of past subsidies as their publishers left them: CSV (`;`, `,` or tab; UTF-8 with or without a
BOM, cp1252/latin-1) or XLSX; SCDL columns (any version) or the older COLL_/ATTRIB_/SUB_ layout; amounts in French or
English notation; SIRETs checked with python-stdnum and never trusted when a spreadsheet mangled them. Pure functions:
bytes in, rows and French messages out; the database is the service's business."""

from __future__ import annotations

import csv
import datetime
import io
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from stdnum.fr import siren as stdnum_siren
from stdnum.fr import siret as stdnum_siret

MONTANT_MAX = Decimal("9999999.99")
TAILLE_MAX = 20 * 1024 * 1024
LIGNES_MAX = 100_000
SEPARATEURS = (";", ",", "\t")
NOMS_SEPARATEURS = {";": "point-virgule", ",": "virgule", "\t": "tabulation"}


class FichierIlisible(Exception):
    """The file cannot be read at all (format, encoding, no recognisable column): nothing is imported."""


# Normalised header (lower case, no accent, letters and digits only) → field. SCDL 1.x/2.x names and the older
# layout of the first open data publications (COLL_ collectivité, ATTRIB_ attributaire, SUB_ subvention).
ENTETES = {
    "nomattribuant": "attribuant_nom",
    "collnom": "attribuant_nom",
    "idattribuant": "attribuant_id",
    "siretattribuant": "attribuant_id",
    "collsiret": "attribuant_id",
    "colltype": "attribuant_type",
    "dateconvention": "date_convention",
    "actedate": "date_convention",
    "referencedecision": "reference",
    "acteref": "reference",
    "nombeneficiaire": "beneficiaire_nom",
    "attribnom": "beneficiaire_nom",
    "idbeneficiaire": "beneficiaire_id",
    "siretbeneficiaire": "beneficiaire_id",
    "attribsiret": "beneficiaire_id",
    "rnabeneficiaire": "rna",
    "attribrna": "rna",
    "objet": "objet",
    "subobjet": "objet",
    "montant": "montant",
    "submontant": "montant",
    "nature": "nature",
    "subnature": "nature",
    "conditionsversement": "conditions",
    "subversement": "conditions",
    "datesperiodeversement": "periode",
    "subdatedebut": "debut",
    "subdatefin": "fin",
    "pourcentagesubvention": "pourcentage",
}


@dataclass(frozen=True)
class Identifiant:
    """What an identifier cell gives: a valid SIRET (or ""), a valid SIREN when only 9 digits were written, and
    the French reason when the value is not trusted."""

    siret: str = ""
    siren: str = ""
    probleme: str = ""


@dataclass(frozen=True)
class TableauBrut:
    format: str  # "csv" | "xlsx"
    encodage: str
    separateur: str
    entetes: list[str]
    lignes: list[tuple[int, list]]  # (row number in the file, header = 1; the cells)

    def description(self) -> str:
        if self.format == "xlsx":
            return "XLSX"
        return f"CSV ({self.encodage}, séparateur {NOMS_SEPARATEURS[self.separateur]})"


@dataclass
class LigneLue:
    """One data row, read and checked; `rejet` says (in French) why it cannot be imported, "" if it can."""

    numero: int
    attribuant_nom: str = ""
    attribuant: Identifiant = field(default_factory=Identifiant)
    attribuant_type: str = ""
    date_convention: datetime.date | None = None
    reference: str = ""
    beneficiaire_nom: str = ""
    beneficiaire: Identifiant = field(default_factory=Identifiant)
    rna: str = ""
    objet: str = ""
    montant: Decimal | None = None
    nature: str = ""
    conditions: str = ""
    debut: datetime.date | None = None
    fin: datetime.date | None = None
    pourcentage: Decimal | None = None
    exercice: int | None = None
    rejet: str = ""
    avertissements: list[str] = field(default_factory=list)

    @property
    def en_nature(self) -> bool:
        texte = normaliser_nom(self.nature)
        return "NATURE" in texte and "NUMERAIRE" not in texte


@dataclass(frozen=True)
class Lecture:
    tableau: TableauBrut
    disposition: str
    lignes: list[LigneLue]


# --- Files ---------------------------------------------------------------------------------------------------------


def lire_fichier(contenu: bytes) -> TableauBrut:
    """The header and rows of a CSV or XLSX file (XLSX: the first sheet, cells keep their types)."""
    if not contenu:
        raise FichierIlisible("Le fichier est vide.")
    if len(contenu) > TAILLE_MAX:
        raise FichierIlisible(f"Le fichier dépasse {TAILLE_MAX // (1024 * 1024)} Mo.")
    if contenu[:4] == b"PK\x03\x04":
        return _lire_xlsx(contenu)
    if contenu[:8] == b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1":
        raise FichierIlisible(
            "Ce fichier est un classeur Excel ancien (.xls) : enregistrez-le en .xlsx ou en CSV puis importez-le."
        )
    texte, encodage = _decoder(contenu)
    separateur = _separateur(texte)
    lecteur = csv.reader(io.StringIO(texte, newline=""), delimiter=separateur)
    rangs = []
    # A row is numbered by its first physical line (a quoted cell may span several lines).
    precedente = 0
    try:
        for ligne in lecteur:
            rangs.append((precedente + 1, ligne))
            precedente = lecteur.line_num
    except csv.Error as exc:
        raise FichierIlisible(f"Le fichier CSV est mal formé : {exc}.") from exc
    return _tableau("csv", encodage, separateur, rangs)


def _lire_xlsx(contenu: bytes) -> TableauBrut:
    from openpyxl import load_workbook

    try:
        classeur = load_workbook(io.BytesIO(contenu), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds of errors on a damaged file
        raise FichierIlisible(f"Le classeur XLSX ne peut pas être lu : {exc}.") from exc
    try:
        feuille = classeur.worksheets[0]
        rangs = [(i, list(valeurs)) for i, valeurs in enumerate(feuille.iter_rows(values_only=True), start=1)]
    finally:
        classeur.close()
    return _tableau("xlsx", "", "", rangs)


def _tableau(format_: str, encodage: str, separateur: str, rangs: list[tuple[int, list]]) -> TableauBrut:
    rangs = [(n, valeurs) for n, valeurs in rangs if any(_texte(v) for v in valeurs)]
    if not rangs:
        raise FichierIlisible("Le fichier ne contient aucune ligne.")
    if len(rangs) > LIGNES_MAX + 1:
        raise FichierIlisible(f"Le fichier dépasse {LIGNES_MAX} lignes : découpez-le.")
    (_n, entetes), *lignes = rangs
    return TableauBrut(format_, encodage, separateur, [_texte(e) for e in entetes], lignes)


def _decoder(contenu: bytes) -> tuple[str, str]:
    if contenu.startswith(b"\xef\xbb\xbf"):
        return contenu[3:].decode("utf-8", errors="strict"), "UTF-8 avec BOM"
    try:
        return contenu.decode("utf-8"), "UTF-8"
    except UnicodeDecodeError:
        pass
    try:
        return contenu.decode("cp1252"), "Windows-1252"
    except UnicodeDecodeError:
        return contenu.decode("latin-1"), "ISO-8859-1 (latin-1)"


def _separateur(texte: str) -> str:
    """The separator is the one the header line uses most (a header seldom holds a comma or a semicolon)."""
    premiere = texte.lstrip("\r\n").split("\n", 1)[0]
    comptes = {s: premiere.count(s) for s in SEPARATEURS}
    meilleur = max(SEPARATEURS, key=lambda s: comptes[s])
    if not comptes[meilleur]:
        raise FichierIlisible(
            "Aucun séparateur reconnu dans la ligne d'en-tête (point-virgule, virgule ou tabulation attendus)."
        )
    return meilleur


# --- Columns --------------------------------------------------------------------------------------------------------


def normaliser_entete(valeur) -> str:
    sans_accent = unicodedata.normalize("NFKD", _texte(valeur)).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]", "", sans_accent.lower())


def reconnaitre(entetes: list[str]) -> tuple[dict[str, int], str]:
    """Field → column index, and the layout's name. A file without an amount and a beneficiary is unreadable."""
    colonnes: dict[str, int] = {}
    for i, entete in enumerate(entetes):
        champ = ENTETES.get(normaliser_entete(entete))
        if champ and champ not in colonnes:
            colonnes[champ] = i
    manquants = [nom for champ, nom in (("montant", "montant"), ("beneficiaire_nom", "nom du bénéficiaire"))
                 if champ not in colonnes]  # fmt: skip
    if manquants:
        raise FichierIlisible(
            "Colonnes non reconnues : il manque " + " et ".join(manquants) + ". Colonnes attendues : celles du "
            "format SCDL (nomBeneficiaire, idBeneficiaire, montant…) ou l'ancienne disposition (ATTRIB_NOM, "
            f"ATTRIB_SIRET, SUB_MONTANT…). En-tête lu : {', '.join(e for e in entetes if e) or 'vide'}."
        )
    ancienne = any(normaliser_entete(e).startswith(("coll", "attrib", "sub")) for e in entetes)
    return colonnes, ("ancienne disposition COLL_/ATTRIB_/SUB_" if ancienne else "SCDL")


# --- Cells ----------------------------------------------------------------------------------------------------------


def _texte(valeur) -> str:
    if valeur is None:
        return ""
    if isinstance(valeur, float) and valeur.is_integer():
        return str(int(valeur))
    return " ".join(str(valeur).replace("\u00a0", " ").split())


def normaliser_nom(nom) -> str:
    """A name compared across files: no accent, upper case, punctuation turned to spaces ("Secours populaire
    français" and "SECOURS POPULAIRE FRANCAIS" are the same)."""
    ligatures = _texte(nom).replace("œ", "oe").replace("Œ", "OE").replace("æ", "ae").replace("Æ", "AE")
    texte = unicodedata.normalize("NFKD", ligatures).encode("ascii", "ignore").decode().upper()
    texte = texte.replace("&", " ET ")
    return " ".join(re.sub(r"[^A-Z0-9]+", " ", texte).split())


SEP_MILLIERS = re.compile(r"^\d{1,3}([.,])\d{3}(\1\d{3})*$")
NOMBRE_FLOTTANT = re.compile(r"^\d+(?:[.,]\d+)?[eE][+-]?\d+$")


def lire_montant(valeur) -> Decimal:
    """Decimal euros from "17 833", "1 234,56", "1,234.56", "2400.0", "16823.5", "1.234" (thousands) or a number
    cell. Raises ValueError with the French reason."""
    if isinstance(valeur, bool):
        raise ValueError("montant illisible")
    if isinstance(valeur, int | float | Decimal):
        try:
            montant = Decimal(str(valeur))
        except InvalidOperation as exc:
            raise ValueError("montant illisible") from exc
    else:
        brut = _texte(valeur)
        texte = re.sub(r"[\s\u00a0\u202f'’]", "", brut).replace("€", "").replace("EUR", "").replace("eur", "")
        if not texte:
            raise ValueError("montant absent")
        if NOMBRE_FLOTTANT.match(texte) or not re.fullmatch(r"-?[\d.,]+", texte):
            raise ValueError(f"montant illisible « {brut} »")
        negatif = texte.startswith("-")
        texte = texte.lstrip("-")
        if SEP_MILLIERS.match(texte):
            texte = texte.replace(",", "").replace(".", "")
        elif "," in texte and "." in texte:
            # The last separator marks the decimals; the other one must group the thousands by three.
            decimal_ = max(texte.rfind(","), texte.rfind("."))
            entiers, milliers = texte[:decimal_], "," if texte[decimal_] == "." else "."
            if not re.fullmatch(rf"\d{{1,3}}(\{milliers}\d{{3}})*", entiers):
                raise ValueError(f"montant illisible « {brut} »")
            texte = entiers.replace(milliers, "") + "." + texte[decimal_ + 1 :]
        else:
            texte = texte.replace(",", ".")
        if texte.count(".") > 1:
            raise ValueError(f"montant illisible « {brut} »")
        try:
            montant = Decimal(("-" if negatif else "") + texte)
        except InvalidOperation as exc:
            raise ValueError(f"montant illisible « {brut} »") from exc
    if not montant.is_finite():
        raise ValueError("montant illisible")
    if montant <= 0:
        raise ValueError(f"montant nul ou négatif ({montant})")
    # Before quantize: a number of 27 digits or more has no cents within the decimal context (InvalidOperation).
    if montant > MONTANT_MAX:
        raise ValueError(f"montant trop élevé ({montant} € ; au plus 9 999 999,99 €)")
    if montant != montant.quantize(Decimal("0.01")):
        raise ValueError(f"montant au-delà du centime ({montant})")
    if montant > MONTANT_MAX:
        raise ValueError(f"montant trop élevé ({montant} € ; au plus 9 999 999,99 €)")
    return montant.quantize(Decimal("0.01"))


def lire_identifiant(valeur) -> Identifiant:
    """A SIRET as written: kept only when it is 14 digits with valid check keys (stdnum, La Poste's exception
    included). A number cell or a text in float notation ("3.12345678E+13", "31234567800012.0") lost or may have lost
    digits in a spreadsheet: reported, never trusted, even if its key happens to be valid."""
    if valeur is None or _texte(valeur) == "":
        return Identifiant()
    if isinstance(valeur, float) and not valeur.is_integer():
        return Identifiant(probleme=f"SIRET « {valeur!r} » enregistré comme un nombre à virgule par le tableur : "
                           "des chiffres ont pu être perdus, il n'est pas retenu.")  # fmt: skip
    if isinstance(valeur, int | float) and not isinstance(valeur, bool):
        # A number cell keeps 14 digits exactly, unless what was typed in was already rounded (3.12345678E+13 gives
        # 31234567800000): such trailing zeros are not trusted.
        chiffres = str(int(valeur))
        if len(chiffres) == 14 and chiffres.endswith("0000"):
            return Identifiant(
                probleme=f"SIRET « {chiffres} » saisi comme un nombre arrondi par le tableur (zéros finaux) : il "
                "n'est pas retenu."
            )
    texte = _texte(valeur)
    compact = re.sub(r"[\s.\-]", "", texte)
    if NOMBRE_FLOTTANT.match(texte.replace(" ", "")) or re.fullmatch(r"\d+[.,]\d+", texte.replace(" ", "")):
        return Identifiant(
            probleme=f"SIRET « {texte} » écrit comme un nombre à virgule par un tableur : des chiffres ont pu être "
            "perdus, il n'est pas retenu."
        )
    if not compact.isdigit():
        return Identifiant(probleme=f"SIRET « {texte} » : ce n'est pas une suite de chiffres, il n'est pas retenu.")
    if len(compact) == 9:
        if stdnum_siren.is_valid(compact):
            return Identifiant(
                siren=compact, probleme=f"« {texte} » est un SIREN (9 chiffres), pas un SIRET (14 chiffres)."
            )
        return Identifiant(probleme=f"« {texte} » : ni SIRET ni SIREN valide.")
    if len(compact) == 13:
        return Identifiant(
            probleme=f"SIRET « {texte} » de 13 chiffres : le tableur a sans doute supprimé un zéro initial ; il "
            "n'est pas retenu."
        )
    if len(compact) != 14:
        return Identifiant(probleme=f"SIRET « {texte} » : 14 chiffres attendus, {len(compact)} lus ; non retenu.")
    if not stdnum_siret.is_valid(compact):
        return Identifiant(probleme=f"SIRET « {texte} » : clé de contrôle incorrecte, il n'est pas retenu.")
    return Identifiant(siret=compact, siren=compact[:9])


def lire_date(valeur) -> datetime.date | None:
    """A date cell, or ISO (2017-04-13, 2017-04-13T10:00), French (13/04/2017) or 13-04-2017 text; None if blank.
    Raises ValueError when something is written that is not a date."""
    if valeur is None:
        return None
    if isinstance(valeur, datetime.datetime):
        return valeur.date()
    if isinstance(valeur, datetime.date):
        return valeur
    texte = _texte(valeur)
    if not texte:
        return None
    for motif in (r"^(\d{4})-(\d{1,2})-(\d{1,2})(?:[T ].*)?$", r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$"):
        m = re.match(motif, texte)
        if m:
            a, b, c = (int(x) for x in m.groups())
            annee, mois, jour = (a, b, c) if a > 31 else (c, b, a)
            try:
                return datetime.date(annee, mois, jour)
            except ValueError:
                break
    raise ValueError(f"date illisible « {texte} »")


def lire_periode(valeur) -> tuple[datetime.date | None, datetime.date | None]:
    """ "2017-01-01/2017-12-31" (SCDL 2), "2017-01-01_2017-12-31" (older files) or a single date."""
    if isinstance(valeur, datetime.date):
        return lire_date(valeur), None
    texte = _texte(valeur)
    if not texte:
        return None, None
    morceaux = re.split(r"\s*[/_]\s*(?=\d{4}-)", texte, maxsplit=1)
    debut = lire_date(morceaux[0])
    fin = lire_date(morceaux[1]) if len(morceaux) > 1 else None
    return debut, fin


def lire_pourcentage(valeur) -> Decimal | None:
    texte = _texte(valeur).replace("%", "").replace(",", ".").replace(" ", "")
    if not texte:
        return None
    try:
        nombre = Decimal(texte)
    except InvalidOperation:
        return None
    if not nombre.is_finite():
        return None
    return nombre / 100 if nombre > 1 else nombre


def valider_rna(valeur) -> str:
    texte = _texte(valeur).upper().replace(" ", "")
    return texte if re.fullmatch(r"W\d{9}", texte) else ""


# --- Rows -----------------------------------------------------------------------------------------------------------


def lire(contenu: bytes, *, annee: int | None = None) -> Lecture:
    """Every data row of the file, checked. Raises FichierIlisible when the file as a whole cannot be read."""
    tableau = lire_fichier(contenu)
    colonnes, disposition = reconnaitre(tableau.entetes)
    lignes = [_ligne(numero, valeurs, colonnes, annee) for numero, valeurs in tableau.lignes]
    return Lecture(tableau=tableau, disposition=disposition, lignes=lignes)


def _ligne(numero: int, valeurs: list, colonnes: dict[str, int], annee: int | None) -> LigneLue:
    def cellule(champ: str):
        i = colonnes.get(champ)
        return valeurs[i] if i is not None and i < len(valeurs) else None

    ligne = LigneLue(numero=numero)
    ligne.attribuant_nom = _texte(cellule("attribuant_nom"))[:200]
    ligne.attribuant = lire_identifiant(cellule("attribuant_id"))
    ligne.attribuant_type = _texte(cellule("attribuant_type"))
    ligne.reference = _texte(cellule("reference"))[:200]
    ligne.beneficiaire_nom = _texte(cellule("beneficiaire_nom")).strip(" \"'")[:250]
    ligne.beneficiaire = lire_identifiant(cellule("beneficiaire_id"))
    ligne.rna = valider_rna(cellule("rna"))
    ligne.objet = _texte(cellule("objet")).strip(" \"'")
    ligne.nature = _texte(cellule("nature"))
    ligne.conditions = _texte(cellule("conditions"))
    ligne.pourcentage = lire_pourcentage(cellule("pourcentage"))
    if ligne.beneficiaire.probleme:
        ligne.avertissements.append(ligne.beneficiaire.probleme)
    for champ, attribut in (("date_convention", "date_convention"), ("debut", "debut"), ("fin", "fin")):
        try:
            setattr(ligne, attribut, lire_date(cellule(champ)))
        except ValueError as exc:
            ligne.avertissements.append(f"{exc} : ignorée.")
    try:
        debut, fin = lire_periode(cellule("periode"))
        ligne.debut, ligne.fin = ligne.debut or debut, ligne.fin or fin
    except ValueError as exc:
        ligne.avertissements.append(f"période de versement : {exc}, ignorée.")
    # The exercice: the year of the convention, else of the payment period, else the one given on the command line.
    for jour in (ligne.date_convention, ligne.debut):
        if jour is not None:
            ligne.exercice = jour.year
            break
    else:
        ligne.exercice = annee
    try:
        ligne.montant = lire_montant(cellule("montant"))
    except ValueError as exc:
        ligne.rejet = str(exc)[0].upper() + str(exc)[1:] + "."
        return ligne
    if not ligne.beneficiaire_nom and not ligne.beneficiaire.siret:
        ligne.rejet = "Bénéficiaire absent (ni nom ni SIRET valide)."
    elif ligne.exercice is None:
        ligne.rejet = "Année introuvable : ni date de convention ni période de versement (précisez --annee)."
    elif not 2000 <= ligne.exercice <= 2100:
        ligne.rejet = f"Année {ligne.exercice} hors des exercices possibles (2000 à 2100)."
    return ligne
