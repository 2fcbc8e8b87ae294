"""Document vault: uploads checked from their content, random storage names, permission-checked downloads."""

from __future__ import annotations

import hashlib
from datetime import date
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.urls import reverse

from associations.enums import RoleMembre
from associations.models import Piece
from associations.services import piece_deposer
from subventions.referentiel.models import TypePiece
from tests.associations.factories import fichier, jpeg_minimal, pdf_chiffre, pdf_sans_page, png_minimal
from tests.factories import MembreFactory, PieceFactory, pdf_minimal

pytestmark = pytest.mark.django_db


def type_piece(code: str = "statuts") -> TypePiece:
    return TypePiece.objects.get(code=code)  # created by the référentiel's data migration


def coffre(porteur) -> str:
    return reverse("associations:coffre", kwargs={"pk": porteur.pk})


def deposer(client, porteur, upload, code: str = "statuts", **extra):
    return client.post(coffre(porteur), {"type_piece": type_piece(code).pk, "fichier": upload, **extra})


def test_the_usual_types_of_pieces_exist():
    codes = set(TypePiece.objects.values_list("code", flat=True))
    assert {"statuts", "liste-dirigeants", "rib", "comptes-approuves", "rapport-activite", "autre"} <= codes


def test_a_valid_pdf_is_stored_under_a_random_name_with_its_fingerprint(client_de, porteur, gestionnaire, settings):
    contenu = pdf_minimal("Statuts de l'association")
    response = deposer(client_de(gestionnaire), porteur, fichier("Statuts 2024.pdf", contenu), valide_du="2024-01-01")
    assert response.status_code == 302
    piece = Piece.objects.get()
    assert piece.porteur == porteur and piece.type.code == "statuts" and piece.depose_par == gestionnaire.user
    assert piece.type_mime == "application/pdf"
    assert piece.taille == len(contenu)
    assert piece.sha256 == hashlib.sha256(contenu).hexdigest()
    assert piece.nom_original == "Statuts 2024.pdf"
    assert piece.valide_du == date(2024, 1, 1) and piece.valide_au is None
    assert piece.fichier.name.startswith(f"pieces/{porteur.pk}/")
    assert "Statuts" not in piece.fichier.name and not piece.fichier.name.endswith(".pdf")
    assert (Path(settings.MEDIA_ROOT) / piece.fichier.name).read_bytes() == contenu
    page = client_de(gestionnaire).get(coffre(porteur)).content.decode()
    assert "Statuts 2024.pdf" in page and "valable" in page


@pytest.mark.parametrize(
    ("nom", "contenu", "mime"),
    [("rib.png", png_minimal(), "image/png"), ("scan rib.JPG", jpeg_minimal(), "image/jpeg")],
)
def test_png_and_jpeg_images_are_accepted(client_de, porteur, representant, nom, contenu, mime):
    response = deposer(client_de(representant), porteur, fichier(nom, contenu, mime), code="rib")
    assert response.status_code == 302
    assert Piece.objects.get().type_mime == mime


def test_the_type_comes_from_the_content_not_from_the_name_or_the_browser(client_de, porteur, representant):
    # A PNG named .pdf and announced as PDF is stored as a PNG and downloaded with a .png name.
    client = client_de(representant)
    deposer(client, porteur, fichier("rib.pdf", png_minimal(), "application/pdf"), code="rib")
    piece = Piece.objects.get()
    assert piece.type_mime == "image/png"
    response = client.get(reverse("associations:piece_telecharger", kwargs={"pk": porteur.pk, "piece_pk": piece.pk}))
    assert response["Content-Type"] == "image/png"
    assert 'filename="rib.png"' in response["Content-Disposition"]


