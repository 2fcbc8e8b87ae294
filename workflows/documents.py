"""Store a generated document once, with its SHA-256; a new version is a new row."""

from __future__ import annotations

import hashlib

from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import models
from django.db.models import Max

from workflows.models import Document


def document_enregistrer(*, obj: models.Model, nature: str, contenu: bytes, nom: str) -> Document:
    """Store `contenu` as the next version of `nature` for `obj` (call inside the caller's transaction)."""
    ct = ContentType.objects.get_for_model(obj)
    derniere = Document.objects.filter(content_type=ct, object_id=obj.pk, nature=nature).aggregate(v=Max("version"))[
        "v"
    ]
    document = Document(
        content_type=ct,
        object_id=obj.pk,
        nature=nature,
        version=(derniere or 0) + 1,
        nom=nom,
        sha256=hashlib.sha256(contenu).hexdigest(),
        taille=len(contenu),
    )
    document.fichier.save(nom, ContentFile(contenu), save=False)
    document.save()
    return document


def document_courant(obj: models.Model, nature: str) -> Document | None:
    ct = ContentType.objects.get_for_model(obj)
    return Document.objects.filter(content_type=ct, object_id=obj.pk, nature=nature).order_by("-version").first()
