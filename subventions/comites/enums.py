"""States and kinds of a comité séance, with English values and French labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class KindSeance(models.TextChoices):
    PROGRAMMATION = "programmation", _("Comité de programmation")
    PILOTAGE = "pilotage", _("Comité de pilotage")


class StatutSeance(models.TextChoices):
    OUVERTE = "ouverte", _("Ouverte")
    CLOSE = "close", _("Clôturée")  # not "Close": Django's catalogue would translate it to "Fermer"


class Decision(models.TextChoices):
    ACCORDEE = "accordee", _("Accordée")
    REFUSEE = "refusee", _("Refusée")
    AJOURNEE = "ajournee", _("Ajournée")
