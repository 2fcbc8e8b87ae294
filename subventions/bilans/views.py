"""Bilans pages: the porteur's comptes-rendus (list, form, pièces, PDF), the instructeur's list and page of one
(gaps highlighted, validate or ask for corrections), and the reversements to issue for finance staff."""

from __future__ import annotations

from collections import Counter

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from associations import uploads
from associations.selectors import ROLES_EDITION, membre_de
from subventions.bilans import calculs, selectors, services
from subventions.bilans.enums import Situation, StatutCompteRendu
from subventions.bilans.forms import CompteRenduForm, CorrectionsForm, PieceForm, ValidationForm
from subventions.bilans.models import ROLES_INSTRUCTION, CompteRendu
from subventions.comptes.access import agent_requis
from subventions.conventions.models import STATUTS_EXECUTOIRES
from subventions.paiements.enums import StatutReversement
from subventions.paiements.models import ROLES_FINANCE
from subventions.parametres import entier_positif
from subventions.templatetags.subventions_tags import formater_montant
from workflows.telechargements import fichier_prive
from workflows.transitions import TransitionRefusee, historique_libelle, transitions_possibles

PAR_PAGE = 50
ERREURS = (services.CompteRenduRefuse, TransitionRefusee)


def _annoter(lignes, tolerance) -> None:
    """Mark the lines whose gap exceeds the financeur's tolerance, either way (highlighted on the pages)."""
    for ligne in lignes:
        pct = ligne.ecart_pourcent
        ligne.hors_tolerance = pct is not None and abs(pct) > tolerance


def _pdf(document) -> HttpResponse:
    return fichier_prive(document.fichier, nom=document.nom, type_mime="application/pdf")


def _contexte_commun(compte_rendu: CompteRendu) -> dict:
    lignes = selectors.lignes_de(compte_rendu)
    chiffres = calculs.bilan(compte_rendu, lignes)
    _annoter(lignes, chiffres.tolerance)
    return {
        "cr": compte_rendu,
        "acte": compte_rendu.acte,
        "demande": compte_rendu.demande,
        "lignes": lignes,
        "sections": [
            (_("Charges"), [lg for lg in lignes if lg.sens == "charge"]),
            (_("Produits"), [lg for lg in lignes if lg.sens == "produit"]),
        ],
        "chiffres": chiffres,
        "indicateurs": selectors.indicateurs_de(compte_rendu),
        "pieces": selectors.pieces_de(compte_rendu),
        "documents": selectors.documents_de(compte_rendu),
        "autres": selectors.autres_de_l_acte(compte_rendu),
        "decompte": selectors.decompte_de(compte_rendu.acte_id),
        "executoire": compte_rendu.acte.statut in STATUTS_EXECUTOIRES,
    }


# --- Porteur -------------------------------------------------------------------------------------------------------


@login_required
def porteur_liste(request: HttpRequest, porteur_pk: int) -> HttpResponse:
    membre = membre_de(request.user, porteur_pk)
    comptes_rendus = selectors.comptes_rendus_du_porteur(porteur_pk)
    nombres = Counter(cr.situation for cr in comptes_rendus)
    return render(
        request,
        "bilans/porteur_liste.html",
        {
            "porteur": membre.porteur,
            "membre": membre,
            "comptes_rendus": comptes_rendus,
            "situations": [(v, libelle, nombres[v]) for v, libelle in Situation.choices],
        },
    )


@login_required
def porteur_compte_rendu(request: HttpRequest, porteur_pk: int, pk: int) -> HttpResponse:
    """The compte-rendu of one action: the form for a représentant légal or a gestionnaire while it is to file (save
    a draft, or save and deposit), what is filed otherwise."""
    membre = membre_de(request.user, porteur_pk)
    cr = selectors.compte_rendu_du_porteur(porteur_pk, pk)
    editeur = membre.role in ROLES_EDITION
    contexte = _contexte_commun(cr)
    peut_modifier = editeur and cr.modifiable and contexte["executoire"]
    url = reverse("bilans:porteur_compte_rendu", kwargs={"porteur_pk": porteur_pk, "pk": cr.pk})
    erreurs_depot: list[str] = []
    form = None
    if request.method == "POST":
        if not editeur:
            raise PermissionDenied(_("Votre rôle dans cette structure ne permet pas de remplir le compte-rendu."))
        if not peut_modifier:
            messages.error(request, _("Ce compte-rendu n'est plus modifiable."))
            return redirect(url)
        form = CompteRenduForm(
            request.POST, compte_rendu=cr, lignes=contexte["lignes"], indicateurs=contexte["indicateurs"]
        )
        if form.is_valid():
            deposer = request.POST.get("action") == "deposer"
            try:
                cr = services.compte_rendu_enregistrer(
                    compte_rendu=cr, user=request.user, saisie=form.saisie(), version=form.cleaned_data["version"]
                )
                if deposer:
                    services.compte_rendu_deposer(compte_rendu=cr, user=request.user, version=cr.version)
            except ValidationError as exc:
                # Saved, not deposited: the page comes back with what is missing at the top.
                erreurs_depot = exc.messages
            except ERREURS as exc:
                messages.error(request, str(exc))
                return redirect(url)
            else:
                if deposer:
                    messages.success(
                        request,
                        _("Compte-rendu déposé : le service instructeur de %(f)s va le vérifier.")
                        % {"f": cr.acte.financeur.nom},
                    )
                else:
                    messages.success(request, _("Compte-rendu enregistré (non déposé)."))
                return redirect(url)
            cr = selectors.compte_rendu_du_porteur(porteur_pk, pk)
            contexte = _contexte_commun(cr)
            form = None
    if peut_modifier and form is None:
        form = CompteRenduForm(compte_rendu=cr, lignes=contexte["lignes"], indicateurs=contexte["indicateurs"])
    return render(
        request,
        "bilans/porteur_compte_rendu.html",
        {
            **contexte,
            "porteur": membre.porteur,
            "membre": membre,
            "form": form,
            "form_sections": [(_("Charges"), form.rangs_charges()), (_("Produits"), form.rangs_produits())]
            if form is not None
            else [],
            "peut_modifier": peut_modifier,
            "piece_form": PieceForm() if peut_modifier else None,
            "accept": uploads.ACCEPT,
            "erreurs_depot": erreurs_depot,
            "manques": services.manques(cr) if peut_modifier and not erreurs_depot else [],
        },
    )


