"""Financeurs, contrat de ville (piliers → objectifs, axes), QPV, territoires de projet, types de pièces."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from subventions.referentiel.enums import GenerationQPV, TypeFinanceur
from subventions.referentiel.validators import (
    normaliser_iban,
    normaliser_siret,
    valider_bic,
    valider_code_qpv,
    valider_iban,
    valider_siret,
)

POURCENTAGE = [MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))]
CODE = RegexValidator(
    r"^[a-z0-9]+(-[a-z0-9]+)*$",
    _("Le code ne contient que des minuscules, des chiffres et des tirets (ex. ville-marseille)."),
)


class Financeur(models.Model):
    code = models.CharField(
        _("code"),
        max_length=40,
        unique=True,
        validators=[CODE],
        help_text=_("Court et stable, utilisé par les commandes."),
    )
    nom = models.CharField(_("nom"), max_length=200)
    type = models.CharField(_("type"), max_length=16, choices=TypeFinanceur.choices)
    siret = models.CharField(_("SIRET"), max_length=14, blank=True, validators=[valider_siret])
    taux_avance = models.DecimalField(
        _("avance par défaut (%)"), max_digits=5, decimal_places=2, default=Decimal("50"), validators=POURCENTAGE
    )
    part_max = models.DecimalField(
        _("part maximale du budget d'une action (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("80"),
        validators=POURCENTAGE,
    )
    seuil_convention = models.DecimalField(
        _("seuil de convention (€)"),
        max_digits=12,
        decimal_places=2,
        default=Decimal("23000"),
        validators=[MinValueValidator(Decimal("0"))],
        help_text=_("Au-delà de ce total annuel par porteur, une convention est obligatoire (loi 2000-321, art. 10)."),
    )
    toujours_convention = models.BooleanField(
        _("toujours une convention"), default=False, help_text=_("Conventionner même sous le seuil (pas d'arrêté).")
    )
    mode_cpo = models.BooleanField(
        _("conventions pluriannuelles (CPO)"),
        default=False,
        help_text=_(
            "Signer une convention pluriannuelle d'objectifs avec chaque porteur ; les crédits de chaque année "
            "suivante sont attribués par un avenant financier annuel."
        ),
    )
    duree_cpo = models.PositiveSmallIntegerField(
        _("durée des CPO (années)"), default=3, validators=[MinValueValidator(2), MaxValueValidator(4)]
    )
    signataire_nom = models.CharField(_("signataire (nom et prénom)"), max_length=150, blank=True)
    signataire_qualite = models.CharField(
        _("qualité du signataire"),
        max_length=200,
        blank=True,
        help_text=_("Par exemple : le préfet délégué pour l'égalité des chances."),
    )
    adresse = models.CharField(_("adresse"), max_length=250, blank=True)
    tolerance_ecart = models.DecimalField(
        _("tolérance de sous-réalisation (%)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("10"),
        validators=POURCENTAGE,
        help_text=_(
            "Si le coût réel d'une action est inférieur au budget prévu au-delà de cette marge, le solde est réduit "
            "en proportion (ou un reversement est demandé)."
        ),
    )
    sepa_nom = models.CharField(_("nom du donneur d'ordre SEPA"), max_length=70, blank=True)
    sepa_iban = models.CharField(_("IBAN du donneur d'ordre"), max_length=34, blank=True, validators=[valider_iban])
    sepa_bic = models.CharField(_("BIC du donneur d'ordre"), max_length=11, blank=True, validators=[valider_bic])
    chorus_centre_financier = models.CharField(_("centre financier (Chorus)"), max_length=40, blank=True)
    chorus_domaine_fonctionnel = models.CharField(_("domaine fonctionnel (Chorus)"), max_length=40, blank=True)
    chorus_activite = models.CharField(_("activité (Chorus)"), max_length=40, blank=True)
    actif = models.BooleanField(_("actif"), default=True)

    class Meta:
        verbose_name = _("financeur")
        verbose_name_plural = _("financeurs")
        ordering = ["nom"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(taux_avance__gte=0, taux_avance__lte=100),
                name="financeur_taux_avance_pourcentage",
            ),
            models.CheckConstraint(
                condition=models.Q(part_max__gt=0, part_max__lte=100), name="financeur_part_max_pourcentage"
            ),
            models.CheckConstraint(condition=models.Q(seuil_convention__gte=0), name="financeur_seuil_positif"),
            models.CheckConstraint(
                condition=models.Q(duree_cpo__gte=2, duree_cpo__lte=4), name="financeur_duree_cpo_2_a_4_ans"
            ),
        ]

    def __str__(self) -> str:
        return self.nom

    def clean(self) -> None:
        self.siret = normaliser_siret(self.siret)
        self.sepa_iban = normaliser_iban(self.sepa_iban)
        self.sepa_bic = self.sepa_bic.replace(" ", "").upper()
        renseignes = [bool(self.sepa_nom), bool(self.sepa_iban), bool(self.sepa_bic)]
        if any(renseignes) and not all(renseignes):
            raise ValidationError(
                _("Pour les virements SEPA, renseignez ensemble le nom, l'IBAN et le BIC du donneur d'ordre.")
            )


class ContratDeVille(models.Model):
    nom = models.CharField(_("nom"), max_length=200)
    perimetre = models.CharField(_("périmètre"), max_length=200, help_text=_("Commune ou intercommunalité."))
    annee_debut = models.PositiveSmallIntegerField(_("première année"))
    annee_fin = models.PositiveSmallIntegerField(_("dernière année"))

    class Meta:
        verbose_name = _("contrat de ville")
        verbose_name_plural = _("contrats de ville")
        ordering = ["-annee_debut", "nom"]

    def __str__(self) -> str:
        return f"{self.nom} ({self.annee_debut}–{self.annee_fin})"

    def clean(self) -> None:
        if self.annee_debut and self.annee_fin and self.annee_fin < self.annee_debut:
            raise ValidationError({"annee_fin": _("La dernière année doit suivre la première.")})


class Pilier(models.Model):
    contrat = models.ForeignKey(ContratDeVille, on_delete=models.CASCADE, related_name="piliers")
    code = models.CharField(_("code"), max_length=20)
    numero = models.PositiveSmallIntegerField(_("numéro"))
    libelle = models.CharField(_("libellé"), max_length=200)

    class Meta:
        verbose_name = _("pilier")
        verbose_name_plural = _("piliers")
        ordering = ["contrat", "numero"]
        constraints = [models.UniqueConstraint(fields=["contrat", "code"], name="pilier_code_unique")]

    def __str__(self) -> str:
        return f"{self.numero}. {self.libelle}"


class Objectif(models.Model):
    pilier = models.ForeignKey(Pilier, on_delete=models.CASCADE, related_name="objectifs")
    code = models.CharField(_("code"), max_length=20)
    libelle = models.CharField(_("libellé"), max_length=300)
    ordre = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("objectif")
        verbose_name_plural = _("objectifs")
        ordering = ["pilier__numero", "ordre", "code"]
        constraints = [models.UniqueConstraint(fields=["pilier", "code"], name="objectif_code_unique")]

    def __str__(self) -> str:
        return f"{self.code} — {self.libelle}"


class AxeTransversal(models.Model):
    contrat = models.ForeignKey(ContratDeVille, on_delete=models.CASCADE, related_name="axes")
    code = models.CharField(_("code"), max_length=20)
    libelle = models.CharField(_("libellé"), max_length=200)

    class Meta:
        verbose_name = _("axe transversal")
        verbose_name_plural = _("axes transversaux")
        ordering = ["contrat", "code"]
        constraints = [models.UniqueConstraint(fields=["contrat", "code"], name="axe_code_unique")]

    def __str__(self) -> str:
        return self.libelle


class QPV(models.Model):
    code = models.CharField(_("code"), max_length=8, unique=True, validators=[valider_code_qpv])
    nom = models.CharField(_("nom"), max_length=200)
    commune = models.CharField(_("commune"), max_length=120)
    generation = models.PositiveSmallIntegerField(
        _("géographie"), choices=GenerationQPV.choices, default=GenerationQPV.G2015
    )
    code_fictif = models.BooleanField(
        _("code de démonstration"),
        default=False,
        help_text=_("Code inventé pour la démonstration, pas le code officiel."),
    )

    class Meta:
        verbose_name = _("quartier prioritaire (QPV)")
        verbose_name_plural = _("quartiers prioritaires (QPV)")
        ordering = ["code"]

    def __str__(self) -> str:
        suffixe = " (code de démonstration)" if self.code_fictif else ""
        return f"{self.code} — {self.nom}{suffixe}"


class Territoire(models.Model):
    """A territoire de projet grouping QPV; instructeurs may be scoped to some of them."""

    contrat = models.ForeignKey(ContratDeVille, on_delete=models.CASCADE, related_name="territoires")
    code = models.CharField(_("code"), max_length=40, validators=[CODE])
    nom = models.CharField(_("nom"), max_length=200)
    qpvs = models.ManyToManyField(QPV, related_name="territoires", blank=True, verbose_name=_("QPV"))

    class Meta:
        verbose_name = _("territoire de projet")
        verbose_name_plural = _("territoires de projet")
        ordering = ["contrat", "nom"]
        constraints = [models.UniqueConstraint(fields=["contrat", "code"], name="territoire_code_unique")]

    def __str__(self) -> str:
        return self.nom


class TypePiece(models.Model):
    """A kind of document a porteur keeps in its vault (statuts, RIB…) and a campagne may require."""

    code = models.CharField(_("code"), max_length=40, unique=True, validators=[CODE])
    libelle = models.CharField(_("libellé"), max_length=200)
    duree_validite_mois = models.PositiveSmallIntegerField(
        _("durée de validité (mois)"), null=True, blank=True, help_text=_("Vide : sans limite.")
    )
    ordre = models.PositiveSmallIntegerField(_("ordre"), default=0)

    class Meta:
        verbose_name = _("type de pièce")
        verbose_name_plural = _("types de pièces")
        ordering = ["ordre", "libelle"]

    def __str__(self) -> str:
        return self.libelle
