"""Actes attributifs: a convention or an arrêté grouping a porteur's granted lines of one financeur and exercice,
their avenants, and the per-financeur, per-year numbering counter."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from associations.models import Porteur
from subventions.campagnes.models import Campagne
from subventions.demandes.models import LigneFinancement
from subventions.referentiel.models import Financeur
from workflows.models import ArchiveQuerySet

ZERO = Decimal("0.00")


class NatureActe(models.TextChoices):
    CONVENTION = "convention", _("Convention")
    ARRETE = "arrete", _("Arrêté attributif")


class StatutActe(models.TextChoices):
    BROUILLON = "brouillon", _("En préparation")
    BLOQUEE = "bloquee", _("Bloquée")
    GENEREE = "generee", _("Générée")
    ENVOYEE = "envoyee", _("Envoyée pour signature")
    SIGNEE_PORTEUR = "signee_porteur", _("Signée par le porteur")
    SIGNEE = "signee", _("Signée (exécutoire)")
    NOTIFIEE = "notifiee", _("Notifiée (exécutoire)")
    SOLDEE = "soldee", _("Soldée")
    RESILIEE = "resiliee", _("Résiliée")


# A document in one of these states still takes new lines (a new version of its PDF); past them, an avenant does.
STATUTS_MODIFIABLES = (StatutActe.BROUILLON, StatutActe.BLOQUEE, StatutActe.GENEREE, StatutActe.ENVOYEE)
STATUTS_EXECUTOIRES = (StatutActe.SIGNEE, StatutActe.NOTIFIEE)


def _est_convention(acte) -> bool:
    return acte.nature == NatureActe.CONVENTION


def _est_arrete(acte) -> bool:
    return acte.nature == NatureActe.ARRETE


def _peut_signer_pour_le_porteur(acte, user) -> bool:
    from subventions.conventions.permissions import est_representant_legal

    return est_representant_legal(acte, user)


def _peut_signer_pour_le_financeur(acte, user) -> bool:
    from subventions.conventions.permissions import est_signataire

    return est_signataire(acte, user)


def _peut_gerer(acte, user) -> bool:
    from subventions.conventions.permissions import peut_gerer

    return peut_gerer(acte, user)


class ActeAttribution(ConcurrentTransitionMixin, models.Model):
    """One convention or arrêté for (financeur, porteur, exercice); an avenant points to the document it amends.

    A financeur in CPO mode signs one convention pluriannuelle per porteur (`annee_fin` set), whose later years get
    an annual financial avenant. Statut: a django-fsm-2 workflow, taken only through workflows.transition_appliquer.
    Conventions: generee → envoyee → signee_porteur → signee → soldee; arrêtés: generee → notifiee → soldee;
    bloquee when the porteur lacks a valid IBAN or a représentant légal; resiliee."""

    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, related_name="actes")
    porteur = models.ForeignKey(Porteur, on_delete=models.PROTECT, related_name="actes")
    campagne = models.ForeignKey(Campagne, on_delete=models.PROTECT, related_name="actes")
    exercice = models.PositiveSmallIntegerField(_("exercice"))
    annee_fin = models.PositiveSmallIntegerField(
        _("dernière année (CPO)"), null=True, blank=True, help_text=_("Renseignée pour une convention pluriannuelle.")
    )
    nature = models.CharField(_("nature"), max_length=12, choices=NatureActe.choices)
    statut = FSMField(
        _("statut"), max_length=20, choices=StatutActe.choices, default=StatutActe.BROUILLON, protected=True
    )
    motif_blocage = models.CharField(_("motif du blocage"), max_length=300, blank=True)
    numero = models.CharField(_("numéro"), max_length=60)
    montant_total = models.DecimalField(_("montant total (€)"), max_digits=12, decimal_places=2, default=ZERO)
    est_avenant = models.BooleanField(_("avenant"), default=False)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="avenants",
        verbose_name=_("document modifié"),
    )
    version_document = models.PositiveSmallIntegerField(
        _("version du document"), default=0, help_text=_("Dernière version du PDF générée (0 : pas encore générée).")
    )
    a_generer = models.BooleanField(
        _("PDF à (re)générer"), default=True, help_text=_("Des lignes ont changé depuis la dernière version du PDF.")
    )
    envoyee_le = models.DateTimeField(_("envoyée le"), null=True, blank=True)
    executoire_le = models.DateTimeField(_("exécutoire le"), null=True, blank=True)
    cree_le = models.DateTimeField(_("créé le"), auto_now_add=True)
    maj_le = models.DateTimeField(_("mis à jour le"), auto_now=True)

    class Meta:
        verbose_name = _("acte attributif")
        verbose_name_plural = _("actes attributifs")
        ordering = ["financeur", "exercice", "numero"]
        constraints = [
            models.UniqueConstraint(
                fields=["financeur", "porteur", "exercice"],
                condition=models.Q(est_avenant=False),
                name="acte_unique_par_financeur_porteur_exercice",
            ),
            models.UniqueConstraint(fields=["financeur", "exercice", "numero"], name="acte_numero_unique"),
            models.CheckConstraint(
                condition=models.Q(est_avenant=False, parent__isnull=True)
                | models.Q(est_avenant=True, parent__isnull=False),
                name="acte_avenant_a_un_parent",
            ),
            models.CheckConstraint(condition=models.Q(montant_total__gte=0), name="acte_montant_positif"),
            models.CheckConstraint(
                condition=models.Q(annee_fin__isnull=True) | models.Q(annee_fin__gt=models.F("exercice")),
                name="acte_cpo_pluriannuelle",
            ),
        ]
        indexes = [
            models.Index(fields=["financeur", "exercice", "statut"]),
            models.Index(fields=["porteur", "statut"]),
            # The staff list of one financeur's documents in its order: the first page without sorting them all.
            models.Index(fields=["financeur", "-exercice", "numero"], name="acte_financeur_exercice_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.numero} — {self.libelle}"

    @property
    def libelle(self) -> str:
        if self.est_avenant:
            return str(_("Avenant financier")) if self.parent_pluriannuelle else str(_("Avenant"))
        if self.annee_fin:
            return str(_("Convention pluriannuelle d'objectifs"))
        return self.get_nature_display()

    @property
    def parent_pluriannuelle(self) -> bool:
        return bool(self.parent_id and self.parent.annee_fin)

    @property
    def est_modifiable(self) -> bool:
        return self.statut in STATUTS_MODIFIABLES

    @property
    def est_executoire(self) -> bool:
        return self.statut in STATUTS_EXECUTOIRES or self.statut == StatutActe.SOLDEE

    @property
    def a_signer(self) -> bool:
        """A convention or an avenant to a convention is signed by both parties; an arrêté is notified."""
        return self.nature == NatureActe.CONVENTION

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude={*(exclude or ()), "statut"})

    # --- Workflow ------------------------------------------------------------------------------------------------

    @transition(
        field=statut,
        source=[StatutActe.BROUILLON, StatutActe.BLOQUEE, StatutActe.GENEREE, StatutActe.ENVOYEE],
        target=StatutActe.GENEREE,
        permission=_peut_gerer,
    )
    def generer(self) -> None:
        """A new version of the PDF was rendered: a document sent before must be sent again."""
        self.motif_blocage = ""

    @transition(
        field=statut,
        source=[StatutActe.BROUILLON, StatutActe.BLOQUEE, StatutActe.GENEREE, StatutActe.ENVOYEE],
        target=StatutActe.BLOQUEE,
        permission=_peut_gerer,
    )
    def bloquer(self) -> None:
        pass

    @transition(
        field=statut,
        source=StatutActe.GENEREE,
        target=StatutActe.ENVOYEE,
        conditions=[_est_convention],
        permission=_peut_gerer,
    )
    def envoyer(self) -> None:
        self.envoyee_le = timezone.now()

    @transition(
        field=statut,
        source=StatutActe.ENVOYEE,
        target=StatutActe.SIGNEE_PORTEUR,
        conditions=[_est_convention],
        permission=_peut_signer_pour_le_porteur,
    )
    def signer_porteur(self) -> None:
        pass

    @transition(
        field=statut,
        source=StatutActe.SIGNEE_PORTEUR,
        target=StatutActe.SIGNEE,
        conditions=[_est_convention],
        permission=_peut_signer_pour_le_financeur,
    )
    def signer_financeur(self) -> None:
        self.executoire_le = timezone.now()

    @transition(
        field=statut,
        source=StatutActe.GENEREE,
        target=StatutActe.NOTIFIEE,
        conditions=[_est_arrete],
        permission=_peut_signer_pour_le_financeur,
    )
    def notifier(self) -> None:
        self.envoyee_le = self.executoire_le = timezone.now()

    @transition(
        field=statut, source=[StatutActe.SIGNEE, StatutActe.NOTIFIEE], target=StatutActe.SOLDEE, permission=_peut_gerer
    )
    def solder(self) -> None:
        pass

    @transition(
        field=statut,
        source=[
            StatutActe.GENEREE,
            StatutActe.ENVOYEE,
            StatutActe.SIGNEE_PORTEUR,
            StatutActe.SIGNEE,
            StatutActe.NOTIFIEE,
        ],
        target=StatutActe.RESILIEE,
        permission=_peut_signer_pour_le_financeur,
    )
    def resilier(self) -> None:
        pass


class ActeLigne(models.Model):
    """A granted line in a document: a line is in at most one document (the original or one avenant)."""

    acte = models.ForeignKey(ActeAttribution, on_delete=models.CASCADE, related_name="lignes")
    ligne = models.OneToOneField(LigneFinancement, on_delete=models.PROTECT, related_name="acte_ligne")
    montant = models.DecimalField(_("montant (€)"), max_digits=12, decimal_places=2)

    class Meta:
        verbose_name = _("ligne d'un acte")
        verbose_name_plural = _("lignes d'un acte")
        ordering = ["acte", "pk"]
        constraints = [models.CheckConstraint(condition=models.Q(montant__gt=0), name="acte_ligne_montant_positif")]

    def __str__(self) -> str:
        return f"{self.acte_id} : {self.montant} €"


class CompteurActes(models.Model):
    """The last document number given for a financeur and year; locked to give the next one (ETAT-2015-0001)."""

    financeur = models.ForeignKey(Financeur, on_delete=models.CASCADE, related_name="+")
    exercice = models.PositiveSmallIntegerField(_("exercice"))
    dernier = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("compteur d'actes")
        constraints = [models.UniqueConstraint(fields=["financeur", "exercice"], name="compteur_actes_unique")]

    def __str__(self) -> str:
        return f"{self.financeur_id} {self.exercice} : {self.dernier}"


class ModeSignature(models.TextChoices):
    EN_LIGNE = "en_ligne", _("Signature en ligne")
    SCAN = "scan", _("Exemplaire signé déposé")


class PartieSignataire(models.TextChoices):
    PORTEUR = "porteur", _("Porteur")
    FINANCEUR = "financeur", _("Financeur")


class Signature(models.Model):
    """Who signed which version of a document, how, when and from where. Never changed after it is written."""

    acte = models.ForeignKey(ActeAttribution, on_delete=models.PROTECT, related_name="signatures")
    partie = models.CharField(_("partie"), max_length=10, choices=PartieSignataire.choices)
    document = models.ForeignKey(
        "workflows.Document", on_delete=models.PROTECT, related_name="+", verbose_name=_("version signée")
    )
    sha256 = models.CharField(_("empreinte de la version signée"), max_length=64)
    mode = models.CharField(_("mode"), max_length=10, choices=ModeSignature.choices)
    scan = models.ForeignKey(
        "workflows.Document",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("exemplaire signé déposé"),
    )
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="signatures_actes")
    nom = models.CharField(_("nom du signataire"), max_length=200)
    qualite = models.CharField(_("qualité"), max_length=200)
    signe_le = models.DateTimeField(_("signé le"), auto_now_add=True)
    ip = models.GenericIPAddressField(_("adresse IP"), null=True, blank=True)
    user_agent = models.CharField(_("navigateur"), max_length=400, blank=True)

    objects = ArchiveQuerySet.as_manager()

    class Meta:
        verbose_name = _("signature")
        verbose_name_plural = _("signatures")
        ordering = ["acte", "signe_le"]
        constraints = [models.UniqueConstraint(fields=["acte", "partie"], name="une_signature_par_partie")]

    def __str__(self) -> str:
        return f"{self.acte_id} {self.partie} : {self.nom}"
