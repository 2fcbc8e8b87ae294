"""States of the notification outbox."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class StatutCourriel(models.TextChoices):
    EN_ATTENTE = "en_attente", _("En attente d'envoi")
    ENVOYE = "envoye", _("Envoyé")
    ECHEC = "echec", _("Échec (abandonné après plusieurs essais)")