REFUS = [
    ("texte.pdf", b"Ceci est un texte, pas un PDF.\n" * 20, "ni un PDF ni une image"),
    ("page.pdf", b"<html><script>alert(1)</script></html>", "ni un PDF ni une image"),
    ("chiffre.pdf", pdf_chiffre(), "protégé par un mot de passe"),
    ("tronque.pdf", pdf_minimal()[:700], "endommagé ou incomplet"),
    ("fin-coupee.pdf", pdf_minimal()[:-40], "endommagé ou incomplet"),
    ("vide.pdf", pdf_sans_page(), "aucune page"),
    ("image.png", png_minimal((64, 64))[:-30], "endommagée ou incomplète"),
    ("faux.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "endommagée ou incomplète"),
    ("faux.jpg", b"\xff\xd8\xff\xe0" + b"\x00" * 100, "endommagée ou incomplète"),
]


@pytest.mark.parametrize(("nom", "contenu", "message"), REFUS, ids=[r[0] for r in REFUS])
def test_bad_files_are_refused_with_a_french_message_next_to_the_field(
    client_de, porteur, representant, nom, contenu, message
):
    response = deposer(client_de(representant), porteur, fichier(nom, contenu))
    assert response.status_code == 200
    html = response.content.decode().replace("&#x27;", "'")
    assert 'id="id_fichier_error"' in html and message in html
    assert 'id="resume-erreurs"' in html
    assert not Piece.objects.exists()


def test_an_empty_file_is_refused(client_de, porteur, representant):
    response = deposer(client_de(representant), porteur, fichier("vide.pdf", b""))
    assert "Le fichier est vide" in response.content.decode()
    assert not Piece.objects.exists()
    with pytest.raises(ValidationError, match="vide"):
        piece_deposer(porteur=porteur, user=representant.user, type_piece=type_piece(), fichier=ContentFile(b"", "x"))


def test_an_oversize_file_is_refused(client_de, porteur, representant, settings):
    contenu = pdf_minimal()
    settings.SUBVENTIONS_PIECE_TAILLE_MAX = len(contenu) - 1
    response = deposer(client_de(representant), porteur, fichier("gros.pdf", contenu))
    assert "au-delà de la limite" in response.content.decode()
    assert not Piece.objects.exists()
    settings.SUBVENTIONS_PIECE_TAILLE_MAX = len(contenu)
    assert deposer(client_de(representant), porteur, fichier("juste.pdf", contenu)).status_code == 302


def test_the_default_size_limit_is_ten_megabytes(settings):
    assert settings.SUBVENTIONS_PIECE_TAILLE_MAX == 10 * 1024 * 1024


def test_validity_dates_must_be_in_order(client_de, porteur, representant):
    response = deposer(
        client_de(representant),
        porteur,
        fichier("s.pdf", pdf_minimal()),
        valide_du="2025-06-01",
        valide_au="2025-01-01",
    )
    assert "ne peut pas précéder" in response.content.decode().replace("&#x27;", "'")
    assert not Piece.objects.exists()
    with pytest.raises(ValidationError) as erreur:
        piece_deposer(
            porteur=porteur,
            user=representant.user,
            type_piece=type_piece(),
            fichier=ContentFile(pdf_minimal(), "s.pdf"),
            valide_du=date(2025, 6, 1),
            valide_au=date(2025, 1, 1),
        )
    assert "valide_au" in erreur.value.message_dict


def test_an_other_piece_needs_a_label(client_de, porteur, representant):
    response = deposer(client_de(representant), porteur, fichier("x.pdf", pdf_minimal()), code="autre")
    assert "Précisez de quel document" in response.content.decode()
    response = deposer(
        client_de(representant), porteur, fichier("x.pdf", pdf_minimal()), code="autre", libelle="Agrément JEP"
    )
    assert response.status_code == 302 and Piece.objects.get().libelle == "Agrément JEP"


def test_the_uploaded_name_is_never_used_as_a_path(porteur, representant, settings):
    piece = piece_deposer(
        porteur=porteur,
        user=representant.user,
        type_piece=type_piece(),
        fichier=ContentFile(pdf_minimal(), name="../../../../etc/cron.d/statuts.pdf"),
    )
    assert piece.nom_original == "statuts.pdf"
    assert piece.fichier.name.startswith(f"pieces/{porteur.pk}/") and ".." not in piece.fichier.name
    media = Path(settings.MEDIA_ROOT).resolve()
    stockes = [p for p in media.rglob("*") if p.is_file()]
    assert stockes == [media / piece.fichier.name]
    autre = piece_deposer(
        porteur=porteur,
        user=representant.user,
        type_piece=type_piece("rib"),
        fichier=ContentFile(png_minimal(), name="..\\..\\windows\\rib\x00.png"),
    )
    assert autre.nom_original == "rib.png"


def test_the_same_file_twice_is_stored_once(client_de, porteur, representant):
    client = client_de(representant)
    contenu = pdf_minimal()
    deposer(client, porteur, fichier("statuts.pdf", contenu))
    deposer(client, porteur, fichier("statuts (1).pdf", contenu))
    assert Piece.objects.count() == 1


def test_piece_deposer_is_reusable_by_other_forms_and_checks_the_role(porteur, representant, lecteur):
    piece = piece_deposer(
        porteur=porteur,
        user=representant.user,
        type_piece=type_piece("rib"),
        fichier=ContentFile(png_minimal(), name="rib.png"),
        valide_au=date(2030, 1, 1),
    )
    assert (piece.type_mime, piece.valide_au, piece.archivee) == ("image/png", date(2030, 1, 1), False)
    with pytest.raises(PermissionDenied):
        piece_deposer(
            porteur=porteur, user=lecteur.user, type_piece=type_piece(), fichier=ContentFile(pdf_minimal(), "s.pdf")
        )
    with pytest.raises(PermissionDenied):
        piece_deposer(
            porteur=porteur,
            user=MembreFactory().user,
            type_piece=type_piece(),
            fichier=ContentFile(pdf_minimal(), "s.pdf"),
        )


def test_a_lecteur_sees_and_downloads_but_cannot_upload_or_archive(client_de, porteur, lecteur):
    piece = PieceFactory(porteur=porteur)
    client = client_de(lecteur)
    page = client.get(coffre(porteur)).content.decode()
    assert piece.nom_original in page and 'type="file"' not in page
    assert deposer(client, porteur, fichier("s.pdf", pdf_minimal("autre"))).status_code == 403
    telecharger = reverse("associations:piece_telecharger", kwargs={"pk": porteur.pk, "piece_pk": piece.pk})
    assert client.get(telecharger).status_code == 200
    archiver = reverse("associations:piece_archiver", kwargs={"pk": porteur.pk, "piece_pk": piece.pk})
    assert client.post(archiver).status_code == 403
    assert Piece.objects.count() == 1 and not Piece.objects.get().archivee


def test_download_is_an_attachment_never_sniffed(client_de, porteur, lecteur):
    contenu = pdf_minimal("RIB")
    piece = PieceFactory(
        porteur=porteur, fichier=ContentFile(contenu, "x"), nom_original="Relevé d'identité « banque ».pdf"
    )
    response = client_de(lecteur).get(
        reverse("associations:piece_telecharger", kwargs={"pk": porteur.pk, "piece_pk": piece.pk})
    )
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == contenu
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert "filename*=utf-8''Relev%C3%A9" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]
    assert "private" in response["Cache-Control"]


