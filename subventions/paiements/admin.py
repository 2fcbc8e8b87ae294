"""Admin of the finance settings (acomptes prévus per financeur) and read-only views of payments and listes."""

from django.contrib import admin

from subventions.paiements.models import AcomptePrevu, ListePaiements, Paiement, Reversement


@admin.register(AcomptePrevu)
class AcomptePrevuAdmin(admin.ModelAdmin):
    list_display = ("financeur", "rang", "taux", "delai_mois")
    list_filter = ("financeur",)


class _LectureSeule(admin.ModelAdmin):
    """States change only through the finance pages (transition log, permissions): never edited here."""

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Paiement)
class PaiementAdmin(_LectureSeule):
    list_display = ("reference", "financeur", "nature", "montant", "echeance", "statut")
    list_filter = ("financeur", "statut", "nature")
    search_fields = ("reference", "echeancier__acte__numero", "echeancier__acte__porteur__nom")
    list_select_related = ("financeur",)


@admin.register(ListePaiements)
class ListePaiementsAdmin(_LectureSeule):
    list_display = ("numero", "financeur", "cree_le", "nb_paiements", "montant_total", "statut")
    list_filter = ("financeur", "statut")
    list_select_related = ("financeur",)


@admin.register(Reversement)
class ReversementAdmin(_LectureSeule):
    list_display = ("acte", "financeur", "montant", "statut", "cree_le")
    list_filter = ("financeur", "statut")
    list_select_related = ("acte", "financeur")
