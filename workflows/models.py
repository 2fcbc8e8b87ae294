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


class TransitionLog(models.Model):
    """One state change of any workflow object: who, what, from, to, when, why. Never edited or deleted."""

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField(db_index=True)
    transition = models.CharField(_("transition"), max_length=64)
    source = models.CharField(_("état de départ"), max_length=32)
    cible = models.CharField(_("état d'arrivée"), max_length=32)
    # RESTRICT for traceability: a person who acted on a file cannot be deleted.
    acteur = models.ForeignKey(
        "comptes.User", on_delete=models.RESTRICT, null=True, blank=True, related_name="+", verbose_name=_("par")
    )
    date = models.DateTimeField(_("le"), auto_now_add=True, db_index=True)
    commentaire = models.TextField(_("commentaire"), blank=True)
    extra = models.JSONField(_("détails"), default=dict, blank=True)

    class Meta:
        verbose_name = _("changement d'état")
        verbose_name_plural = _("journal des changements d'état")
        ordering = ["date", "pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "date"])]

    def __str__(self) -> str:
        return f"{self.transition}: {self.source} → {self.cible}"


class Document(models.Model):
    """A generated document (récépissé, PV, convention…), rendered once and stored with its SHA-256.

    A new version is a new row; a stored version is never re-rendered.
    """

    content_type = models.ForeignKey("contenttypes.ContentType", on_delete=models.PROTECT)
    object_id = models.PositiveBigIntegerField()
    nature = models.CharField(_("nature"), max_length=40)
    version = models.PositiveSmallIntegerField(_("version"), default=1)
    fichier = models.FileField(_("fichier"), upload_to="documents/%Y/", max_length=300)
    nom = models.CharField(_("nom du fichier"), max_length=200)
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64)
    taille = models.PositiveIntegerField(_("taille (octets)"))
    cree_le = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("document généré")
        verbose_name_plural = _("documents générés")
        ordering = ["content_type", "object_id", "nature", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["content_type", "object_id", "nature", "version"], name="document_version_unique"
            )
        ]

    def __str__(self) -> str:
        return f"{self.nom} (v{self.version})"
