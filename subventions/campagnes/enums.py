"""The phase of a campagne, derived from its dates."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class PhaseCampagne(models.TextChoices):
    A_VENIR = "a_venir", _("À venir")
    OUVERTE = "ouverte", _("Ouverte aux dépôts")
    CLOSE = "close", _("Dépôts clos")
