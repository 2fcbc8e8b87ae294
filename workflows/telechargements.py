"""One way to send a private file: as an attachment, never sniffed, never cached, sandboxed if opened."""

from __future__ import annotations

from django.http import FileResponse, Http404
from django.utils.translation import gettext as _


def fichier_prive(fichier, *, nom: str, type_mime: str) -> FileResponse:
    """`fichier` is a FieldFile (pièce, generated document); the caller has already checked who may read it."""
    try:
        contenu = fichier.open("rb")
    except (FileNotFoundError, ValueError) as exc:
        raise Http404(_("Le fichier est introuvable.")) from exc
    reponse = FileResponse(contenu, as_attachment=True, filename=nom, content_type=type_mime)
    reponse["X-Content-Type-Options"] = "nosniff"
    reponse["Content-Security-Policy"] = "default-src 'none'; sandbox"
    reponse["Cache-Control"] = "private, no-store"
    return reponse
