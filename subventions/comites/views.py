"""Comité pages: séances of a campagne, the séance (ordre du jour, decisions, close), PV and letter downloads."""

from __future__ import annotations

import datetime
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from subventions.campagnes.selectors import campagnes_visibles
from subventions.comites import selectors, services
from subventions.comites.enums import Decision, KindSeance
from subventions.comites.models import PointOrdreDuJour
from subventions.comptes.access import agent_requis
from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre
from subventions.demandes.enums import Avis, StatutLigne
from subventions.demandes.models import LigneFinancement
from subventions.parametres import entier_positif
from workflows.documents import document_courant
from workflows.telechargements import fichier_prive
from workflows.transitions import TransitionRefusee

ROLES_LECTURE = selectors.ROLES_LECTURE
PAR_PAGE = 50  # points of the ordre du jour per page


def _telechargement(document) -> FileResponse:
    return fichier_prive(document.fichier, nom=document.nom, type_mime="application/pdf")


def _est_secretaire(user) -> bool:
    return Role.COMITE in user.roles or user.is_superuser


@agent_requis(*ROLES_LECTURE)
def seances(request: HttpRequest, campagne_pk: int) -> HttpResponse:
    campagne = get_object_or_404(campagnes_visibles(request.user, roles=ROLES_LECTURE), pk=campagne_pk)
    p = perimetre(request.user, [Role.COMITE])
    financeurs = [f for f in campagne.financeurs.all() if p.tous_financeurs or f.pk in p.financeur_ids]
    return render(
        request,
        "comites/seances.html",
        {
            "campagne": campagne,
            "seances": selectors.seances_visibles(request.user, campagne=campagne),
            "secretaire": _est_secretaire(request.user) and bool(financeurs),
            "financeurs_creables": financeurs,
            "kinds": KindSeance.choices,
        },
    )


@agent_requis(Role.COMITE)
@require_POST
def seance_creer(request: HttpRequest, campagne_pk: int) -> HttpResponse:
    campagne = get_object_or_404(campagnes_visibles(request.user, roles=[Role.COMITE]), pk=campagne_pk)
    ids = {i for i in map(entier_positif, request.POST.getlist("financeurs")) if i}
    try:
        date = datetime.date.fromisoformat(request.POST.get("date", ""))
    except ValueError:
        messages.error(request, _("Indiquez la date de la séance."))
        return redirect("comites:seances", campagne_pk=campagne.pk)
    try:
        seance = services.seance_creer(
            campagne=campagne,
            user=request.user,
            date=date,
            kind=request.POST.get("kind", ""),
            financeurs=campagne.financeurs.filter(pk__in=ids),
            membres_presents=request.POST.get("membres_presents", ""),
        )
    except (TransitionRefusee, ValidationError) as exc:
        messages.error(request, " ".join(getattr(exc, "messages", [str(exc)])))
        return redirect("comites:seances", campagne_pk=campagne.pk)
    messages.success(request, _("Séance créée."))
    return redirect("comites:seance", pk=seance.pk)


@agent_requis(*ROLES_LECTURE)
def seance(request: HttpRequest, pk: int) -> HttpResponse:
    """The séance: its ordre du jour by pages of PAR_PAGE points in agenda order, optionally narrowed to a financeur
    or a pilier (a comité goes through its agenda pilier by pilier, and each financeur decides its own lines); for
    the secretary of an open séance, the decision forms and the instruite demandes to add."""
    seance = selectors.seance_visible(request.user, pk)
    secretaire = _est_secretaire(request.user)
    ouverte = seance.est_ouverte
    financeurs = list(seance.financeurs.all())
    contrat = seance.campagne.contrat
    piliers = list(contrat.piliers.order_by("numero"))
    odj = {
        "financeur": entier_positif(request.GET.get("odj_financeur")),
        "pilier": entier_positif(request.GET.get("odj_pilier")),
    }
    paginator = Paginator(selectors.ordre_du_jour(seance, **odj), PAR_PAGE)
    page = paginator.get_page(request.GET.get("page"))
    points = list(page.object_list)
    p = perimetre(request.user, [Role.COMITE])
    libelles = _libelles()
    for point in points:
        du_jour = services.lignes_du_point(point, point.demande.lignes_sollicitees)
        for ligne in point.demande.lignes_sollicitees:
            _libeller(ligne, libelles)
            ligne.du_jour = ligne in du_jour
            ligne.decidable = (
                secretaire
                and ouverte
                and ligne.du_jour
                and (p.tous_financeurs or ligne.financeur_id in p.financeur_ids)
            )
        point.retirable = (
            secretaire
            and ouverte
            and not any(
                lf.du_jour and not services.ligne_a_decider(lf, point) for lf in point.demande.lignes_sollicitees
            )
        )
    requete = request.GET.copy()
    requete.pop("page", None)
    contexte = {
        "seance": seance,
        "page": page,
        "points": points,
        "odj": odj,
        "requete": requete.urlencode(),
        "retour": request.get_full_path(),
        "secretaire": secretaire,
        "ouverte": ouverte,
        "pv": None if ouverte else document_courant(seance, "proces_verbal"),
        "decisions": Decision.choices,
        "financeurs": financeurs,
        "piliers": piliers,
    }
    if secretaire and ouverte:
        filtres = {
            "financeur": entier_positif(request.GET.get("financeur")),
            "pilier": entier_positif(request.GET.get("pilier")),
            "territoire": entier_positif(request.GET.get("territoire")),
            "avis": request.GET.get("avis") if request.GET.get("avis") in Avis.values else None,
        }
        candidats = list(selectors.candidats(seance, **filtres)[:200])
        for demande in candidats:
            demande.pilier = services.pilier_de(demande)
            for ligne in demande.lignes_sollicitees:
                _libeller(ligne, libelles)
        contexte |= {
            "candidats": candidats,
            "filtres": filtres,
            "territoires": contrat.territoires.order_by("nom"),
            "avis_choix": Avis.choices,
        }
    return render(request, "comites/seance.html", contexte)


