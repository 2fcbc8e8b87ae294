"""Finance pages: dashboard, listes de paiements (creation, detail, files, cancellation), one-by-one results, return
import, an acte's échéancier; and the porteur's view of its payments."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import IntegrityError
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from associations.selectors import ROLES_EDITION
from subventions.comptes.access import agent_requis
from subventions.paiements import selectors, services
from subventions.paiements.enums import DOCUMENTS_LISTE, FormatExport, NaturePaiement, StatutPaiement
from subventions.paiements.forms import (
    AnnulerListeForm,
    CreationListeForm,
    EngagementForm,
    FiltresListeForm,
    PayerForm,
    RejeterForm,
    RetourForm,
)
from subventions.paiements.models import ROLES_FINANCE, LigneListe, Paiement, motif_blocage
from workflows.documents import document_courant
from workflows.telechargements import fichier_prive
from workflows.transitions import TransitionRefusee

ERREURS_METIER = (services.PaiementRefuse, TransitionRefusee, ValidationError, IntegrityError)


def _message_erreur(request: HttpRequest, exc: Exception) -> None:
    if isinstance(exc, (services.PaiementRefuse, TransitionRefusee)):
        messages.error(request, str(exc))
    elif isinstance(exc, ValidationError):
        messages.error(request, " ".join(exc.messages))
    else:
        messages.error(request, _("Action impossible : le dossier a changé entre-temps. Rechargez la page."))


@agent_requis(*ROLES_FINANCE)
def tableau_de_bord(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "paiements/tableau_de_bord.html",
        {
            "lignes": selectors.tableau_de_bord(request.user),
            "bloques": selectors.paiements_bloques(request.user),
            "listes": list(selectors.listes_visibles(request.user)[:10]),
        },
    )


@agent_requis(*ROLES_FINANCE)
def listes(request: HttpRequest) -> HttpResponse:
    page = Paginator(selectors.listes_visibles(request.user), 50).get_page(request.GET.get("page"))
    return render(request, "paiements/listes.html", {"page": page})


def _filtres(request: HttpRequest, financeurs, campagnes) -> FiltresListeForm:
    """Bound to the query string; a user with a single financeur starts with it chosen."""
    data = request.GET.copy()
    if not data.get("financeur"):
        seuls = list(financeurs[:2])
        if len(seuls) != 1:
            return FiltresListeForm(financeurs=financeurs, campagnes=campagnes)
        data["financeur"] = str(seuls[0].pk)
    return FiltresListeForm(data, financeurs=financeurs, campagnes=campagnes)


@agent_requis(*ROLES_FINANCE)
def liste_creer(request: HttpRequest) -> HttpResponse:
    """GET: the filters and the due payments they select (blocked ones shown with their reason). POST: the liste of
    the ticked payments, once: the form's key makes a second submit return the same liste."""
    financeurs = selectors.financeurs_finance(request.user)
    campagnes = selectors.campagnes_finance(request.user)
    if request.method == "POST":
        form = CreationListeForm(request.POST, financeurs=financeurs, campagnes=campagnes)
        ids = {int(v) for v in request.POST.getlist("paiements") if v.isdigit()}
        if not form.is_valid():
            messages.error(request, _("La sélection n'est plus valide : recommencez."))
            return redirect("paiements:liste_creer")
        retour = f"{reverse('paiements:liste_creer')}?{urlencode(_criteres_get(form))}"
        if not ids:
            messages.error(request, _("Cochez au moins un paiement."))
            return redirect(retour)
        try:
            resultat = services.liste_creer(
                criteres=form.criteres(paiement_ids=ids), acteur=request.user, cle=form.cleaned_data["cle"]
            )
        except ERREURS_METIER as exc:
            _message_erreur(request, exc)
            return redirect(retour)
        if resultat.existante:
            messages.info(request, _("Cette liste a déjà été créée (formulaire envoyé deux fois)."))
        else:
            messages.success(
                request,
                _("Liste %(numero)s créée : %(n)s paiement(s).")
                % {"numero": resultat.liste.numero, "n": resultat.liste.nb_paiements},
            )
        if resultat.bloques:
            messages.warning(
                request,
                _("%(n)s paiement(s) bloqué(s) laissé(s) hors de la liste : %(refs)s.")
                % {"n": len(resultat.bloques), "refs": ", ".join(p.reference for p, _m in resultat.bloques)},
            )
        return redirect("paiements:liste", pk=resultat.liste.pk)

    filtres = _filtres(request, financeurs, campagnes)
    candidats, creation = None, None
    if filtres.is_bound and filtres.is_valid():
        candidats = selectors.candidats(request.user, filtres.criteres())
        creation = CreationListeForm(initial=filtres.cleaned_data, financeurs=financeurs, campagnes=campagnes)
    return render(
        request,
        "paiements/liste_creer.html",
        {
            "filtres": filtres,
            "candidats": candidats,
            "creation": creation,
            "criteres": filtres.cleaned_data if candidats is not None else {},
            "payables": [p for p in candidats or [] if not p.motif_blocage],
            "total": sum((p.montant for p in candidats or [] if not p.motif_blocage), services.ZERO),
            "sepa": candidats is not None and services.sepa_configure(filtres.cleaned_data["financeur"]),
        },
    )


