"""Pure checks of uploaded files: magic bytes, names for display and download."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.utils import translation

from associations import uploads
from tests.associations.factories import jpeg_minimal, pdf_chiffre, pdf_sans_page, png_minimal
from tests.factories import pdf_minimal


@pytest.mark.parametrize(
    ("entete", "attendu"),
    [
        (b"%PDF-1.7\n", "application/pdf"),
        (b"\x89PNG\r\n\x1a\n\x00", "image/png"),
        (b"\xff\xd8\xff\xe0", "image/jpeg"),
        (b"GIF89a", None),
        (b"PK\x03\x04", None),  # a .docx or .odt
        (b" %PDF-1.7", None),
        (b"", None),
    ],
)
def test_the_type_comes_from_the_magic_bytes(entete, attendu):
    assert uploads.type_detecte(entete) == attendu


@pytest.mark.parametrize(
    ("nom", "attendu"),
    [
        ("statuts.pdf", "statuts.pdf"),
        ("../../etc/passwd", "passwd"),
        ("C:\\Users\\asso\\RIB.png", "RIB.png"),
        ("bilan\x00\x07\n.pdf", "bilan.pdf"),
        ("..", "document"),
        ("", "document"),
        ("a" * 300 + ".pdf", "a" * 196 + ".pdf"),
    ],
)
def test_names_are_cleaned_for_display(nom, attendu):
    assert uploads.nom_nettoye(nom) == attendu


@pytest.mark.parametrize(
    ("nom", "mime", "attendu"),
    [
        ("rib.pdf", "image/png", "rib.png"),
        ("scan.JPEG", "image/jpeg", "scan.JPEG"),
        ("statuts", "application/pdf", "statuts.pdf"),
        ("compte.rendu.2024", "application/pdf", "compte.rendu.2024.pdf"),
    ],
)
def test_download_names_carry_the_extension_of_the_real_content(nom, mime, attendu):
    assert uploads.nom_telechargement(nom, mime) == attendu


@pytest.mark.parametrize(
    ("contenu", "mime"),
    [(pdf_minimal, "application/pdf"), (png_minimal, "image/png"), (jpeg_minimal, "image/jpeg")],
    ids=["pdf", "png", "jpeg"],
)
def test_valid_files_report_type_size_and_fingerprint(contenu, mime):
    contenu = contenu()
    import hashlib

    verifie = uploads.fichier_verifier(ContentFile(contenu, name="x"), taille_maximale=10**6)
    assert (verifie.type_mime, verifie.taille, verifie.sha256) == (
        mime,
        len(contenu),
        hashlib.sha256(contenu).hexdigest(),
    )


def test_a_huge_image_is_refused_before_decoding(monkeypatch):
    monkeypatch.setattr(uploads, "PIXELS_MAX", 100)
    with pytest.raises(ValidationError, match="trop grande"):
        uploads.fichier_verifier(ContentFile(png_minimal((20, 20)), name="x.png"), taille_maximale=10**6)


# --- PDFs refused with a message, and XLSX imports checked before openpyxl unpacks them.


def _pdf_de(pages: int) -> bytes:
    import io

    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    for numero in range(pages):
        c.drawString(72, 720, f"Page {numero + 1}")
        c.showPage()
    c.save()
    return buffer.getvalue()


def test_a_pdf_with_too_many_pages_is_refused_with_the_count(settings):
    settings.SUBVENTIONS_PIECE_PAGES_MAX = 5
    assert uploads.fichier_verifier(ContentFile(_pdf_de(5), name="x.pdf")).type_mime == "application/pdf"
    with pytest.raises(ValidationError, match="compte 6 pages, au-delà de la limite de 5") as erreur:
        uploads.fichier_verifier(ContentFile(_pdf_de(6), name="x.pdf"))
    assert erreur.value.code == "pdf_trop_de_pages"


def test_the_default_page_limit_is_a_setting():
    from django.conf import settings

    assert uploads.pages_max() == settings.SUBVENTIONS_PIECE_PAGES_MAX == 300


@pytest.mark.parametrize(
    ("contenu", "code", "message"),
    [
        (lambda: pdf_chiffre(), "pdf_chiffre", "protégé par un mot de passe"),
        (lambda: pdf_minimal()[:-200], "pdf_illisible", "endommagé ou incomplet"),  # cut during the upload
        (lambda: b"%PDF-1.7\n" + b"\x00garbage" * 200 + b"\n%%EOF\n", "pdf_illisible", "endommagé"),
        (lambda: pdf_sans_page(), "pdf_vide", "aucune page"),
        (lambda: b"MZ\x90\x00" + b"\x00" * 100, "type_refuse", "ni un PDF ni une image"),  # an .exe named .pdf
        (lambda: b"<html><script>alert(1)</script></html>", "type_refuse", "ni un PDF"),
    ],
    ids=["chiffre", "tronque", "malforme", "sans-page", "executable", "html"],
)
def test_bad_pdfs_and_disguised_files_are_refused_with_a_french_message(contenu, code, message):
    with pytest.raises(ValidationError, match=message) as erreur:
        uploads.fichier_verifier(ContentFile(contenu(), name="statuts.pdf"), taille_maximale=10**6)
    assert erreur.value.code == code


def test_a_file_over_the_size_limit_is_refused_before_being_parsed(monkeypatch):
    def jamais(*args, **kwargs):
        raise AssertionError("le PDF n'aurait pas dû être lu")

    monkeypatch.setattr(uploads, "verifier_pdf", jamais)
    # The sizes are written in the user's language (a test before this one may have left another one active).
    with translation.override("fr"), pytest.raises(ValidationError, match="au-delà de la limite de 1,0") as erreur:
        uploads.fichier_verifier(ContentFile(b"%PDF-1.7" + b" " * 2048, name="x.pdf"), taille_maximale=1024)
    assert erreur.value.code == "fichier_trop_gros"


def _xlsx() -> bytes:
    import io

    from openpyxl import Workbook

    classeur = Workbook()
    classeur.active.append(["Nom de l'attribuant", "Montant"])
    classeur.active.append(["Ville", 1200])
    buffer = io.BytesIO()
    classeur.save(buffer)
    return buffer.getvalue()


def _zip(fichiers: dict[str, bytes]) -> bytes:
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for nom, contenu in fichiers.items():
            archive.writestr(nom, contenu)
    return buffer.getvalue()


def test_a_real_workbook_passes_the_xlsx_check():
    uploads.verifier_xlsx(_xlsx())


@pytest.mark.parametrize(
    ("contenu", "code"),
    [
        # 300 MB of zeros compress to a few hundred kilobytes: openpyxl would unpack them all in memory.
        (
            lambda: _zip({"[Content_Types].xml": b"<x/>", "xl/workbook.xml": b"<w/>", "xl/x.xml": bytes(300 * 2**20)}),
            "xlsx_trop_gros",
        ),
        (lambda: _zip({"word/document.xml": b"<d/>", "[Content_Types].xml": b"<x/>"}), "xlsx_illisible"),  # .docx
        (lambda: _xlsx()[:500], "xlsx_illisible"),  # truncated
        (lambda: b"Nom;Montant\nVille;1200\n", "xlsx_illisible"),  # a CSV named .xlsx
    ],
    ids=["bombe", "docx", "tronque", "csv"],
)
def test_dangerous_or_damaged_workbooks_are_refused(contenu, code):
    with pytest.raises(ValidationError) as erreur:
        uploads.verifier_xlsx(contenu())
    assert erreur.value.code == code
