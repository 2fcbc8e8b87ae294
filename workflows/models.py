"""The notification outbox: every email is a row written in the transaction, sent by a task after commit."""

from django.db import models
from django.utils.translation import gettext_lazy as _

from workflows.enums import StatutCourriel


class Courriel(models.Model):
    destinataires = models.JSONField(_("destinataires"))
    sujet = models.CharField(_("sujet"), max_length=255)
    texte = models.TextField(_("texte"))
    html = models.TextField(_("HTML"), blank=True)
    modele = models.CharField(_("modèle"), max_length=120, blank=True)
    statut = models.CharField(
        _("statut"), max_length=16, choices=StatutCourriel.choices, default=StatutCourriel.EN_ATTENTE, db_index=True
    )
    tentatives = models.PositiveSmallIntegerField(_("tentatives"), default=0)
    derniere_erreur = models.TextField(_("dernière erreur"), blank=True)
    cree_le = models.DateTimeField(_("créé le"), auto_now_add=True, db_index=True)
    envoye_le = models.DateTimeField(_("envoyé le"), null=True, blank=True)

    class Meta:
        verbose_name = _("courriel")
        verbose_name_plural = _("courriels (boîte d'envoi)")
        ordering = ["-cree_le"]

    def __str__(self) -> str:
        return f"{self.sujet} → {', '.join(self.destinataires)}"
