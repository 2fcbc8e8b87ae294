"""Pure checks of uploaded files: magic bytes, names for display and download."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile

from associations import uploads
from tests.associations.factories import jpeg_minimal, png_minimal
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
