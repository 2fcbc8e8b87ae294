"""Access checks for views: staff roles with mandatory MFA, in one place."""

from __future__ import annotations

from functools import wraps

from allauth.mfa.models import Authenticator
from django.contrib import messages
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from subventions.comptes.scopes import a_role


def a_mfa(user) -> bool:
    """True once the user has activated TOTP (recovery codes alone do not count)."""
    cache = user.__dict__.get("_a_mfa")
    if cache is None:
        cache = Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        user.__dict__["_a_mfa"] = cache
    return cache


def refus_agent(request, roles: tuple[str, ...]):
    """None when the request may open a staff page for `roles`; otherwise the response to send."""
    user = request.user
    if not user.is_authenticated:
        return redirect_to_login(request.get_full_path())
    if not a_role(user, *roles):
        raise PermissionDenied(_("Cette page est réservée aux agents habilités."))
    if not a_mfa(user):
        messages.warning(
            request,
            _("Les agents doivent activer la double authentification (application TOTP) avant d'ouvrir leur espace."),
        )
        return redirect("mfa_activate_totp")
    return None


def agent_requis(*roles: str):
    """Decorator for staff views: logged in, holding one of `roles`, and MFA active."""

    def decorator(view):
        @wraps(view)
        def wrapper(request, *args, **kwargs):
            refus = refus_agent(request, roles)
            if refus is not None:
                return refus
            return view(request, *args, **kwargs)

        wrapper.roles_requis = roles
        return wrapper

    return decorator
