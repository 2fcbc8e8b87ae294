"""The récépissé de dépôt as a PDF: a pure function from a deposited demande to bytes (reportlab, embedded font)."""

from __future__ import annotations

import io
import unicodedata
from functools import cache
from pathlib import Path
from xml.sax.saxutils import escape
from zoneinfo import ZoneInfo

from reportlab.lib import colors
from reportlab.lib.enums import TA_RIGHT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen import canvas
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle

from subventions.templatetags.subventions_tags import formater_montant

PARIS = ZoneInfo("Europe/Paris")
POLICES = Path(__file__).resolve().parent.parent / "fonts"
POLICE = "SubventionsSans"
POLICE_GRASSE = "SubventionsSans-Bold"
MARGE = 18 * mm
LARGEUR_UTILE = A4[0] - 2 * MARGE
GRIS = colors.HexColor("#555555")
FILET = colors.HexColor("#BBBBBB")
FOND = colors.HexColor("#F2F2F2")


@cache
def _polices() -> frozenset[int]:
    """Register the TrueType fonts once (embedded as subsets); returns the code points the regular face covers."""
    pdfmetrics.registerFont(TTFont(POLICE, str(POLICES / "DejaVuSans.ttf")))
    pdfmetrics.registerFont(TTFont(POLICE_GRASSE, str(POLICES / "DejaVuSans-Bold.ttf")))
    pdfmetrics.registerFontFamily(POLICE, normal=POLICE, bold=POLICE_GRASSE, italic=POLICE, boldItalic=POLICE_GRASSE)
    return frozenset(pdfmetrics.getFont(POLICE).face.charToGlyph)


def _imprimable(texte: str) -> str:
    """Text the font can draw: a character it lacks falls back to its unaccented form, else to U+FFFD.

    A glyph missing from the font would print as an empty box, silently; a visible replacement is honest.
    """
    couverts = _polices()
    sortie = []
    for car in texte:
        if ord(car) in couverts or car in "\n\t":
            sortie.append(car)
            continue
        base = "".join(c for c in unicodedata.normalize("NFKD", car) if not unicodedata.combining(c))
        sortie.append(base if base and all(ord(c) in couverts for c in base) else "\ufffd")
    return "".join(sortie)


def _p(texte, style: ParagraphStyle) -> Paragraph:
    """A paragraph of user text: escaped (it is reportlab markup) and limited to drawable characters."""
    return Paragraph(escape(_imprimable(str(texte))).replace("\n", "<br/>"), style)


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("base", fontName=POLICE, fontSize=9.5, leading=12.5)
    return {
        "base": base,
        "titre": ParagraphStyle("titre", parent=base, fontName=POLICE_GRASSE, fontSize=18, leading=22),
        "sous_titre": ParagraphStyle("sous_titre", parent=base, fontSize=10.5, leading=14, textColor=GRIS),
        "section": ParagraphStyle(
            "section", parent=base, fontName=POLICE_GRASSE, fontSize=11, leading=14, spaceBefore=9, spaceAfter=4
        ),
        "libelle": ParagraphStyle("libelle", parent=base, textColor=GRIS),
        "gras": ParagraphStyle("gras", parent=base, fontName=POLICE_GRASSE),
        "retrait": ParagraphStyle("retrait", parent=base, leftIndent=5 * mm),
        "montant": ParagraphStyle("montant", parent=base, alignment=TA_RIGHT),
        "montant_gras": ParagraphStyle("montant_gras", parent=base, fontName=POLICE_GRASSE, alignment=TA_RIGHT),
        "note": ParagraphStyle("note", parent=base, fontSize=8, leading=10.5, textColor=GRIS),
        "empreinte": ParagraphStyle("empreinte", parent=base, fontSize=8.5, leading=11),
    }


def _date(valeur) -> str:
    return valeur.strftime("%d/%m/%Y") if valeur else "—"


def _fiche(lignes: list[tuple[str, str]], styles) -> Table:
    """Label / value rows (identification, action)."""
    table = Table(
        [[_p(libelle, styles["libelle"]), _p(valeur or "—", styles["base"])] for libelle, valeur in lignes],
        colWidths=[48 * mm, LARGEUR_UTILE - 48 * mm],
    )
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), POLICE, 9.5),  # cells that are plain strings: never Helvetica
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 0),
                ("TOPPADDING", (0, 0), (-1, -1), 1.5),
                ("BOTTOMPADDING", (0, 0), (-1, -1), 1.5),
            ]
        )
    )
    return table


