"""The Django admin, opened only to administrateurs who have activated MFA, through allauth's login."""

from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import urlencode


class SubventionsAdminSite(admin.AdminSite):
    site_header = "Subventions — administration"
    site_title = "Subventions"
    index_title = "Référentiel, campagnes et habilitations"

    def has_permission(self, request) -> bool:
        from subventions.comptes.access import a_mfa

        user = request.user
        return bool(user.is_active and user.is_authenticated and user.est_administrateur and a_mfa(user))

    def login(self, request, extra_context=None):
        # One login for the whole product (allauth: rate limits, MFA); the admin has no login form of its own.
        from subventions.comptes.access import refus_agent
        from subventions.comptes.enums import Role

        if not request.user.is_authenticated:
            nxt = request.GET.get("next") or reverse("admin:index")
            return redirect(f"{reverse('account_login')}?{urlencode({'next': nxt})}")
        refus = refus_agent(request, (Role.ADMINISTRATEUR,))
        if refus is not None:
            return refus
        return redirect("admin:index")


class SubventionsAdminConfig(AdminConfig):
    default_site = "subventions.admin_site.SubventionsAdminSite"
