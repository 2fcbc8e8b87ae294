"""Roles of a porteur's members, legal forms and join-request states."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoleMembre(models.TextChoices):
    REPRESENTANT_LEGAL = "representant_legal", _("Représentant légal")
    GESTIONNAIRE = "gestionnaire", _("Gestionnaire")
    LECTEUR = "lecteur", _("Lecteur")


class FormeJuridique(models.TextChoices):
    ASSOCIATION = "association", _("Association loi 1901")
    ASSOCIATION_DROIT_LOCAL = "association_droit_local", _("Association de droit local (Alsace-Moselle)")
    FONDATION = "fondation", _("Fondation")
    COOPERATIVE = "cooperative", _("Coopérative (SCIC, SCOP)")
    ENTREPRISE_ESS = "entreprise_ess", _("Entreprise de l'économie sociale et solidaire")
    ETABLISSEMENT_PUBLIC = "etablissement_public", _("Établissement public")
    AUTRE = "autre", _("Autre")


class StatutAdhesion(models.TextChoices):
    EN_ATTENTE = "en_attente", _("En attente")
    ACCEPTEE = "acceptee", _("Acceptée")
    REFUSEE = "refusee", _("Refusée")
