"""The outbox in the admin: administrateurs see each email's status and error, and cannot edit them."""

from django.contrib import admin

from workflows.models import Courriel


@admin.register(Courriel)
class CourrielAdmin(admin.ModelAdmin):
    list_display = ("sujet", "statut", "tentatives", "cree_le", "envoye_le")
    list_filter = ("statut", "modele")
    search_fields = ("sujet", "destinataires")
    readonly_fields = [f.name for f in Courriel._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False