def _libelles() -> tuple[dict[str, str], dict[str, str]]:
    """The avis and line status labels, translated once per request: the choices hold lazy strings, which would be
    translated again each time the page prints one (`get_FOO_display` would also rebuild its dict on every call)."""
    return {v: str(label) for v, label in Avis.choices}, {v: str(label) for v, label in StatutLigne.choices}


def _libeller(ligne: LigneFinancement, libelles: tuple[dict[str, str], dict[str, str]]) -> None:
    avis, statuts = libelles
    ligne.avis_libelle = avis.get(ligne.avis, ligne.avis)
    ligne.statut_libelle = statuts.get(ligne.statut, ligne.statut)


def _agir(request: HttpRequest, pk: int, action) -> HttpResponse:
    """Load the séance within the comité perimeter (404 outside), run the service, turn refusals into messages."""
    seance = selectors.seance_visible(request.user, pk, roles=[Role.COMITE])
    try:
        message = action(seance)
    except (TransitionRefusee, IntegrityError, ValidationError) as exc:
        texte = str(exc) if isinstance(exc, TransitionRefusee) else _("Action impossible : le dossier a changé.")
        messages.error(request, texte)
    else:
        if message:
            messages.success(request, message)
    # Back to the page of the agenda the form was on (only this séance's page: never an open redirect).
    page = reverse("comites:seance", kwargs={"pk": seance.pk})
    retour = request.POST.get("retour", "")
    return redirect(retour if retour.startswith(page + "?") else page)


@agent_requis(Role.COMITE)
@require_POST
def presents(request: HttpRequest, pk: int) -> HttpResponse:
    def action(seance):
        services.seance_modifier_presents(
            seance=seance, user=request.user, membres_presents=request.POST.get("membres_presents", "")
        )
        return _("Membres présents enregistrés.")

    return _agir(request, pk, action)


@agent_requis(Role.COMITE)
@require_POST
def odj_ajouter(request: HttpRequest, pk: int) -> HttpResponse:
    def action(seance):
        ids = {i for i in map(entier_positif, request.POST.getlist("demandes")) if i}
        demandes = list(selectors.candidats(seance).filter(pk__in=ids))
        if not demandes:
            raise TransitionRefusee(_("Cochez au moins une demande instruite."))
        points = services.odj_ajouter(seance=seance, user=request.user, demandes=demandes)
        return _("%(n)s demande(s) inscrite(s) à l'ordre du jour.") % {"n": len(points)}

    return _agir(request, pk, action)


@agent_requis(Role.COMITE)
@require_POST
def odj_retirer(request: HttpRequest, pk: int, point_pk: int) -> HttpResponse:
    def action(seance):
        point = get_object_or_404(PointOrdreDuJour, pk=point_pk, seance=seance)
        services.odj_retirer(seance=seance, user=request.user, point=point)
        return _("Demande retirée de l'ordre du jour.")

    return _agir(request, pk, action)


@agent_requis(Role.COMITE)
@require_POST
def decider(request: HttpRequest, pk: int, ligne_pk: int) -> HttpResponse:
    def action(seance):
        ligne = get_object_or_404(LigneFinancement, pk=ligne_pk, demande__points_odj__seance=seance)
        brut = (request.POST.get("montant") or "").replace("\u00a0", "").replace(" ", "").replace("€", "")
        try:
            montant = Decimal(brut.replace(",", ".")) if brut else None
        except InvalidOperation:
            raise TransitionRefusee(_("Le montant n'est pas un nombre.")) from None
        services.decider_ligne(
            seance=seance,
            user=request.user,
            ligne=ligne,
            decision=request.POST.get("decision", ""),
            montant=montant,
            version=entier_positif(request.POST.get("version")),
        )
        return _("Décision enregistrée.")

    return _agir(request, pk, action)


@agent_requis(Role.COMITE)
@require_POST
def decider_en_bloc(request: HttpRequest, pk: int) -> HttpResponse:
    def action(seance):
        n = services.decider_en_bloc(seance=seance, user=request.user)
        return _("%(n)s ligne(s) décidée(s) selon les propositions.") % {"n": n}

    return _agir(request, pk, action)


@agent_requis(Role.COMITE)
@require_POST
def cloturer(request: HttpRequest, pk: int) -> HttpResponse:
    def action(seance):
        services.seance_cloturer(seance=seance, user=request.user)
        return _("Séance close : procès-verbal et courriers de décision émis.")

    return _agir(request, pk, action)


@agent_requis(*ROLES_LECTURE)
def pv_telecharger(request: HttpRequest, pk: int) -> FileResponse:
    seance = selectors.seance_visible(request.user, pk)
    document = document_courant(seance, "proces_verbal")
    if document is None:
        raise Http404("Pas encore de procès-verbal : la séance n'est pas close.")
    return _telechargement(document)


@login_required
def lettre_telecharger(request: HttpRequest, pk: int) -> FileResponse:
    """A decision letter, for the members of its porteur only."""
    return _telechargement(selectors.lettre_pour_membre(request.user, pk).document)
