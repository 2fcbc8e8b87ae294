"""Navigation: the spaces the current user may open, shown in the header."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from subventions.comptes.enums import ESPACE_PAR_ROLE, Role

LIBELLES_ESPACES = {
    "espace_association": _("Espace association"),
    "espace_instruction": _("Instruction"),
    "espace_comite": _("Comité"),
    "espace_signature": _("Signature"),
    "espace_finance": _("Finance"),
    "espace_administration": _("Administration"),
}


def espaces_de(user) -> list[tuple[str, str, str]]:
    """(url name, url, label) of each space the user may open, association first."""
    if not getattr(user, "is_authenticated", False):
        return []
    noms = ["espace_association"]
    roles = set(Role.values) if user.is_superuser else user.roles
    for role in Role:
        nom = ESPACE_PAR_ROLE[role]
        if role in roles and nom not in noms:
            noms.append(nom)
    return [(nom, reverse(nom), LIBELLES_ESPACES[nom]) for nom in noms]


def navigation(request) -> dict:
    return {"espaces": espaces_de(getattr(request, "user", None))}