def _identification(demande) -> dict:
    """The porteur as filed: the snapshot taken at deposit, or the live record for fields the snapshot lacks."""
    instantane = demande.identification or {}
    porteur = demande.porteur
    champs = (
        "nom", "sigle", "siret", "rna", "adresse", "code_postal", "commune", "representant_prenom",
        "representant_nom", "representant_qualite",
    )  # fmt: skip
    return {c: instantane[c] if c in instantane else getattr(porteur, c, "") for c in champs}


def _bloc_budget(demande, styles) -> Table:
    totaux = demande.totaux()
    lignes = [
        lf
        for lf in demande.lignes_financement.select_related("financeur").order_by("financeur__nom")
        if lf.montant_demande > 0
    ]

    def ligne(libelle: str, montant, style="base", style_montant="montant") -> list:
        valeur = "" if montant is None else _p(formater_montant(montant), styles[style_montant])
        return [_p(libelle, styles[style]), valeur]

    donnees = [
        ligne("Total des charges prévisionnelles", totaux["charges"]),
        ligne("Total des produits prévisionnels", totaux["produits"]),
        ligne("Montants demandés aux financeurs de la campagne", None, "gras"),
        *(ligne(lf.financeur.nom, lf.montant_demande, "retrait") for lf in lignes),
        ligne("Total demandé", totaux["demande"], "gras", "montant_gras"),
    ]
    table = Table(donnees, colWidths=[LARGEUR_UTILE - 42 * mm, 42 * mm])
    table.setStyle(
        TableStyle(
            [
                ("FONT", (0, 0), (-1, -1), POLICE, 9.5),  # cells that are plain strings: never Helvetica
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ("LEFTPADDING", (0, 0), (-1, -1), 4),
                ("RIGHTPADDING", (0, 0), (-1, -1), 4),
                ("LINEBELOW", (0, 1), (-1, 1), 0.5, FILET),
                ("LINEABOVE", (0, -1), (-1, -1), 0.5, FILET),
                ("BACKGROUND", (0, -1), (-1, -1), FOND),
            ]
        )
    )
    return table


def _tronque(texte: str, police: str, taille: float, largeur: float) -> str:
    """Shorten a one-line text with an ellipsis so that it fits in `largeur` points."""
    if pdfmetrics.stringWidth(texte, police, taille) <= largeur:
        return texte
    while texte and pdfmetrics.stringWidth(texte + "…", police, taille) > largeur:
        texte = texte[:-1]
    return texte.rstrip() + "…"


class _CanvasNumerote(canvas.Canvas):
    """Draws "page X / Y" once the total is known: pages are kept until save()."""

    pied_gauche = ""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._pages: list[dict] = []

    def showPage(self):  # noqa: N802 - reportlab's API
        self._pages.append(dict(self.__dict__))
        self._startPage()

    def save(self):
        total = len(self._pages)
        for numero, etat in enumerate(self._pages, start=1):
            self.__dict__.update(etat)
            self.setFont(POLICE, 8)
            self.setFillColor(GRIS)
            self.setStrokeColor(FILET)
            self.line(MARGE, 13 * mm, A4[0] - MARGE, 13 * mm)
            self.drawString(MARGE, 9 * mm, _tronque(self.pied_gauche, POLICE, 8, LARGEUR_UTILE - 30 * mm))
            self.drawRightString(A4[0] - MARGE, 9 * mm, f"Page {numero} / {total}")
            super().showPage()
        super().save()


