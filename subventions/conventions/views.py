"""Conventions pages: the staff list (filters, counts per status, bulk sending), a document's page (versions, lines,
signatures, history, actions) and the porteur's documents with online signature or the signed copy's deposit."""

from __future__ import annotations

from allauth.account.decorators import reauthentication_required
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from associations.selectors import membre_de
from associations.uploads import fichier_verifier
from subventions.comptes.access import agent_requis
from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre
from subventions.conventions import selectors, services
from subventions.conventions.models import NatureActe, PartieSignataire, StatutActe
from subventions.conventions.permissions import (
    ROLES_GESTION,
    ROLES_LECTURE,
    est_representant_legal,
    est_signataire,
)
from subventions.parametres import entier_positif
from subventions.referentiel.models import Financeur
from workflows.telechargements import fichier_prive
from workflows.transitions import TransitionRefusee, historique_libelle, transitions_possibles

PAR_PAGE = 50
ACTIONS_AGENT = {
    "generer": _("Le document a été régénéré."),
    "envoyer": _("Le document a été envoyé au porteur pour signature."),
    "notifier": _("L'arrêté a été notifié au porteur : il est exécutoire."),
    "resilier": _("Le document a été résilié."),
}


def _retour_conventions(request: HttpRequest) -> str:
    """Back to the list the user came from: only a path of this space, never another site."""
    retour = request.POST.get("retour", "")
    return retour if retour.startswith("/conventions/") and not retour.startswith("//") else "conventions:liste"


def _ip(request: HttpRequest) -> str | None:
    # Behind the production proxy, REMOTE_ADDR is set from X-Forwarded-For by the server (see README).
    return request.META.get("REMOTE_ADDR") or None


def _telechargement(document):
    type_mime = "application/pdf" if document.nom.lower().endswith(".pdf") else "application/octet-stream"
    return fichier_prive(document.fichier, nom=document.nom, type_mime=type_mime)


# --- Staff -------------------------------------------------------------------------------------------------------


@agent_requis(*ROLES_LECTURE)
def liste(request: HttpRequest) -> HttpResponse:
    filtres = {
        "exercice": entier_positif(request.GET.get("exercice")),
        "financeur": entier_positif(request.GET.get("financeur")),
        "statut": request.GET.get("statut") if request.GET.get("statut") in StatutActe.values else None,
        "nature": request.GET.get("nature") if request.GET.get("nature") in (*NatureActe.values, "avenant") else None,
        "recherche": (request.GET.get("q") or "").strip()[:100],
    }
    qs, comptes = selectors.actes_filtres(request.user, **filtres)
    p = perimetre(request.user, ROLES_LECTURE)
    un_financeur = bool(filtres["financeur"]) or (not p.tous_financeurs and len(p.financeur_ids) == 1)
    paginator = Paginator(selectors.page_actes(qs, un_financeur=un_financeur), PAR_PAGE)
    # The counts per status cover the list without its status filter: the list's size is one of them (or their
    # sum), so the paginator need not count again.
    paginator.count = comptes.get(filtres["statut"], 0) if filtres["statut"] else sum(comptes.values())
    page = paginator.get_page(request.GET.get("page"))
    financeurs = Financeur.objects.order_by("nom")
    if not p.tous_financeurs:
        financeurs = financeurs.filter(pk__in=p.financeur_ids)
    gestionnaire = not perimetre(request.user, ROLES_GESTION).vide
    statuts = [(valeur, libelle, comptes.get(valeur, 0)) for valeur, libelle in StatutActe.choices]
    requete = request.GET.copy()
    requete.pop("page", None)
    sans_statut = requete.copy()
    sans_statut.pop("statut", None)
    return render(
        request,
        "conventions/liste.html",
        {
            "page": page,
            "filtres": filtres,
            "statuts": statuts,
            "total": sum(comptes.values()),
            "financeurs": list(financeurs),
            "natures": [*NatureActe.choices, ("avenant", _("Avenant"))],
            "gestionnaire": gestionnaire,
            "requete": requete.urlencode(),
            "requete_sans_statut": sans_statut.urlencode(),
        },
    )


@agent_requis(Role.INSTRUCTEUR, Role.COMITE, Role.ADMINISTRATEUR)
@require_POST
def envoyer_en_bloc(request: HttpRequest) -> HttpResponse:
    ids = [i for i in map(entier_positif, request.POST.getlist("actes")) if i][:500]
    actes = selectors.actes_visibles(request.user, roles=ROLES_GESTION).filter(pk__in=ids).order_by("pk")
    if not ids:
        messages.error(request, _("Cochez au moins un document à envoyer."))
        return redirect(_retour_conventions(request))
    actes = list(actes)
    if len(actes) != len(set(ids)):
        # An id outside the perimeter (or unknown): the same answer as for one document, and nothing is sent.
        raise Http404(_("Document introuvable."))
    envoyes, erreurs = services.actes_envoyer(actes=actes, acteur=request.user)
    if envoyes:
        messages.success(request, _("%(n)s document(s) envoyé(s) pour signature.") % {"n": envoyes})
    for erreur in erreurs[:20]:
        messages.error(request, erreur)
    return redirect(_retour_conventions(request))


