"""Admin of users and habilitations (the admin itself is restricted to administrateurs with MFA)."""

from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.utils.translation import gettext_lazy as _

from subventions.comptes.models import Habilitation, User


class HabilitationInline(admin.TabularInline):
    model = Habilitation
    extra = 0
    filter_horizontal = ("financeurs", "territoires")


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ("email",)
    list_display = ("email", "first_name", "last_name", "is_active", "date_joined")
    search_fields = ("email", "first_name", "last_name")
    list_filter = ("is_active", "habilitations__role")
    inlines = [HabilitationInline]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        (_("Identité"), {"fields": ("first_name", "last_name", "telephone")}),
        (_("Statut"), {"fields": ("is_active", "is_staff", "is_superuser")}),
        (_("Dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)
    readonly_fields = ("last_login", "date_joined")


@admin.register(Habilitation)
class HabilitationAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "tous_financeurs", "actif")
    list_filter = ("role", "actif", "financeurs")
    search_fields = ("user__email",)
    filter_horizontal = ("financeurs", "territoires")
    autocomplete_fields = ("user",)
