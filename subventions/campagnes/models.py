"""The yearly call (campagne) and the financeurs' enveloppes."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from subventions.campagnes.enums import PhaseCampagne
from subventions.referentiel.models import ContratDeVille, Financeur, Objectif, Pilier, TypePiece

MONTANT_MAX = Decimal("9999999999.99")


class Campagne(models.Model):
    contrat = models.ForeignKey(ContratDeVille, on_delete=models.PROTECT, related_name="campagnes")
    exercice = models.PositiveSmallIntegerField(
        _("exercice"), validators=[MinValueValidator(2000), MaxValueValidator(2100)]
    )
    titre = models.CharField(_("titre"), max_length=200)
    description = models.TextField(_("présentation"), blank=True)
    ouverture = models.DateTimeField(_("ouverture des dépôts"))
    cloture = models.DateTimeField(_("clôture des dépôts"))
    financeurs = models.ManyToManyField(Financeur, related_name="campagnes", verbose_name=_("financeurs"))
    objectifs = models.ManyToManyField(
        Objectif, related_name="campagnes", blank=True, verbose_name=_("objectifs éligibles")
    )
    pieces_requises = models.ManyToManyField(
        TypePiece, related_name="campagnes", blank=True, verbose_name=_("pièces requises")
    )
    date_limite_instruction = models.DateField(_("fin de l'instruction"), null=True, blank=True)
    date_comite = models.DateField(_("date prévue du comité"), null=True, blank=True)

    class Meta:
        verbose_name = _("campagne")
        verbose_name_plural = _("campagnes")
        ordering = ["-exercice", "titre"]
        constraints = [
            models.UniqueConstraint(fields=["contrat", "exercice"], name="campagne_unique_par_contrat_et_exercice"),
            models.CheckConstraint(condition=models.Q(cloture__gt=models.F("ouverture")), name="campagne_dates_ordre"),
        ]

    def __str__(self) -> str:
        return self.titre

    def clean(self) -> None:
        errors = {}
        if self.ouverture and self.cloture and self.cloture <= self.ouverture:
            errors["cloture"] = _("La clôture doit être postérieure à l'ouverture.")
        if self.cloture and self.exercice and timezone.localtime(self.cloture).year > self.exercice + 1:
            errors["cloture"] = _("La clôture ne peut pas dépasser l'année suivant l'exercice.")
        if self.date_limite_instruction and self.cloture and self.date_limite_instruction < self.cloture.date():
            errors["date_limite_instruction"] = _("L'instruction ne peut pas finir avant la clôture des dépôts.")
        if self.date_comite and self.date_limite_instruction and self.date_comite < self.date_limite_instruction:
            errors["date_comite"] = _("Le comité se tient après la fin de l'instruction.")
        if errors:
            raise ValidationError(errors)

    def phase(self, maintenant: datetime | None = None) -> PhaseCampagne:
        maintenant = maintenant or timezone.now()
        if maintenant < self.ouverture:
            return PhaseCampagne.A_VENIR
        if maintenant < self.cloture:
            return PhaseCampagne.OUVERTE
        return PhaseCampagne.CLOSE

    @property
    def est_ouverte(self) -> bool:
        return self.phase() == PhaseCampagne.OUVERTE


class Enveloppe(models.Model):
    """The budget a financeur puts into a campagne; optionally one row per pilier besides the global one."""

    campagne = models.ForeignKey(Campagne, on_delete=models.CASCADE, related_name="enveloppes")
    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, related_name="enveloppes")
    pilier = models.ForeignKey(
        Pilier,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="enveloppes",
        help_text=_("Vide : enveloppe globale du financeur."),
    )
    montant = models.DecimalField(
        _("montant (€)"),
        max_digits=12,
        decimal_places=2,
        validators=[
            MinValueValidator(Decimal("0.01"), _("Le montant doit être positif.")),
            MaxValueValidator(MONTANT_MAX),
        ],
    )

    class Meta:
        verbose_name = _("enveloppe")
        verbose_name_plural = _("enveloppes")
        ordering = ["campagne", "financeur__nom", "pilier__numero"]
        constraints = [
            models.UniqueConstraint(
                fields=["campagne", "financeur"],
                condition=models.Q(pilier__isnull=True),
                name="enveloppe_globale_unique",
            ),
            models.UniqueConstraint(
                fields=["campagne", "financeur", "pilier"],
                condition=models.Q(pilier__isnull=False),
                name="enveloppe_pilier_unique",
            ),
            models.CheckConstraint(condition=models.Q(montant__gt=0), name="enveloppe_montant_positif"),
        ]

    def __str__(self) -> str:
        cible = f" — {self.pilier.libelle}" if self.pilier_id else ""
        return f"{self.financeur} · {self.campagne}{cible}"

    def clean(self) -> None:
        errors = {}
        participe = self.campagne.financeurs.filter(pk=self.financeur_id).exists() if self.campagne_id else True
        if self.financeur_id and not participe:
            errors["financeur"] = _("Ce financeur ne participe pas à la campagne.")
        if self.pilier_id and self.campagne_id and self.pilier.contrat_id != self.campagne.contrat_id:
            errors["pilier"] = _("Ce pilier n'appartient pas au contrat de ville de la campagne.")
        if errors:
            raise ValidationError(errors)
        if self.pilier_id and self.montant is not None:
            self._verifier_repartition()

    def _verifier_repartition(self) -> None:
        """The pilier rows of a financeur may not add up to more than its global enveloppe."""
        meme = Enveloppe.objects.filter(campagne_id=self.campagne_id, financeur_id=self.financeur_id)
        globale = meme.filter(pilier__isnull=True).values_list("montant", flat=True).first()
        if globale is None:
            return
        autres = sum(
            meme.filter(pilier__isnull=False).exclude(pk=self.pk).values_list("montant", flat=True), Decimal(0)
        )
        if autres + self.montant > globale:
            message = _("La répartition par pilier (%(total)s €) dépasserait l'enveloppe globale (%(globale)s €).")
            raise ValidationError({"montant": message % {"total": autres + self.montant, "globale": globale}})
