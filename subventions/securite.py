"""Downloads leave as attachments the browser neither sniffs nor runs, whichever view served them."""

from __future__ import annotations

from collections.abc import Callable

from django.http import FileResponse, HttpRequest, HttpResponseBase
from django.utils.cache import patch_cache_control

# What a page or an htmx fragment is made of; any other type is a file someone downloads (PDF, image, CSV,
# XLSX, SEPA XML…). SVG is deliberately absent: served inline it could run scripts.
TYPES_AFFICHABLES = frozenset(
    {"text/html", "application/json", "text/javascript", "application/javascript", "text/css", "text/plain"}
)
# A file is not a page: no script, no plugin, no form, no same-origin access if a browser renders it anyway.
CSP_FICHIER = "default-src 'none'; sandbox"


def est_un_fichier(reponse: HttpResponseBase) -> bool:
    """True for a successful response whose body is a document rather than a page."""
    if reponse.status_code not in (200, 206):
        return False
    if isinstance(reponse, FileResponse):
        return True
    type_contenu = reponse.get("Content-Type")
    if not type_contenu:
        return False
    return type_contenu.split(";", 1)[0].strip().lower() not in TYPES_AFFICHABLES


def proteger_fichier(reponse: HttpResponseBase) -> HttpResponseBase:
    """Force download, forbid MIME sniffing and sandbox the document; keeps the file name the view chose."""
    disposition = reponse.get("Content-Disposition", "")
    if not disposition:
        reponse["Content-Disposition"] = "attachment"
    elif not disposition.lower().startswith("attachment"):
        # "inline; filename=…" becomes "attachment; filename=…".
        _, _, reste = disposition.partition(";")
        reponse["Content-Disposition"] = "attachment" + (f";{reste}" if reste else "")
    reponse["X-Content-Type-Options"] = "nosniff"
    reponse["Content-Security-Policy"] = CSP_FICHIER
    if not reponse.has_header("Cache-Control"):
        # Private documents (pièces, conventions, exports) must not stay in a shared cache.
        patch_cache_control(reponse, private=True, no_store=True)
    return reponse


class TelechargementsMiddleware:
    """Applies `proteger_fichier` to every file response, so a new download view cannot forget the headers."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponseBase]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponseBase:
        reponse = self.get_response(request)
        if est_un_fichier(reponse):
            proteger_fichier(reponse)
        return reponse
