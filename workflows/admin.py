"""The outbox, the transition log and the stored documents in the admin: administrateurs read them, nobody edits them.

The log and the documents are the product's evidence (who did what, what was signed): no add, change or delete
permission, even for a superuser; the models refuse it too (workflows.models, subventions.audit.receivers).
"""

from django.contrib import admin

from workflows.models import Courriel, Document, TransitionLog


class LectureSeuleAdmin(admin.ModelAdmin):
    """Read-only for everyone, superusers included: the pages show the row, no form saves or deletes it."""

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in self.model._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


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


@admin.register(TransitionLog)
class TransitionLogAdmin(LectureSeuleAdmin):
    list_display = ("date", "content_type", "object_id", "transition", "source", "cible", "acteur")
    list_filter = ("content_type", "transition")
    search_fields = ("=object_id", "acteur__email", "commentaire")
    date_hierarchy = "date"
    list_select_related = ("content_type", "acteur")


@admin.register(Document)
class DocumentAdmin(LectureSeuleAdmin):
    list_display = ("nom", "nature", "version", "content_type", "object_id", "sha256", "cree_le")
    list_filter = ("nature", "content_type")
    search_fields = ("nom", "sha256", "=object_id")
    list_select_related = ("content_type",)
