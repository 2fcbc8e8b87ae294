"""Kinds of financeurs and of pièces, with English values and French labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class TypeFinanceur(models.TextChoices):
    ETAT = "etat", _("État")
    COMMUNE = "commune", _("Commune")
    EPCI = "epci", _("EPCI / métropole")
    DEPARTEMENT = "departement", _("Département")
    REGION = "region", _("Région")
    CAF = "caf", _("CAF")
    AUTRE = "autre", _("Autre")


class GenerationQPV(models.IntegerChoices):
    G2015 = 2015, _("Géographie prioritaire 2015")
    G2024 = 2024, _("Géographie prioritaire 2024")
