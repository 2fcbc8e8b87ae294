"""Admin of campagnes and enveloppes."""

from django.contrib import admin

from subventions.campagnes.models import Campagne, Enveloppe


class EnveloppeInline(admin.TabularInline):
    model = Enveloppe
    extra = 0


@admin.register(Campagne)
class CampagneAdmin(admin.ModelAdmin):
    list_display = ("titre", "exercice", "ouverture", "cloture")
    list_filter = ("exercice",)
    filter_horizontal = ("financeurs", "objectifs", "pieces_requises")
    inlines = [EnveloppeInline]


@admin.register(Enveloppe)
class EnveloppeAdmin(admin.ModelAdmin):
    list_display = ("campagne", "financeur", "pilier", "montant")
    list_filter = ("campagne", "financeur")