def recepisse_pdf(demande) -> bytes:
    """The récépissé of a deposited demande (numero and depose_le set). Reads only; the same input gives the same
    bytes (invariant mode: no creation date, fixed document id)."""
    if not demande.numero or not demande.depose_le:
        raise ValueError("Seule une demande déposée (numéro et date de dépôt) a un récépissé.")
    _polices()
    styles = _styles()
    campagne = demande.campagne
    ident = _identification(demande)
    depose_le = demande.depose_le.astimezone(PARIS)

    representant = " ".join(x for x in (ident["representant_prenom"], ident["representant_nom"]) if x)
    if ident["representant_qualite"]:
        representant = f"{representant}, {ident['representant_qualite']}"
    adresse = ", ".join(x for x in (ident["adresse"], f"{ident['code_postal']} {ident['commune']}".strip()) if x)
    qpvs = "; ".join(f"{q.nom} ({q.code})" for q in demande.qpvs.order_by("code"))
    if demande.date_debut or demande.date_fin:
        periode = f"du {_date(demande.date_debut)} au {_date(demande.date_fin)}"
    else:
        periode = "—"
    pieces = "; ".join(
        f"{p.type.libelle} ({p.piece.nom_original})"
        for p in demande.pieces.select_related("type", "piece").order_by("type__ordre", "type__libelle")
    )

    histoire = [
        _p("Récépissé de dépôt", styles["titre"]),
        _p(f"Demande de subvention — {campagne.titre}", styles["sous_titre"]),
        Spacer(1, 5 * mm),
        _fiche(
            [
                ("Numéro de dossier", demande.numero),
                ("Date et heure du dépôt", f"{depose_le:%d/%m/%Y %H:%M} (heure de Paris)"),
                ("Campagne", f"{campagne.titre} (exercice {campagne.exercice})"),
            ],
            styles,
        ),
        _p("Structure porteuse", styles["section"]),
        _fiche(
            [
                ("Nom", ident["nom"]),
                ("Sigle", ident["sigle"]),
                ("SIRET", ident["siret"]),
                ("Numéro RNA", ident["rna"]),
                ("Adresse du siège", adresse),
                ("Représentant légal", representant),
            ],
            styles,
        ),
        _p("Action", styles["section"]),
        _fiche(
            [
                ("Intitulé", demande.intitule),
                ("Période de réalisation", periode),
                ("Quartiers prioritaires", qpvs),
                ("Lieu(x)", demande.lieu),
            ],
            styles,
        ),
        _p("Budget prévisionnel de l’action", styles["section"]),
        _bloc_budget(demande, styles),
        _p("Pièces jointes", styles["section"]),
        _p(pieces or "Aucune pièce jointe.", styles["base"]),
        _p("Déclaration sur l’honneur", styles["section"]),
        _p(
            f"{demande.declaration_nom or '—'}, {demande.declaration_qualite or '—'}, représentant légal de "
            f"{ident['nom']}, a certifié le {_date(demande.declaration_date)} l’exactitude des informations et "
            "des pièces du dossier et l’engagement de la structure à respecter le contrat d’engagement "
            "républicain (loi n° 2021-1109 du 24 août 2021).",
            styles["base"],
        ),
        _p("Empreinte du dossier déposé (SHA-256)", styles["section"]),
        _p(demande.empreinte or "—", styles["empreinte"]),
        Spacer(1, 2 * mm),
        _p(
            "L’empreinte est calculée sur le contenu déposé (identification, action, budget, pièces, déclaration) : "
            "elle permet de vérifier que le dossier conservé est celui qui a été déposé. Ce récépissé atteste la "
            "réception du dossier ; il ne préjuge ni de sa recevabilité ni de la décision des financeurs.",
            styles["note"],
        ),
    ]

    return rendre_pdf(
        histoire,
        titre=f"Récépissé de dépôt {demande.numero}",
        auteur=campagne.titre,
        sujet=demande.intitule,
        pied=f"Récépissé de dépôt — dossier {demande.numero} — {ident['nom']}",
    )


def rendre_pdf(histoire: list, *, titre: str, auteur: str, sujet: str = "", pied: str) -> bytes:
    """An A4 document of the product: embedded fonts, stable bytes, `pied` and « Page X / Y » on each page."""
    tampon = io.BytesIO()
    document = SimpleDocTemplate(
        tampon,
        pagesize=A4,
        leftMargin=MARGE,
        rightMargin=MARGE,
        topMargin=MARGE,
        bottomMargin=20 * mm,
        title=titre,
        author=auteur,
        subject=sujet,
        creator="Subventions",
        invariant=1,
        # Without this the canvas opens every page in Helvetica, a base-14 font that is not embedded.
        initialFontName=POLICE,
        initialFontSize=9.5,
    )
    canvasmaker = type("_Canvas", (_CanvasNumerote,), {"pied_gauche": _imprimable(pied)})
    document.build(histoire, canvasmaker=canvasmaker)
    return tampon.getvalue()
