"""States and kinds of the finance objects, with English values and French labels."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class NaturePaiement(models.TextChoices):
    AVANCE = "avance", _("Avance")
    ACOMPTE = "acompte", _("Acompte")
    SOLDE = "solde", _("Solde")


class StatutPaiement(models.TextChoices):
    PREVU = "prevu", _("Prévu")
    A_PAYER = "a_payer", _("À payer")
    EXPORTE = "exporte", _("Exporté")
    PAYE = "paye", _("Payé")
    REJETE = "rejete", _("Rejeté")
    ANNULE = "annule", _("Annulé")


class StatutListe(models.TextChoices):
    EMISE = "emise", _("Émise")
    ANNULEE = "annulee", _("Annulée")


class StatutReversement(models.TextChoices):
    A_EMETTRE = "a_emettre", _("Titre de recette à émettre")
    EMIS = "emis", _("Titre de recette émis")
    RECOUVRE = "recouvre", _("Recouvré")


class FormatExport(models.TextChoices):
    CSV = "csv", _("CSV (tableur)")
    XLSX = "xlsx", _("Excel (XLSX)")
    SEPA = "sepa", _("Virement SEPA (pain.001.001.03)")


# The Document nature under which each format of a liste is stored, its file extension and MIME type.
DOCUMENTS_LISTE = {
    FormatExport.CSV: ("liste_paiements_csv", "csv", "text/csv; charset=utf-8"),
    FormatExport.XLSX: (
        "liste_paiements_xlsx",
        "xlsx",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ),
    FormatExport.SEPA: ("liste_paiements_sepa", "xml", "application/xml"),
}
