"""« Mes données » : a member downloads what the product holds about them, or closes their account."""

from __future__ import annotations

import json

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_GET, require_http_methods

from subventions.audit import services


@login_required
@require_GET
def mes_donnees(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "audit/mes_donnees.html",
        {"retention_mois": services.retention_brouillons_mois(), "agent": request.user.est_agent},
    )


@login_required
@require_GET
def mes_donnees_telecharger(request: HttpRequest) -> HttpResponse:
    donnees = services.donnees_personnelles(user=request.user)
    contenu = json.dumps(donnees, ensure_ascii=False, indent=2)
    nom = f"mes-donnees-subventions-{timezone.localdate():%Y-%m-%d}.json"
    reponse = HttpResponse(contenu, content_type="application/json; charset=utf-8")
    reponse["Content-Disposition"] = f'attachment; filename="{nom}"'
    reponse["Cache-Control"] = "no-store"
    return reponse


@login_required
@require_http_methods(["GET", "POST"])
@reauthentication_required(allow_get=True)
def compte_fermer(request: HttpRequest) -> HttpResponse:
    """GET shows what closing means; POST (password typed again within the last minutes) closes the account."""
    if request.method == "POST":
        if request.POST.get("confirmation") != "FERMER":
            messages.error(request, "Tapez FERMER en capitales pour confirmer la fermeture de votre compte.")
            return redirect("audit:compte_fermer")
        try:
            services.compte_fermer(user=request.user)
        except services.FermetureRefusee as exc:
            messages.error(request, str(exc))
            return redirect("audit:mes_donnees")
        logout(request)
        messages.success(request, "Votre compte est fermé. Les dossiers de vos structures restent conservés.")
        return redirect("accueil")
    return render(
        request,
        "audit/compte_fermer.html",
        {"retention_mois": services.retention_brouillons_mois(), "agent": request.user.est_agent},
    )