@login_required
@require_POST
def porteur_piece_ajouter(request: HttpRequest, porteur_pk: int, pk: int) -> HttpResponse:
    membre_de(request.user, porteur_pk, ROLES_EDITION)
    cr = selectors.compte_rendu_du_porteur(porteur_pk, pk)
    retour = reverse("bilans:porteur_compte_rendu", kwargs={"porteur_pk": porteur_pk, "pk": cr.pk}) + "#pieces"
    form = PieceForm(request.POST, request.FILES)
    if not form.is_valid():
        for erreurs in form.errors.values():
            for erreur in erreurs:
                messages.error(request, erreur)
        return redirect(retour)
    try:
        services.piece_ajouter(
            compte_rendu=cr,
            user=request.user,
            type_piece=form.cleaned_data["type"],
            fichier=form.cleaned_data["fichier"],
            libelle=form.cleaned_data["libelle"],
        )
    except ValidationError as exc:
        for erreur in exc.messages:
            messages.error(request, erreur)
    except ERREURS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Pièce ajoutée au compte-rendu (et au coffre-fort de la structure)."))
    return redirect(retour)


@login_required
@require_POST
def porteur_piece_retirer(request: HttpRequest, porteur_pk: int, pk: int, piece_pk: int) -> HttpResponse:
    membre_de(request.user, porteur_pk, ROLES_EDITION)
    cr = selectors.compte_rendu_du_porteur(porteur_pk, pk)
    selectors.piece_de(cr, piece_pk)
    try:
        services.piece_retirer(compte_rendu=cr, user=request.user, piece_id=piece_pk)
    except ERREURS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Pièce retirée du compte-rendu (elle reste dans le coffre-fort)."))
    return redirect(reverse("bilans:porteur_compte_rendu", kwargs={"porteur_pk": porteur_pk, "pk": cr.pk}) + "#pieces")


@login_required
def porteur_document(request: HttpRequest, porteur_pk: int, pk: int, document_pk: int) -> HttpResponse:
    membre_de(request.user, porteur_pk)
    cr = selectors.compte_rendu_du_porteur(porteur_pk, pk)
    return _pdf(selectors.document_de(cr, document_pk))


# --- Instructeurs ----------------------------------------------------------------------------------------------------


@agent_requis(*ROLES_INSTRUCTION)
def liste(request: HttpRequest) -> HttpResponse:
    """Comptes-rendus of the user's financeurs; deposited ones (to check) unless another state is asked."""
    statut = request.GET.get("statut", StatutCompteRendu.DEPOSE)
    filtres = {
        "statut": statut if statut in StatutCompteRendu.values else None,
        "financeur": entier_positif(request.GET.get("financeur")),
        "exercice": entier_positif(request.GET.get("exercice")),
        "recherche": (request.GET.get("q") or "").strip()[:100],
    }
    qs, comptes = selectors.comptes_rendus_filtres(request.user, **filtres)
    page = Paginator(qs, PAR_PAGE).get_page(request.GET.get("page"))
    requete = request.GET.copy()
    requete.pop("page", None)
    sans_statut = requete.copy()
    sans_statut.pop("statut", None)
    return render(
        request,
        "bilans/liste.html",
        {
            "page": page,
            "filtres": filtres,
            "statuts": [(v, libelle, comptes.get(v, 0)) for v, libelle in StatutCompteRendu.choices],
            "total": sum(comptes.values()),
            "financeurs": list(selectors.financeurs_instruits(request.user)),
            "requete": requete.urlencode(),
            "requete_sans_statut": sans_statut.urlencode(),
        },
    )


