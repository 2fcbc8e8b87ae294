"""Staff roles, with English values and French labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    INSTRUCTEUR = "instructeur", _("Instructeur")
    COMITE = "comite", _("Secrétariat du comité")
    CONSEIL_CITOYEN = "conseil_citoyen", _("Conseil citoyen (lecture)")
    SIGNATAIRE = "signataire", _("Signataire / ordonnateur")
    FINANCE = "finance", _("Finance")
    ADMINISTRATEUR = "administrateur", _("Administrateur")


# Which space each role opens on the home page.
ESPACE_PAR_ROLE = {
    Role.INSTRUCTEUR: "espace_instruction",
    Role.COMITE: "espace_comite",
    Role.CONSEIL_CITOYEN: "espace_comite",
    Role.SIGNATAIRE: "espace_signature",
    Role.FINANCE: "espace_finance",
    Role.ADMINISTRATEUR: "espace_administration",
}
