"""States of a compte-rendu financier and what the porteur's list shows, with English values and French labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StatutCompteRendu(models.TextChoices):
    A_DEPOSER = "a_deposer", _("À déposer")
    DEPOSE = "depose", _("Déposé")
    A_CORRIGER = "a_corriger", _("À corriger")
    VALIDE = "valide", _("Validé")


# States in which the porteur still has to act (edit, then deposit).
A_FAIRE = (StatutCompteRendu.A_DEPOSER, StatutCompteRendu.A_CORRIGER)


class Situation(models.TextChoices):
    """What the porteur reads in its list: the state, and whether the due date is past."""

    A_DEPOSER = "a_deposer", _("À déposer")
    EN_RETARD = "en_retard", _("En retard")
    A_CORRIGER = "a_corriger", _("À corriger")
    DEPOSE = "depose", _("Déposé, en vérification")
    VALIDE = "valide", _("Validé")


# The stored PDF of each deposit (workflows.Document.nature).
NATURE_DOCUMENT = "compte_rendu_financier"