@agent_requis(*ROLES_INSTRUCTION)
def compte_rendu(request: HttpRequest, pk: int) -> HttpResponse:
    cr = selectors.compte_rendu_visible(request.user, pk)
    possibles = set(transitions_possibles(cr, request.user))
    evenements = historique_libelle(cr)
    return render(
        request,
        "bilans/compte_rendu.html",
        {
            **_contexte_commun(cr),
            "historique": evenements,
            "peut_valider": "valider" in possibles,
            "peut_corriger": "demander_corrections" in possibles,
            "corrections_form": CorrectionsForm(initial={"version": cr.version}),
            "validation_form": ValidationForm(initial={"version": cr.version}),
        },
    )


@agent_requis(*ROLES_INSTRUCTION)
@require_POST
def valider(request: HttpRequest, pk: int) -> HttpResponse:
    cr = selectors.compte_rendu_visible(request.user, pk)
    form = ValidationForm(request.POST)
    version = form.cleaned_data.get("version") if form.is_valid() else None
    try:
        resultat = services.compte_rendu_valider(compte_rendu=cr, acteur=request.user, version=version)
    except ERREURS as exc:
        messages.error(request, str(exc))
        return redirect("bilans:compte_rendu", pk=cr.pk)
    valide = resultat.compte_rendu
    messages.success(
        request,
        _("Compte-rendu validé : %(retenu)s retenus sur %(accorde)s accordés.")
        % {"retenu": formater_montant(valide.montant_retenu), "accorde": formater_montant(valide.montant_accorde)},
    )
    decompte = resultat.decompte
    if decompte is not None:
        if decompte.reversement is not None:
            messages.warning(
                request,
                _("Acte soldé : %(montant)s versés en trop, un reversement est à émettre (titre de recette).")
                % {"montant": formater_montant(decompte.reversement.montant)},
            )
        elif decompte.solde is not None:
            messages.info(
                request,
                _("Le solde de l'acte, %(montant)s, est à payer.")
                % {"montant": formater_montant(decompte.solde.montant)},
            )
        else:
            messages.info(request, _("Acte soldé : rien de plus à verser."))
    elif resultat.blocage:
        messages.warning(
            request,
            _("Le solde de l'acte sera établi automatiquement plus tard : %(raison)s") % {"raison": resultat.blocage},
        )
    elif resultat.en_attente:
        messages.info(
            request,
            _("Le solde de l'acte attend encore %(n)s compte(s)-rendu(s) : %(dossiers)s.")
            % {"n": len(resultat.en_attente), "dossiers": ", ".join(c.demande.numero for c in resultat.en_attente)},
        )
    return redirect("bilans:compte_rendu", pk=cr.pk)


@agent_requis(*ROLES_INSTRUCTION)
@require_POST
def corrections(request: HttpRequest, pk: int) -> HttpResponse:
    cr = selectors.compte_rendu_visible(request.user, pk)
    form = CorrectionsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Indiquez ce que la structure doit corriger."))
        return redirect("bilans:compte_rendu", pk=cr.pk)
    try:
        services.compte_rendu_demander_corrections(
            compte_rendu=cr,
            acteur=request.user,
            commentaire=form.cleaned_data["commentaire"],
            version=form.cleaned_data.get("version"),
        )
    except ERREURS as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Corrections demandées : la structure en est avertie par courriel."))
    return redirect("bilans:compte_rendu", pk=cr.pk)


@agent_requis(*ROLES_INSTRUCTION)
def document(request: HttpRequest, pk: int, document_pk: int) -> HttpResponse:
    cr = selectors.compte_rendu_visible(request.user, pk)
    return _pdf(selectors.document_de(cr, document_pk))


@agent_requis(*ROLES_INSTRUCTION)
def piece(request: HttpRequest, pk: int, piece_pk: int) -> HttpResponse:
    cr = selectors.compte_rendu_visible(request.user, pk)
    p = selectors.piece_de(cr, piece_pk)
    return fichier_prive(p.fichier, nom=uploads.nom_telechargement(p.nom_original, p.type_mime), type_mime=p.type_mime)


# --- Finance ---------------------------------------------------------------------------------------------------------


@agent_requis(*ROLES_FINANCE)
def reversements(request: HttpRequest) -> HttpResponse:
    """Reversements recorded after the comptes-rendus, to list for a titre de recette (to issue by default)."""
    statut = request.GET.get("statut", StatutReversement.A_EMETTRE)
    statut = statut if statut in StatutReversement.values else None
    qs = selectors.reversements_visibles(request.user, statut=statut)
    page = Paginator(qs, PAR_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "bilans/reversements.html",
        {
            "page": page,
            "statut": statut or "",
            "statuts": StatutReversement.choices,
            "total": selectors.total_reversements(qs),
        },
    )