def _criteres_get(form: FiltresListeForm) -> dict[str, str]:
    data = form.cleaned_data
    valeurs = {"financeur": data["financeur"].pk}
    if data.get("campagne"):
        valeurs["campagne"] = data["campagne"].pk
    if data.get("echeance_max"):
        valeurs["echeance_max"] = data["echeance_max"].isoformat()
    if data.get("porteur"):
        valeurs["porteur"] = data["porteur"]
    return valeurs


@agent_requis(*ROLES_FINANCE)
def liste(request: HttpRequest, pk: int) -> HttpResponse:
    liste = selectors.liste_visible(request.user, pk)
    lignes = selectors.lignes_de_liste(liste)
    fichiers = []
    for format_ in FormatExport:
        nature, _ext, _mime = DOCUMENTS_LISTE[format_]
        fichiers.append((format_, document_courant(liste, nature)))
    return render(
        request,
        "paiements/liste.html",
        {
            "liste": liste,
            "lignes": lignes,
            "fichiers": fichiers,
            "total_paye": sum(
                (lg.montant for lg in lignes if lg.active and lg.paiement.statut == StatutPaiement.PAYE), services.ZERO
            ),
            "annulable": liste.est_active
            and not any(lg.active and lg.paiement.statut == StatutPaiement.PAYE for lg in lignes),
            "annuler_form": AnnulerListeForm(),
        },
    )


@agent_requis(*ROLES_FINANCE)
def liste_telecharger(request: HttpRequest, pk: int, format: str) -> FileResponse:  # noqa: A002 - the URL's word
    liste = selectors.liste_visible(request.user, pk)
    if format not in FormatExport.values:
        raise Http404(_("Format inconnu."))
    nature, _ext, mime = DOCUMENTS_LISTE[FormatExport(format)]
    document = document_courant(liste, nature)
    if document is None:
        raise Http404(_("Ce fichier n'existe pas pour cette liste."))
    return fichier_prive(document.fichier, nom=document.nom, type_mime=mime)


@agent_requis(*ROLES_FINANCE)
@require_POST
def liste_annuler(request: HttpRequest, pk: int) -> HttpResponse:
    liste = selectors.liste_visible(request.user, pk)
    form = AnnulerListeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez le motif de l'annulation."))
        return redirect("paiements:liste", pk=liste.pk)
    try:
        services.liste_annuler(liste=liste, acteur=request.user, motif=form.cleaned_data["motif"])
    except ERREURS_METIER as exc:
        _message_erreur(request, exc)
    else:
        messages.success(request, _("Liste annulée : ses paiements sont de nouveau à payer."))
    return redirect("paiements:liste", pk=liste.pk)


def _apres_action(paiement: Paiement) -> HttpResponse:
    """Back to the liste the payment is (or was last) in, or to its échéancier."""
    ligne = LigneListe.objects.filter(paiement=paiement).order_by("-active", "-pk").first()
    if ligne is not None:
        return redirect("paiements:liste", pk=ligne.liste_id)
    return redirect("paiements:echeancier", acte_pk=paiement.echeancier.acte_id)


def _agir(request: HttpRequest, pk: int, action) -> HttpResponse:
    paiement = selectors.paiement_visible(request.user, pk)
    try:
        message = action(paiement)
    except ERREURS_METIER as exc:
        _message_erreur(request, exc)
    else:
        messages.success(request, message)
    return _apres_action(paiement)


@agent_requis(*ROLES_FINANCE)
@require_POST
def paiement_payer(request: HttpRequest, pk: int) -> HttpResponse:
    def action(paiement):
        form = PayerForm(request.POST)
        if not form.is_valid():
            raise services.PaiementRefuse(_("Indiquez la référence du mandat ou du virement et une date valide."))
        services.paiement_payer(
            paiement=paiement,
            acteur=request.user,
            reference=form.cleaned_data["reference"],
            date=form.cleaned_data["date"],
            version=form.cleaned_data.get("version"),
        )
        return _("%(ref)s marqué payé.") % {"ref": paiement.reference}

    return _agir(request, pk, action)


