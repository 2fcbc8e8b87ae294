"""Read-only admin of the comptes-rendus and the décomptes: they change only through the bilans pages."""

from django.contrib import admin

from subventions.bilans.models import CompteRendu, DecompteSolde


class _LectureSeule(admin.ModelAdmin):
    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(CompteRendu)
class CompteRenduAdmin(_LectureSeule):
    list_display = ("acte", "demande", "statut", "echeance", "montant_accorde", "montant_retenu")
    list_filter = ("statut", "acte__financeur", "acte__exercice")
    search_fields = ("acte__numero", "demande__numero", "acte__porteur__nom")
    list_select_related = ("acte", "demande")


@admin.register(DecompteSolde)
class DecompteSoldeAdmin(_LectureSeule):
    list_display = ("acte", "montant_attribue", "montant_du", "deja_verse", "solde", "reversement", "etabli_le")
    list_select_related = ("acte", "solde", "reversement")
