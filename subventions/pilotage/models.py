"""The journal of imports of past subsidies: each import, the key of every row it brought in (so that importing the
same file again creates nothing new), and the historical campagnes the imports created."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from subventions.campagnes.models import Campagne
from subventions.demandes.models import LigneFinancement
from subventions.referentiel.models import Financeur


class CampagneHistorique(models.Model):
    """A campagne created to hold imported subsidies of one year (no call for projects ran in the product)."""

    campagne = models.OneToOneField(Campagne, on_delete=models.CASCADE, related_name="historique")
    cree_le = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("campagne historique (import)")
        verbose_name_plural = _("campagnes historiques (imports)")

    def __str__(self) -> str:
        return str(self.campagne)


class ImportSubventions(models.Model):
    """One import of a spreadsheet of past subsidies, with its French report (a dry run leaves no row)."""

    fichier = models.CharField(_("fichier"), max_length=200)
    sha256 = models.CharField(_("empreinte SHA-256 du fichier"), max_length=64, db_index=True)
    financeur = models.ForeignKey(
        Financeur,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("financeur imposé"),
        help_text=_("Vide : le financeur de chaque ligne est lu dans le fichier."),
    )
    # RESTRICT for traceability: who imported stays known. Empty: the command line.
    par = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("importé par"),
    )
    cree_le = models.DateTimeField(_("importé le"), auto_now_add=True)
    lignes_lues = models.PositiveIntegerField(_("lignes lues"), default=0)
    lignes_importees = models.PositiveIntegerField(_("lignes importées"), default=0)
    lignes_deja = models.PositiveIntegerField(_("lignes déjà importées"), default=0)
    lignes_rejetees = models.PositiveIntegerField(_("lignes rejetées"), default=0)
    montant_importe = models.DecimalField(
        _("montant importé (€)"), max_digits=14, decimal_places=2, default=Decimal("0.00")
    )
    rapport = models.JSONField(_("rapport"), default=dict)

    class Meta:
        verbose_name = _("import de subventions")
        verbose_name_plural = _("imports de subventions")
        ordering = ["-cree_le", "-pk"]

    def __str__(self) -> str:
        return f"{self.fichier} ({self.cree_le:%d/%m/%Y %H:%M})"


class LigneImportee(models.Model):
    """A row of an imported file and the financeur line it became. The key (a hash of the row's identifying values
    and of its rank among identical rows) is unique: the same row imported again is recognised, never doubled."""

    source = models.ForeignKey(ImportSubventions, on_delete=models.PROTECT, related_name="lignes")
    cle = models.CharField(_("clé de la ligne"), max_length=64, unique=True)
    numero = models.PositiveIntegerField(_("ligne du fichier"))
    ligne = models.OneToOneField(LigneFinancement, on_delete=models.CASCADE, related_name="import_pilotage")

    class Meta:
        verbose_name = _("ligne importée")
        verbose_name_plural = _("lignes importées")
        ordering = ["source", "numero"]

    def __str__(self) -> str:
        return f"{self.source_id} ligne {self.numero}"
