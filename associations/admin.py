"""Admin of porteurs and their members (read mostly; porteurs manage themselves in the portal)."""

from django.contrib import admin

from associations.models import Membre, Piece, Porteur


class MembreInline(admin.TabularInline):
    model = Membre
    extra = 0
    autocomplete_fields = ("user",)


@admin.register(Porteur)
class PorteurAdmin(admin.ModelAdmin):
    list_display = ("nom", "sigle", "siret", "commune")
    search_fields = ("nom", "sigle", "siret", "rna")
    inlines = [MembreInline]


@admin.register(Piece)
class PieceAdmin(admin.ModelAdmin):
    list_display = ("porteur", "type", "nom_original", "depose_le", "valide_au")
    list_filter = ("type",)
    search_fields = ("porteur__nom", "nom_original")
    readonly_fields = ("sha256", "taille", "type_mime", "nom_original", "fichier")
