"""Factories and sample files for the associations' portal tests."""

from __future__ import annotations

import io
from datetime import timedelta

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from associations.enums import RoleMembre, StatutAdhesion
from associations.models import DemandeAdhesion, Invitation
from tests.factories import MembreFactory, PorteurFactory, UserFactory, pdf_minimal


class InvitationFactory(factory.django.DjangoModelFactory):
    """A usable invitation; trait `expiree`."""

    class Meta:
        model = Invitation

    porteur = factory.SubFactory(PorteurFactory)
    email = factory.Sequence(lambda n: f"invitee{n}@exemple.test")
    role = RoleMembre.GESTIONNAIRE
    invite_par = factory.SubFactory(UserFactory)
    expire_le = factory.LazyFunction(lambda: timezone.now() + timedelta(days=14))

    class Params:
        expiree = factory.Trait(expire_le=factory.LazyFunction(lambda: timezone.now() - timedelta(minutes=1)))


class DemandeAdhesionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = DemandeAdhesion

    porteur = factory.SubFactory(PorteurFactory)
    user = factory.SubFactory(UserFactory)
    message = "Je suis trésorière de l'association."
    statut = StatutAdhesion.EN_ATTENTE


def membre(porteur=None, role: str = RoleMembre.REPRESENTANT_LEGAL, **kwargs):
    if porteur is not None:
        kwargs["porteur"] = porteur
    return MembreFactory(role=role, **kwargs)


def png_minimal(taille: tuple[int, int] = (4, 3)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", taille, (31, 78, 121)).save(buffer, format="PNG")
    return buffer.getvalue()


def jpeg_minimal(taille: tuple[int, int] = (8, 8)) -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", taille, (200, 120, 40)).save(buffer, format="JPEG")
    return buffer.getvalue()


def pdf_chiffre() -> bytes:
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter(clone_from=PdfReader(io.BytesIO(pdf_minimal())))
    writer.encrypt("secret", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def pdf_sans_page() -> bytes:
    from pypdf import PdfWriter

    buffer = io.BytesIO()
    PdfWriter().write(buffer)
    return buffer.getvalue()


def fichier(nom: str, contenu: bytes, content_type: str = "application/pdf") -> SimpleUploadedFile:
    """An upload as the browser sends it: the declared content type is whatever the client says."""
    return SimpleUploadedFile(nom, contenu, content_type=content_type)
