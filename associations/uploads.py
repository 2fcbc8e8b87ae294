"""Checks of uploaded files, as pure functions: type from the content, size, pages, PDF/image/XLSX integrity."""

from __future__ import annotations

import hashlib
import struct
import unicodedata
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import PurePosixPath, PureWindowsPath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"

EXTENSIONS = {PDF: ".pdf", PNG: ".png", JPEG: ".jpg"}
EXTENSIONS_ACCEPTEES = {PDF: {".pdf"}, PNG: {".png"}, JPEG: {".jpg", ".jpeg"}}
# What the file input suggests to the browser; the server still decides from the content.
ACCEPT = "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg,.jpeg"

TAILLE_MAX_DEFAUT = 10 * 1024 * 1024
# A scan at 600 dpi of an A3 page is about 70 Mpx; beyond that, decoding costs too much memory.
PIXELS_MAX = 80_000_000
# A budget annex or a bilan runs to a few dozen pages; hundreds are a whole archive the instructeur cannot read.
PAGES_MAX_DEFAUT = 300
# An XLSX is a ZIP: what it would weigh once unpacked, and how much more than its compressed size (zip bombs).
XLSX_DECOMPRESSE_MAX = 200 * 1024 * 1024
XLSX_RATIO_MAX = 100
NOM_MAX = 200


@dataclass(frozen=True)
class FichierVerifie:
    """What the checks learnt about an accepted file."""

    type_mime: str
    taille: int
    sha256: str
    nom: str


def taille_max() -> int:
    return int(getattr(settings, "SUBVENTIONS_PIECE_TAILLE_MAX", TAILLE_MAX_DEFAUT))


def pages_max() -> int:
    return int(getattr(settings, "SUBVENTIONS_PIECE_PAGES_MAX", PAGES_MAX_DEFAUT))


def type_detecte(entete: bytes) -> str | None:
    """The MIME type announced by the first bytes (magic numbers), or None for anything we do not accept."""
    if entete.startswith(b"%PDF-"):
        return PDF
    if entete.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if entete.startswith(b"\xff\xd8\xff"):
        return JPEG
    return None


def nom_nettoye(nom: str) -> str:
    """The file name for display only: no folders, no control characters, a sensible length."""
    nom = unicodedata.normalize("NFC", nom or "")
    # Both separators: a name typed on Windows reaches us with backslashes.
    nom = PureWindowsPath(PurePosixPath(nom.replace("\x00", "")).name).name
    nom = "".join(c for c in nom if unicodedata.category(c)[0] != "C").strip().strip(".")
    if len(nom) > NOM_MAX:
        # Keep the extension: it is what the person recognises when downloading.
        extension = PurePosixPath(nom).suffix[:10]
        nom = nom[: NOM_MAX - len(extension)] + extension
    return nom or "document"


def nom_telechargement(nom: str, type_mime: str) -> str:
    """The stored name with an extension that matches the real content (a PNG named .pdf comes back as .png)."""
    nom = nom_nettoye(nom)
    extension = PurePosixPath(nom).suffix.lower()
    if extension in EXTENSIONS_ACCEPTEES.get(type_mime, set()):
        return nom
    racine = PurePosixPath(nom).stem if extension in {".pdf", ".png", ".jpg", ".jpeg"} else nom
    return f"{racine or 'document'}{EXTENSIONS.get(type_mime, '')}"


def _lire_tout(fichier) -> tuple[bytes, str]:
    """The first bytes and the SHA-256 of the whole file, read in chunks."""
    fichier.seek(0)
    empreinte = hashlib.sha256()
    entete = b""
    lecteur = fichier.chunks() if hasattr(fichier, "chunks") else iter(lambda: fichier.read(64 * 1024), b"")
    for morceau in lecteur:
        if len(entete) < 1024:
            entete += morceau[: 1024 - len(entete)]
        empreinte.update(morceau)
    fichier.seek(0)
    return entete, empreinte.hexdigest()


def _fin(fichier, taille: int) -> bytes:
    fichier.seek(max(0, taille - 1024))
    fin = fichier.read()
    fichier.seek(0)
    return fin


def verifier_pdf(fichier, taille: int, *, pages_maximum: int | None = None) -> int:
    """A readable, unencrypted PDF with 1 to `pages_maximum` pages; returns the page count, raises
    ValidationError otherwise."""
    from pypdf import PdfReader
    from pypdf.errors import PyPdfError

    illisible = ValidationError(
        _("Ce PDF est endommagé ou incomplet et ne peut pas être lu. Enregistrez-le à nouveau puis redéposez-le."),
        code="pdf_illisible",
    )
    # A complete PDF ends with %%EOF; a file cut during the upload or the download does not.
    if b"%%EOF" not in _fin(fichier, taille):
        raise illisible
    try:
        lecteur = PdfReader(fichier, strict=False)
        if lecteur.is_encrypted:
            raise ValidationError(
                _(
                    "Ce PDF est protégé par un mot de passe ou chiffré : les services instructeurs ne pourraient "
                    "pas l'ouvrir. Déposez une version sans protection."
                ),
                code="pdf_chiffre",
            )
        pages = len(lecteur.pages)
        limite = pages_maximum if pages_maximum is not None else pages_max()
        if pages > limite:
            # Checked before walking the page tree: a 10 000-page file is refused without reading every page.
            raise ValidationError(
                _(
                    "Ce PDF compte %(pages)s pages, au-delà de la limite de %(limite)s : déposez seulement les "
                    "pages utiles, ou plusieurs documents."
                )
                % {"pages": pages, "limite": limite},
                code="pdf_trop_de_pages",
            )
        for page in lecteur.pages:
            page.mediabox  # noqa: B018 - reading each page's box proves the page tree is sound
    except ValidationError:
        raise
    except (PyPdfError, ValueError, TypeError, KeyError, AttributeError, IndexError, OSError, RecursionError) as exc:
        raise illisible from exc
    finally:
        fichier.seek(0)
    if pages == 0:
        raise ValidationError(_("Ce PDF ne contient aucune page."), code="pdf_vide")
    return pages