def test_archiving_takes_a_piece_out_of_the_list_but_keeps_it(client_de, porteur, gestionnaire):
    piece = PieceFactory(porteur=porteur, nom_original="anciens-statuts.pdf")
    client = client_de(gestionnaire)
    archiver = reverse("associations:piece_archiver", kwargs={"pk": porteur.pk, "piece_pk": piece.pk})
    assert client.get(archiver).status_code == 405
    assert client.post(archiver).status_code == 302
    assert client.post(archiver).status_code == 302  # twice: harmless
    piece.refresh_from_db()
    assert piece.archivee
    telecharger = reverse("associations:piece_telecharger", kwargs={"pk": porteur.pk, "piece_pk": piece.pk})
    assert telecharger not in client.get(coffre(porteur)).content.decode()
    assert telecharger in client.get(coffre(porteur) + "?archives=1").content.decode()
    assert client.get(telecharger).status_code == 200


def test_vault_list_query_count_is_constant(client_de, porteur, representant, django_assert_num_queries):
    PieceFactory(porteur=porteur, type=type_piece("statuts"))
    PieceFactory(porteur=porteur, type=type_piece("rib"))
    client = client_de(representant)
    # session, user, staff roles (navigation), membership, types of pièce (upload form), pièces
    with django_assert_num_queries(6):
        response = client.get(coffre(porteur))
    assert response.content.decode().count("/telecharger/") == 2
    PieceFactory(porteur=porteur, type=type_piece("liste-dirigeants"), depose_par=MembreFactory().user)
    with django_assert_num_queries(6):
        response = client.get(coffre(porteur))
    assert response.content.decode().count("/telecharger/") == 3


def test_a_missing_file_on_disk_is_a_404_not_a_crash(client_de, porteur, lecteur):
    piece = PieceFactory(porteur=porteur)
    piece.fichier.storage.delete(piece.fichier.name)
    url = reverse("associations:piece_telecharger", kwargs={"pk": porteur.pk, "piece_pk": piece.pk})
    assert client_de(lecteur).get(url).status_code == 404


@pytest.mark.parametrize("role", [RoleMembre.REPRESENTANT_LEGAL, RoleMembre.GESTIONNAIRE])
def test_editors_see_the_upload_form(client, porteur, role):
    membre = MembreFactory(porteur=porteur, role=role)
    client.force_login(membre.user)
    html = client.get(coffre(porteur)).content.decode()
    assert 'type="file"' in html and 'enctype="multipart/form-data"' in html
    assert 'accept="application/pdf,image/png,image/jpeg' in html


def test_upload_from_a_request_goes_back_to_it_and_never_to_another_site(client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from subventions.referentiel.models import TypePiece
    from tests.factories import MembreFactory, pdf_minimal

    membre = MembreFactory()
    client.force_login(membre.user)
    statuts = TypePiece.objects.get(code="statuts")
    url = reverse("associations:coffre", kwargs={"pk": membre.porteur.pk})
    for retour, attendu in (
        ("/demandes/12/etapes/pieces/", "/demandes/12/etapes/pieces/"),
        ("https://ailleurs.example/", url),
    ):
        fichier = SimpleUploadedFile("statuts.pdf", pdf_minimal(), content_type="application/pdf")
        response = client.post(f"{url}?next={retour}", {"type_piece": statuts.pk, "fichier": fichier})
        assert response.status_code == 302 and response.url == attendu
