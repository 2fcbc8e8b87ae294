"""Actes attributifs: a convention or an arrêté grouping a porteur's granted lines of one financeur and exercice,
their avenants, and the per-financeur, per-year numbering counter."""

from __future__ import annotations

from decimal import Decimal

from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import FSMField

from associations.models import Porteur
from subventions.campagnes.models import Campagne
from subventions.demandes.models import LigneFinancement
from subventions.referentiel.models import Financeur

ZERO = Decimal("0.00")


class NatureActe(models.TextChoices):
    CONVENTION = "convention", _("Convention")
    ARRETE = "arrete", _("Arrêté attributif")


class StatutActe(models.TextChoices):
    """Only the unsigned state for now: the signature workflow (generee → envoyee → signee_porteur → signee →
    soldee; arrêtés generee → notifiee) comes next. Any state other than brouillon counts as "past brouillon":
    the document no longer changes and later lines go into an avenant."""

    BROUILLON = "brouillon", _("Brouillon")


class ActeAttribution(models.Model):
    """One convention or arrêté for (financeur, porteur, exercice); an avenant points to the document it amends.

    Statut: a plain protected FSMField holding `brouillon`; the signature workflow's transitions are added with the
    signature stage. Only a brouillon document gets new lines."""

    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, related_name="actes")
    porteur = models.ForeignKey(Porteur, on_delete=models.PROTECT, related_name="actes")
    campagne = models.ForeignKey(Campagne, on_delete=models.PROTECT, related_name="actes")
    exercice = models.PositiveSmallIntegerField(_("exercice"))
    nature = models.CharField(_("nature"), max_length=12, choices=NatureActe.choices)
    statut = FSMField(
        _("statut"), max_length=20, choices=StatutActe.choices, default=StatutActe.BROUILLON, protected=True
    )
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
        ]
        indexes = [models.Index(fields=["financeur", "exercice", "statut"])]

    def __str__(self) -> str:
        return f"{self.numero} — {self.get_nature_display()}"

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude={*(exclude or ()), "statut"})


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