@agent_requis(*ROLES_LECTURE)
def acte(request: HttpRequest, pk: int) -> HttpResponse:
    acte = selectors.acte_visible(request.user, pk)
    possibles = set(transitions_possibles(acte, request.user))
    evenements = historique_libelle(acte)
    return render(
        request,
        "conventions/acte.html",
        {
            "acte": acte,
            "lignes": selectors.lignes_de(acte),
            "versions": selectors.versions_de(acte),
            "courant": selectors.document_courant_de(acte),
            "signatures": selectors.signatures_de(acte),
            "avenants": selectors.avenants_de(acte),
            "historique": evenements,
            "actions": [a for a in ("generer", "envoyer", "notifier", "resilier") if a in possibles],
            "peut_contresigner": "signer_financeur" in possibles and est_signataire(acte, request.user),
        },
    )


@agent_requis(*ROLES_GESTION, Role.SIGNATAIRE)
@require_POST
def acte_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    acte = selectors.acte_visible(request.user, pk, roles=(*ROLES_GESTION, Role.SIGNATAIRE))
    try:
        if action == "generer":
            services.acte_generer(acte, acteur=request.user, forcer=True)
        elif action == "envoyer":
            services.acte_envoyer(acte, acteur=request.user)
        elif action == "notifier":
            services.acte_notifier(acte, acteur=request.user)
        elif action == "resilier":
            motif = (request.POST.get("motif") or "").strip()
            if not motif:
                raise TransitionRefusee(_("Indiquez le motif de la résiliation."))
            services.acte_resilier(acte, acteur=request.user, motif=motif)
        else:
            raise TransitionRefusee(_("Action inconnue."))
    except TransitionRefusee as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, ACTIONS_AGENT[action])
    return redirect("conventions:acte", pk=acte.pk)


def _signature(request: HttpRequest, acte, *, partie: str, retour: str) -> HttpResponse:
    """Shared by both parties: online (name, role, checkbox) or the signed copy (a checked PDF)."""
    version = entier_positif(request.POST.get("version"))
    scan = request.FILES.get("scan")
    contenu = nom = None
    try:
        if scan is None and request.POST.get("accepte") != "1":
            raise ValidationError(_("Cochez la case pour confirmer que vous avez lu le document et le signez."))
        if scan is not None:
            verifie = fichier_verifier(scan)
            if verifie.type_mime != "application/pdf":
                raise ValidationError(_("L'exemplaire signé doit être un PDF."))
            scan.seek(0)
            contenu, nom = scan.read(), f"{acte.numero}-signe-{partie}.pdf"
        services.acte_signer(
            acte,
            user=request.user,
            partie=partie,
            nom=request.POST.get("nom", ""),
            qualite=request.POST.get("qualite", ""),
            version=version if version is not None else -1,
            ip=_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
            scan=contenu,
            scan_nom=nom or "",
        )
    except (TransitionRefusee, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
    else:
        messages.success(request, _("Signature enregistrée."))
    return redirect(retour)


@agent_requis(Role.SIGNATAIRE)
@require_POST
@reauthentication_required
def acte_contresigner(request: HttpRequest, pk: int) -> HttpResponse:
    acte = selectors.acte_visible(request.user, pk, roles=(Role.SIGNATAIRE,))
    return _signature(request, acte, partie=PartieSignataire.FINANCEUR, retour=f"/conventions/{acte.pk}/")


@agent_requis(*ROLES_LECTURE)
def acte_telecharger(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    acte = selectors.acte_visible(request.user, pk)
    return _telechargement(selectors.version_de(acte, document_pk))


# --- Porteur -----------------------------------------------------------------------------------------------------


@login_required
def porteur_actes(request: HttpRequest, porteur_pk: int) -> HttpResponse:
    membre = membre_de(request.user, porteur_pk)
    return render(
        request,
        "conventions/porteur_actes.html",
        {"porteur": membre.porteur, "membre": membre, "actes": selectors.actes_du_porteur(porteur_pk)},
    )


@login_required
def porteur_acte(request: HttpRequest, porteur_pk: int, pk: int) -> HttpResponse:
    membre = membre_de(request.user, porteur_pk)
    acte = selectors.acte_du_porteur(porteur_pk, pk)
    courant = selectors.document_courant_de(acte)
    return render(
        request,
        "conventions/porteur_acte.html",
        {
            "porteur": membre.porteur,
            "membre": membre,
            "acte": acte,
            "courant": courant,
            "lignes": selectors.lignes_de(acte),
            "signatures": selectors.signatures_de(acte),
            "peut_signer": acte.statut == StatutActe.ENVOYEE and est_representant_legal(acte, request.user),
        },
    )


@login_required
@require_POST
@reauthentication_required
def porteur_signer(request: HttpRequest, porteur_pk: int, pk: int) -> HttpResponse:
    membre_de(request.user, porteur_pk)
    acte = selectors.acte_du_porteur(porteur_pk, pk)
    return _signature(
        request, acte, partie=PartieSignataire.PORTEUR, retour=f"/conventions/porteur/{porteur_pk}/{acte.pk}/"
    )


@login_required
def porteur_telecharger(request: HttpRequest, porteur_pk: int, pk: int, document_pk: int) -> HttpResponse:
    membre_de(request.user, porteur_pk)
    acte = selectors.acte_du_porteur(porteur_pk, pk)
    return _telechargement(selectors.version_de(acte, document_pk))
