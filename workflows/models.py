"""The notification outbox, the transition log (append-only) and the generated documents of every workflow."""

from contextlib import contextmanager
from contextvars import ContextVar

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
    # Set when an attempt fails: the task retries then (exponential backoff); the periodic catch-up leaves the row
    # alone until that moment has passed by its grace period.
    prochain_essai = models.DateTimeField(_("prochain essai"), null=True, blank=True)

    class Meta:
        verbose_name = _("courriel")
        verbose_name_plural = _("courriels (boîte d'envoi)")
        ordering = ["-cree_le"]

    def __str__(self) -> str:
        return f"{self.sujet} → {', '.join(self.destinataires)}"


class JournalImmuable(Exception):
    """Raised when code tries to change or delete a row of the transition log."""


# Set only by `journal_reecriture_autorisee()`: the demo loaders backdate the log of the data they invent.
_reecriture_autorisee: ContextVar[bool] = ContextVar("journal_reecriture_autorisee", default=False)


@contextmanager
def journal_reecriture_autorisee():
    """Allow QuerySet.update on the transition log, stored documents and signatures for the duration of the block.

    For data loaders only (the demo's backdating of invented 2015 files); no view or service may use it, and
    delete stays refused even inside it.
    """
    jeton = _reecriture_autorisee.set(True)
    try:
        yield
    finally:
        _reecriture_autorisee.reset(jeton)


class TransitionLogQuerySet(models.QuerySet):
    """Append-only: rows are created (one by one or in bulk), never updated or deleted in bulk."""

    def update(self, **kwargs):
        if not _reecriture_autorisee.get():
            raise JournalImmuable("Le journal des changements d'état ne peut pas être modifié.")
        return super().update(**kwargs)

    def delete(self):
        raise JournalImmuable("Le journal des changements d'état ne peut pas être supprimé.")

    delete.queryset_only = True
    delete.alters_data = True


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

    objects = TransitionLogQuerySet.as_manager()

    class Meta:
        verbose_name = _("changement d'état")
        verbose_name_plural = _("journal des changements d'état")
        ordering = ["date", "pk"]
        indexes = [models.Index(fields=["content_type", "object_id", "date"])]

    def __str__(self) -> str:
        return f"{self.transition}: {self.source} → {self.cible}"

    def save(self, *args, **kwargs):
        # A row is written once: an existing row (loaded, or created by bulk_create) is never saved again.
        if not self._state.adding:
            raise JournalImmuable("Le journal des changements d'état ne peut pas être modifié.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise JournalImmuable("Le journal des changements d'état ne peut pas être supprimé.")


class ArchiveImmuable(Exception):
    """A stored document or a signature may not be changed or deleted."""


class ArchiveQuerySet(models.QuerySet):
    """Rows written once (stored documents, signatures): a bulk update is refused like a save of an existing row
    (subventions.audit.receivers refuses those, and every delete), except to the demo loaders that backdate what
    they invent, inside `journal_reecriture_autorisee()` as for the transition log."""

    def update(self, **kwargs):
        if not _reecriture_autorisee.get():
            raise ArchiveImmuable(f"{self.model._meta.verbose_name} : un document conservé ne se modifie pas.")
        return super().update(**kwargs)

    update.queryset_only = True
    update.alters_data = True


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

    objects = ArchiveQuerySet.as_manager()

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