def verifier_image(fichier, type_mime: str) -> None:
    """A PNG or JPEG that Pillow decodes entirely; raises ValidationError otherwise."""
    from PIL import Image, UnidentifiedImageError

    attendu = {PNG: "PNG", JPEG: "JPEG"}[type_mime]
    illisible = ValidationError(
        _("Cette image est endommagée ou incomplète et ne peut pas être lue. Redéposez-la ou déposez un PDF."),
        code="image_illisible",
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            fichier.seek(0)
            with Image.open(fichier) as image:
                if image.format != attendu:
                    raise illisible
                largeur, hauteur = image.size
                if largeur * hauteur > PIXELS_MAX:
                    raise ValidationError(
                        _("Cette image est trop grande (%(l)s × %(h)s pixels) : réduisez sa résolution.")
                        % {"l": largeur, "h": hauteur},
                        code="image_trop_grande",
                    )
                image.verify()
            # verify() checks the structure only; decoding the pixels finds truncated data.
            fichier.seek(0)
            with Image.open(fichier) as image:
                image.load()
    except ValidationError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise illisible from exc
    except (OSError, SyntaxError, ValueError, TypeError, IndexError, struct.error) as exc:
        raise illisible from exc
    finally:
        fichier.seek(0)


def fichier_verifier(
    fichier, *, taille_maximale: int | None = None, pages_maximum: int | None = None
) -> FichierVerifie:
    """Check an uploaded file for the vault; raises ValidationError (French message) or returns what it learnt.

    The type comes from the content, never from the name or the browser's Content-Type.
    """
    if fichier is None:
        raise ValidationError(_("Choisissez un fichier à déposer."), code="fichier_absent")
    limite = taille_maximale if taille_maximale is not None else taille_max()
    taille = fichier.size
    if not taille:
        raise ValidationError(_("Le fichier est vide : choisissez le bon document."), code="fichier_vide")
    if taille > limite:
        raise ValidationError(
            _("Le fichier pèse %(taille)s, au-delà de la limite de %(limite)s : réduisez-le ou compressez-le.")
            % {"taille": filesizeformat(taille), "limite": filesizeformat(limite)},
            code="fichier_trop_gros",
        )
    entete, sha256 = _lire_tout(fichier)
    type_mime = type_detecte(entete)
    if type_mime is None:
        raise ValidationError(
            _(
                "Ce fichier n'est ni un PDF ni une image PNG ou JPEG (d'après son contenu, quel que soit son nom). "
                "Enregistrez le document au format PDF puis déposez-le."
            ),
            code="type_refuse",
        )
    if type_mime == PDF:
        verifier_pdf(fichier, taille, pages_maximum=pages_maximum)
    else:
        verifier_image(fichier, type_mime)
    return FichierVerifie(type_mime=type_mime, taille=taille, sha256=sha256, nom=nom_nettoye(fichier.name or ""))


def verifier_xlsx(contenu: bytes) -> None:
    """An XLSX (a ZIP with a workbook) that is safe to hand to openpyxl: no zip bomb, no damaged archive.

    For the imports (pilotage): call it before `openpyxl.load_workbook`, which would unpack everything in memory.
    """
    import io

    illisible = ValidationError(
        _("Ce classeur XLSX est endommagé ou n'en est pas un : enregistrez-le à nouveau depuis le tableur."),
        code="xlsx_illisible",
    )
    if not contenu.startswith(b"PK\x03\x04"):
        raise illisible
    try:
        with zipfile.ZipFile(io.BytesIO(contenu)) as archive:
            membres = archive.infolist()
            noms = {m.filename for m in membres}
            decompresse = sum(m.file_size for m in membres)
            compresse = sum(m.compress_size for m in membres) or 1
            if "[Content_Types].xml" not in noms or not any(n.startswith("xl/workbook") for n in noms):
                raise illisible
            if any(m.flag_bits & 0x1 for m in membres):
                raise ValidationError(
                    _("Ce classeur est protégé par un mot de passe : déposez une version sans protection."),
                    code="xlsx_chiffre",
                )
    except zipfile.BadZipFile as exc:
        raise illisible from exc
    if decompresse > XLSX_DECOMPRESSE_MAX or decompresse > XLSX_RATIO_MAX * compresse:
        raise ValidationError(
            _(
                "Ce classeur occuperait %(taille)s une fois décompressé, au-delà de ce que l'import accepte : "
                "déposez-le au format CSV ou découpez-le."
            )
            % {"taille": filesizeformat(decompresse)},
            code="xlsx_trop_gros",
        )
