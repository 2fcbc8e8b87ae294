"""Pages of the instructeurs: the queue, the staff page of a demande, recevabilité, avis, notes and messages.

Every view requires the instructeur role with MFA (`agent_requis`) and loads the demande through
`selectors_instruction.demande_pour_instructeur` (404 outside the user's financeurs and territoires). Writes go through
services; a refused transition becomes a French error message and changes nothing.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from associations import uploads
from subventions.comptes.access import agent_requis
from subventions.comptes.enums import Role
from subventions.comptes.models import User
from subventions.demandes import services
from subventions.demandes import services_instruction as services_instr
from subventions.demandes.enums import StatutDemande, StatutLigne
from subventions.demandes.etapes import demande_manques
from subventions.demandes.forms_instruction import (
    AvisForm,
    ComplementsForm,
    FiltreFileForm,
    IrrecevableForm,
    TexteForm,
)
from subventions.demandes.models import Demande, LigneFinancement
from subventions.demandes.permissions import est_instructeur_de_ligne
from subventions.demandes.selectors_instruction import (
    Filtres,
    choix_filtres,
    demande_pour_instructeur,
    file_instruction,
    instructeurs_possibles,
    montants_completer,
    piece_de_demande,
)
from subventions.demandes.views import _recapitulatif
from workflows.models import TransitionLog
from workflows.telechargements import fichier_prive
from workflows.transitions import TransitionRefusee, historique, transitions_possibles

PAR_PAGE = 50
instructeur_requis = agent_requis(Role.INSTRUCTEUR)


def _url_demande(demande: Demande, ancre: str = "") -> str:
    return reverse("instruction:demande", kwargs={"pk": demande.pk}) + (f"#{ancre}" if ancre else "")


def _erreurs(form) -> str:
    return " ".join(str(e) for erreurs in form.errors.values() for e in erreurs)


# --- The queue.


@instructeur_requis
@require_GET
def file(request: HttpRequest) -> HttpResponse:
    user = request.user
    form = FiltreFileForm(request.GET or None, choix=choix_filtres(user))
    filtres = form.filtres() if form.is_bound else Filtres()
    demandes, comptes = file_instruction(user, filtres)
    paginator = Paginator(demandes, PAR_PAGE)
    # The counts per status are those of the queue without its status filter: the list's size is one of them (or
    # their sum), so the paginator need not count again.
    paginator.count = comptes.get(filtres.statut, 0) if filtres.statut else sum(comptes.values())
    page = paginator.get_page(request.GET.get("page"))
    page.object_list = montants_completer(list(page.object_list))
    params = request.GET.copy()
    params.pop("page", None)
    sans_statut = params.copy()
    sans_statut.pop("statut", None)
    libelles = dict(StatutDemande.choices)
    return render(
        request,
        "instruction/file.html",
        {
            "form": form,
            "page": page,
            "demandes": page.object_list,
            "comptes": [(statut, libelles.get(statut, statut), n) for statut, n in sorted(comptes.items())],
            "total": sum(comptes.values()),
            "statut_actif": filtres.statut,
            "params": params.urlencode(),
            "params_sans_statut": sans_statut.urlencode(),
            "retour": request.get_full_path(),
        },
    )


@instructeur_requis
@require_POST
def assigner(request: HttpRequest, pk: int) -> HttpResponse:
    demande = demande_pour_instructeur(request.user, pk)
    choix = request.POST.get("instructeur", "")
    if choix == "moi":
        instructeur = request.user
    elif choix in ("", "aucun"):
        instructeur = None
    elif choix.isdigit():
        instructeur = User.objects.filter(pk=int(choix), is_active=True).first()
        if instructeur is None:
            raise Http404("Instructeur introuvable.")
    else:
        raise Http404("Instructeur introuvable.")
    try:
        services_instr.demande_assigner(demande=demande, user=request.user, instructeur=instructeur)
    except TransitionRefusee as exc:
        messages.error(request, str(exc))
    else:
        if instructeur is None:
            messages.success(request, _("Le dossier %(n)s n'est plus assigné.") % {"n": demande.numero})
        else:
            messages.success(
                request,
                _("Le dossier %(n)s est assigné à %(qui)s.")
                % {"n": demande.numero, "qui": instructeur.get_full_name() or instructeur.email},
            )
    retour = request.POST.get("retour", "")
    if retour.startswith(reverse("instruction:file")):
        return redirect(retour)
    return redirect(_url_demande(demande))


# --- The staff page of a demande.


def _journal(demande: Demande, lignes: list[LigneFinancement]) -> list[TransitionLog]:
    """The demande's transitions and its lines' (avis…), in order, with French labels."""
    libelles_d = dict(StatutDemande.choices)
    libelles_l = dict(StatutLigne.choices)
    journal = list(historique(demande))
    for log in journal:
        log.libelle_cible = libelles_d.get(log.cible, log.cible)
        log.financeur = None
    par_ligne = {ligne.pk: ligne for ligne in lignes}
    if par_ligne:
        from django.contrib.contenttypes.models import ContentType

        logs = TransitionLog.objects.filter(
            content_type=ContentType.objects.get_for_model(LigneFinancement), object_id__in=list(par_ligne)
        ).select_related("acteur")
        for log in logs:
            log.libelle_cible = libelles_l.get(log.cible, log.cible)
            log.financeur = par_ligne[log.object_id].financeur
            journal.append(log)
    return sorted(journal, key=lambda log: (log.date, log.pk))


def _lignes_avis(request: HttpRequest, demande: Demande, lignes, formulaires: dict | None = None) -> list[dict]:
    formulaires = formulaires or {}
    resultat = []
    for ligne in lignes:
        if not ligne.montant_demande:
            continue
        du_perimetre = est_instructeur_de_ligne(ligne, request.user)
        peut = du_perimetre and "donner_avis" in transitions_possibles(ligne, request.user)
        form = None
        if peut:
            form = formulaires.get(ligne.pk) or AvisForm(
                initial={
                    "avis": ligne.avis or None,
                    "montant_propose": ligne.montant_propose,
                    "motivation": ligne.motivation,
                    "version": ligne.version,
                },
                prefix=f"ligne-{ligne.pk}",
            )
        resultat.append(
            {
                "ligne": ligne,
                "plafond": services.plafond_financeur(ligne),
                "du_perimetre": du_perimetre,
                "form": form,
            }
        )
    return resultat


@instructeur_requis
@require_GET
def demande(request: HttpRequest, pk: int) -> HttpResponse:
    objet = demande_pour_instructeur(request.user, pk)
    return _afficher(request, objet)


def _afficher(request: HttpRequest, demande: Demande, **forms) -> HttpResponse:
    lignes = list(demande.lignes_financement.all())
    possibles = set(transitions_possibles(demande, request.user))
    recap = _recapitulatif(demande)
    attachees = {p.type_id: p for p in recap["pieces"]}
    pieces_requises = [
        {"type": t, "jointe": attachees.get(t.pk), "valide": t.pk in attachees and attachees[t.pk].piece.est_valide()}
        for t in demande.campagne.pieces_requises.order_by("ordre", "libelle")
    ]
    contexte = {
        "demande": demande,
        **recap,
        "manques": demande_manques(demande),
        "pieces_requises": pieces_requises,
        "possibles": possibles,
        "historique": _journal(demande, lignes),
        "notes": list(demande.notes_internes.select_related("auteur")),
        "fil": list(demande.fil_messages.select_related("auteur")),
        "lignes_avis": _lignes_avis(request, demande, lignes, forms.get("avis")),
        "form_complements": forms.get("complements") or ComplementsForm(),
        "form_irrecevable": forms.get("irrecevable") or IrrecevableForm(),
        "form_note": TexteForm(label=_("Nouvelle note interne"), prefix="note"),
        "form_message": TexteForm(label=_("Nouveau message au porteur"), prefix="message"),
        "instructeurs": instructeurs_possibles(demande),
    }
    return render(request, "instruction/demande.html", contexte)


@instructeur_requis
@require_GET
def piece(request: HttpRequest, pk: int, piece_pk: int) -> FileResponse:
    """A pièce attached to a demande in scope: as an attachment, never sniffed nor cached."""
    demande = demande_pour_instructeur(request.user, pk)
    jointe = piece_de_demande(demande, piece_pk)
    piece = jointe.piece
    return fichier_prive(
        piece.fichier, nom=uploads.nom_telechargement(piece.nom_original, piece.type_mime), type_mime=piece.type_mime
    )


# --- Recevabilité.


def _executer(request: HttpRequest, demande: Demande, action, succes: str, ancre: str) -> HttpResponse:
    try:
        action()
    except TransitionRefusee as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, succes)
    return redirect(_url_demande(demande, ancre))


@instructeur_requis
@require_POST
def complements(request: HttpRequest, pk: int) -> HttpResponse:
    demande = demande_pour_instructeur(request.user, pk)
    form = ComplementsForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Compléments non demandés : %(e)s") % {"e": _erreurs(form)})
        return redirect(_url_demande(demande, "recevabilite"))
    return _executer(
        request,
        demande,
        lambda: services.demande_demander_complements(
            demande=demande,
            user=request.user,
            message=form.cleaned_data["message"],
            echeance=form.cleaned_data["echeance"],
        ),
        _("Les compléments sont demandés au porteur."),
        "recevabilite",
    )


@instructeur_requis
@require_POST
def irrecevable(request: HttpRequest, pk: int) -> HttpResponse:
    demande = demande_pour_instructeur(request.user, pk)
    form = IrrecevableForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Le motif d'irrecevabilité est obligatoire : il est communiqué au porteur."))
        return redirect(_url_demande(demande, "recevabilite"))
    return _executer(
        request,
        demande,
        lambda: services.demande_declarer_irrecevable(
            demande=demande, user=request.user, motif=form.cleaned_data["motif"]
        ),
        _("La demande est déclarée irrecevable."),
        "recevabilite",
    )


@instructeur_requis
@require_POST
def recevable(request: HttpRequest, pk: int) -> HttpResponse:
    demande = demande_pour_instructeur(request.user, pk)
    return _executer(
        request,
        demande,
        lambda: services.demande_declarer_recevable(demande=demande, user=request.user),
        _("La demande est recevable : l'instruction commence."),
        "recevabilite",
    )


# --- Avis per financeur line.


@instructeur_requis
@require_POST
def avis(request: HttpRequest, pk: int, ligne_pk: int) -> HttpResponse:
    demande = demande_pour_instructeur(request.user, pk)
    ligne = next((ligne for ligne in demande.lignes_financement.all() if ligne.pk == ligne_pk), None)
    if ligne is None:
        raise Http404("Ligne introuvable.")
    form = AvisForm(request.POST, prefix=f"ligne-{ligne.pk}")
    if not form.is_valid():
        messages.error(request, _("Avis non enregistré : %(e)s") % {"e": _erreurs(form)})
        return _afficher(request, demande, avis={ligne.pk: form})
    return _executer(
        request,
        demande,
        lambda: services.ligne_donner_avis(
            ligne=ligne,
            user=request.user,
            avis=form.cleaned_data["avis"],
            montant_propose=form.cleaned_data["montant_propose"],
            motivation=form.cleaned_data["motivation"],
            version=form.cleaned_data["version"],
        ),
        _("L'avis de %(f)s est enregistré.") % {"f": ligne.financeur.nom},
        "avis",
    )


# --- Internal notes and the message thread.


@instructeur_requis
@require_POST
def note(request: HttpRequest, pk: int) -> HttpResponse:
    demande = demande_pour_instructeur(request.user, pk)
    form = TexteForm(request.POST, prefix="note")
    texte = form.cleaned_data["texte"] if form.is_valid() else ""
    return _executer(
        request,
        demande,
        lambda: services_instr.note_interne_ajouter(demande=demande, user=request.user, texte=texte),
        _("La note interne est enregistrée."),
        "notes",
    )


@instructeur_requis
@require_POST
def message(request: HttpRequest, pk: int) -> HttpResponse:
    demande = demande_pour_instructeur(request.user, pk)
    form = TexteForm(request.POST, prefix="message")
    texte = form.cleaned_data["texte"] if form.is_valid() else ""
    return _executer(
        request,
        demande,
        lambda: services_instr.message_instruction_envoyer(demande=demande, user=request.user, texte=texte),
        _("Le message est envoyé au porteur."),
        "messages",
    )