@agent_requis(*ROLES_FINANCE)
@require_POST
def paiement_rejeter(request: HttpRequest, pk: int) -> HttpResponse:
    def action(paiement):
        form = RejeterForm(request.POST)
        if not form.is_valid():
            raise services.PaiementRefuse(_("Indiquez le motif du rejet."))
        services.paiement_rejeter(
            paiement=paiement,
            acteur=request.user,
            motif=form.cleaned_data["motif"],
            version=form.cleaned_data.get("version"),
        )
        return _("%(ref)s marqué rejeté.") % {"ref": paiement.reference}

    return _agir(request, pk, action)


def _version(request: HttpRequest) -> int | None:
    valeur = request.POST.get("version", "")
    return int(valeur) if valeur.isdigit() else None


@agent_requis(*ROLES_FINANCE)
@require_POST
def paiement_reprendre(request: HttpRequest, pk: int) -> HttpResponse:
    def action(paiement):
        services.paiement_reprendre(paiement=paiement, acteur=request.user, version=_version(request))
        return _("%(ref)s est de nouveau à payer : il ira dans une prochaine liste.") % {"ref": paiement.reference}

    return _agir(request, pk, action)


@agent_requis(*ROLES_FINANCE)
@require_POST
def paiement_rendre_exigible(request: HttpRequest, pk: int) -> HttpResponse:
    def action(paiement):
        services.paiement_rendre_exigible(paiement=paiement, acteur=request.user)
        return _("%(ref)s est à payer.") % {"ref": paiement.reference}

    paiement = selectors.paiement_visible(request.user, pk)
    try:
        messages.success(request, action(paiement))
    except ERREURS_METIER as exc:
        _message_erreur(request, exc)
    return redirect("paiements:echeancier", acte_pk=paiement.echeancier.acte_id)


@agent_requis(*ROLES_FINANCE)
def echeancier(request: HttpRequest, acte_pk: int) -> HttpResponse:
    """An acte's schedule: its payments, their state and liste, the blocking reason; the engagement juridique."""
    echeancier = selectors.echeancier_visible(request.user, acte_pk)
    form = EngagementForm(request.POST or None, initial={"engagement_juridique": echeancier.engagement_juridique})
    if request.method == "POST" and form.is_valid():
        try:
            services.echeancier_modifier_engagement(
                echeancier=echeancier,
                acteur=request.user,
                engagement_juridique=form.cleaned_data["engagement_juridique"],
            )
        except ERREURS_METIER as exc:
            _message_erreur(request, exc)
        else:
            messages.success(request, _("Engagement juridique enregistré."))
            return redirect("paiements:echeancier", acte_pk=acte_pk)
    paiements = list(echeancier.paiements.all())
    return render(
        request,
        "paiements/echeancier.html",
        {
            "echeancier": echeancier,
            "acte": echeancier.acte,
            "paiements": paiements,
            "total": sum((p.montant for p in paiements if p.statut != StatutPaiement.ANNULE), services.ZERO),
            "motif_blocage": motif_blocage(echeancier.acte.porteur),
            "form": form,
            "acompte": NaturePaiement.ACOMPTE,
        },
    )


@agent_requis(*ROLES_FINANCE)
def retour_importer(request: HttpRequest) -> HttpResponse:
    """A return file: every line checked, the file applied only if all match; the report either way."""
    form = RetourForm(request.POST or None, request.FILES or None)
    rapport = None
    if request.method == "POST" and form.is_valid():
        fichier = form.cleaned_data["fichier"]
        rapport = services.retour_importer(
            contenu=fichier.read(),
            nom_fichier=fichier.name,
            acteur=request.user,
            paiements=selectors.paiements_visibles(request.user),
        )
        if rapport.applique:
            messages.success(
                request,
                _("Retour appliqué : %(p)s payé(s), %(r)s rejeté(s), %(d)s déjà enregistré(s).")
                % {"p": rapport.nb("paye"), "r": rapport.nb("rejete"), "d": rapport.nb("deja")},
            )
            form = RetourForm()
    return render(request, "paiements/retour.html", {"form": form, "rapport": rapport})


@login_required
def porteur(request: HttpRequest, porteur_pk: int) -> HttpResponse:
    """The porteur's payments, for its members: what is planned, due, paid; what blocks a transfer and where to fix
    it."""
    membre = selectors.membre_du_porteur(request.user, porteur_pk)
    porteur = membre.porteur
    return render(
        request,
        "paiements/porteur.html",
        {
            "porteur": porteur,
            "paiements": selectors.paiements_du_porteur(porteur),
            "motif_blocage": motif_blocage(porteur),
            "peut_modifier": membre.role in ROLES_EDITION,
        },
    )
