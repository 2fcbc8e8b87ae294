"""« Historique des modifications » in the admin: every tracked change (who, when, before → after), read-only.

Each historical model gets a searchable list; the tracked models that no other app shows in the admin are registered
here read-only with simple-history's per-object « Historique » page. Signatures are listed read-only as well.
"""

from __future__ import annotations

from django.contrib import admin
from django.utils.html import format_html_join
from django.utils.translation import gettext_lazy as _
from simple_history.admin import SimpleHistoryAdmin

from subventions.audit.models import SUIVIS
from subventions.audit.services import changements
from subventions.conventions.models import Signature
from workflows.admin import LectureSeuleAdmin


class HistoriqueAdmin(LectureSeuleAdmin):
    """The list of history rows of one model: date, person, kind, object and what changed."""

    list_display = ("history_date", "history_user", "history_type", "objet", "modifications")
    list_filter = ("history_type", "history_date")
    search_fields = ("=id", "history_user__email")
    date_hierarchy = "history_date"
    list_select_related = ("history_user",)
    list_per_page = 50

    def get_changelist_instance(self, request):
        liste = super().get_changelist_instance(request)
        lignes = list(liste.result_list)
        if lignes:
            # The row before each one, for the whole page in one query (a constant number of queries per page).
            tous = self.model.objects.filter(id__in={h.id for h in lignes}).order_by(
                "id", "history_date", "history_id"
            )
            precedent, dernier = {}, {}
            for h in tous:
                precedent[h.history_id] = dernier.get(h.id)
                dernier[h.id] = h
            for h in lignes:
                h._precedent = precedent.get(h.history_id)
            liste.result_list = lignes
        return liste

    @admin.display(description=_("objet"))
    def objet(self, obj) -> str:
        return f"{obj.instance_type._meta.verbose_name} n° {obj.id}"

    @admin.display(description=_("avant → après"))
    def modifications(self, obj):
        lignes = changements(obj, obj._precedent) if hasattr(obj, "_precedent") else changements(obj)
        return format_html_join("", "<div><b>{}</b> : {} → {}</div>", lignes) if lignes else "—"


class LectureSeuleHistoriqueAdmin(SimpleHistoryAdmin, LectureSeuleAdmin):
    """A tracked model shown read-only, with its « Historique » button (no revert: nobody may change it here)."""

    def get_list_display(self, request):
        return ("__str__",)


for modele in SUIVIS:
    admin.site.register(modele.history.model, HistoriqueAdmin)
    if not admin.site.is_registered(modele):
        admin.site.register(modele, LectureSeuleHistoriqueAdmin)


@admin.register(Signature)
class SignatureAdmin(LectureSeuleAdmin):
    list_display = ("acte", "partie", "nom", "qualite", "mode", "sha256", "signe_le")
    list_filter = ("partie", "mode")
    search_fields = ("nom", "sha256", "acte__numero", "user__email")
    list_select_related = ("acte", "user")
