"""Admin of the référentiel."""

from django.contrib import admin

from subventions.referentiel.models import (
    QPV,
    AxeTransversal,
    ContratDeVille,
    Financeur,
    Objectif,
    Pilier,
    Territoire,
    TypePiece,
)


@admin.register(Financeur)
class FinanceurAdmin(admin.ModelAdmin):
    list_display = ("code", "nom", "type", "siret", "seuil_convention", "toujours_convention", "actif")
    list_filter = ("type", "actif", "toujours_convention")
    search_fields = ("code", "nom", "siret")
    fieldsets = (
        (None, {"fields": ("code", "nom", "type", "siret", "actif")}),
        ("Règles", {"fields": ("taux_avance", "part_max", "seuil_convention", "toujours_convention")}),
        ("Virements SEPA", {"fields": ("sepa_nom", "sepa_iban", "sepa_bic")}),
        ("Chorus", {"fields": ("chorus_centre_financier", "chorus_domaine_fonctionnel", "chorus_activite")}),
    )


class ObjectifInline(admin.TabularInline):
    model = Objectif
    extra = 0


@admin.register(Pilier)
class PilierAdmin(admin.ModelAdmin):
    list_display = ("numero", "libelle", "contrat")
    inlines = [ObjectifInline]


class PilierInline(admin.TabularInline):
    model = Pilier
    extra = 0


class AxeInline(admin.TabularInline):
    model = AxeTransversal
    extra = 0


@admin.register(ContratDeVille)
class ContratDeVilleAdmin(admin.ModelAdmin):
    list_display = ("nom", "perimetre", "annee_debut", "annee_fin")
    inlines = [PilierInline, AxeInline]


@admin.register(QPV)
class QPVAdmin(admin.ModelAdmin):
    list_display = ("code", "nom", "commune", "generation", "code_fictif")
    list_filter = ("generation", "commune", "code_fictif")
    search_fields = ("code", "nom")


@admin.register(Territoire)
class TerritoireAdmin(admin.ModelAdmin):
    list_display = ("nom", "code", "contrat")
    filter_horizontal = ("qpvs",)
    search_fields = ("nom", "code")


@admin.register(TypePiece)
class TypePieceAdmin(admin.ModelAdmin):
    list_display = ("libelle", "code", "duree_validite_mois", "ordre")


admin.site.register(Objectif)
