"""Pages of the associations' portal: my structures, porteur identification, members, invitations, vault."""

from __future__ import annotations

import copy

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Q
from django.http import Http404, HttpResponseNotAllowed
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from associations import selectors, services, uploads
from associations.enums import RoleMembre, StatutAdhesion
from associations.forms import (
    AdhesionForm,
    DecisionAdhesionForm,
    InvitationForm,
    PieceForm,
    PorteurForm,
    RoleForm,
)
from associations.models import Invitation, Membre
from associations.selectors import ROLES_EDITION, ROLES_GESTION_MEMBRES, membre_de
from workflows.telechargements import fichier_prive

RL = RoleMembre.REPRESENTANT_LEGAL


def _refuser_si_pas_post(request):
    # Called after the view has loaded its scope: a foreign user gets 404 whatever the method.
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    return None


def _messages_erreur(request, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _contexte_porteur(membre: Membre, onglet: str, **extra) -> dict:
    return {
        "membre": membre,
        "porteur": membre.porteur,
        "onglet": onglet,
        "peut_modifier": membre.role in ROLES_EDITION,
        "gere_membres": membre.role in ROLES_GESTION_MEMBRES,
        **extra,
    }


# --- My structures and registration ---------------------------------------------------------------------------------


@login_required
def mes_structures(request):
    user = request.user
    adhesions = list(
        selectors.adhesions_de(user).annotate(
            adhesions_a_traiter=Count(
                "porteur__demandes_adhesion", filter=Q(porteur__demandes_adhesion__statut=StatutAdhesion.EN_ATTENTE)
            )
        )
    )
    return render(
        request,
        "associations/mes_structures.html",
        {
            "adhesions": adhesions,
            "demandes": selectors.demandes_adhesion_de(user),
            "invitations": selectors.invitations_pour(user),
        },
    )


@login_required
def porteur_creer(request):
    form = PorteurForm(request.POST or None, initial=_initial_creation(request.user))
    adhesion_form = None
    if request.method == "POST":
        if form.is_valid():
            try:
                porteur = services.porteur_creer(user=request.user, champs=form.cleaned_data)
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request,
                    _("La structure « %(nom)s » est inscrite ; vous en êtes représentant légal.")
                    % {"nom": porteur.nom},
                )
                return redirect("associations:porteur_detail", pk=porteur.pk)
        existant = form.porteur_existant
        if existant is not None and existant.membres.filter(user=request.user).exists():
            # A double click on « Inscrire »: the first request registered it, this one shows it.
            messages.info(request, _("« %(nom)s » est déjà inscrite et vous en êtes membre.") % {"nom": existant.nom})
            return redirect("associations:porteur_detail", pk=existant.pk)
        if existant is not None:
            # Other ids than the registration form's: both forms are on the same page.
            adhesion_form = AdhesionForm(initial={"siret": existant.siret}, auto_id="adhesion_%s")
    return render(
        request,
        "associations/porteur_form.html",
        {"form": form, "creation": True, "porteur_existant": form.porteur_existant, "adhesion_form": adhesion_form},
    )


def _initial_creation(user) -> dict:
    return {
        "representant_prenom": user.first_name,
        "representant_nom": user.last_name,
        "representant_email": user.email,
        "representant_telephone": getattr(user, "telephone", ""),
    }


@login_required
def adhesion_demander(request):
    """Ask to join the porteur registered with the SIRET typed in the creation form (POST only)."""
    refus = _refuser_si_pas_post(request)
    if refus:
        return refus
    form = AdhesionForm(request.POST)
    if not form.is_valid():
        for erreurs in form.errors.values():
            for erreur in erreurs:
                messages.error(request, erreur)
        return redirect("associations:porteur_creer")
    try:
        adhesion, cree = services.adhesion_demander(
            porteur=form.porteur, user=request.user, message=form.cleaned_data["message"]
        )
    except ValidationError as exc:
        _messages_erreur(request, exc)
        return redirect("associations:mes_structures")
    if cree:
        messages.success(
            request,
            _(
                "Votre demande pour rejoindre « %(nom)s » est envoyée à ses représentants légaux. "
                "Vous recevrez un courriel dès qu'ils auront répondu."
            )
            % {"nom": adhesion.porteur.nom},
        )
    else:
        messages.info(
            request,
            _("Vous avez déjà demandé à rejoindre « %(nom)s » : votre demande est en attente.")
            % {"nom": adhesion.porteur.nom},
        )
    return redirect("associations:mes_structures")


# --- Porteur --------------------------------------------------------------------------------------------------------


@login_required
def porteur_detail(request, pk: int):
    membre = membre_de(request.user, pk)
    return render(request, "associations/porteur_detail.html", _contexte_porteur(membre, "identification"))


@login_required
def porteur_modifier(request, pk: int):
    membre = membre_de(request.user, pk, ROLES_EDITION)
    # A copy: the form writes the typed values on its instance, the page header keeps the saved ones.
    form = PorteurForm(request.POST or None, instance=copy.copy(membre.porteur))
    if request.method == "POST" and form.is_valid():
        try:
            services.porteur_modifier(porteur=membre.porteur, user=request.user, champs=form.cleaned_data)
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            messages.success(request, _("Les informations de la structure sont enregistrées."))
            return redirect("associations:porteur_detail", pk=pk)
    return render(
        request,
        "associations/porteur_form.html",
        _contexte_porteur(membre, "identification", form=form, creation=False),
    )


# --- Members --------------------------------------------------------------------------------------------------------


@login_required
def membres(request, pk: int):
    membre = membre_de(request.user, pk)
    porteur = membre.porteur
    gere = membre.role in ROLES_GESTION_MEMBRES
    liste = list(selectors.membres_du_porteur(porteur))
    return render(
        request,
        "associations/membres.html",
        _contexte_porteur(
            membre,
            "membres",
            membres=liste,
            invitations=selectors.invitations_en_attente(porteur) if gere else [],
            adhesions=selectors.adhesions_en_attente(porteur) if gere else [],
            roles=RoleMembre.choices,
            representants=sum(1 for m in liste if m.role == RL),
        ),
    )


@login_required
def inviter(request, pk: int):
    membre = membre_de(request.user, pk, ROLES_GESTION_MEMBRES)
    form = InvitationForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            invitation, cree = services.invitation_creer(
                porteur=membre.porteur,
                user=request.user,
                email=form.cleaned_data["email"],
                role=form.cleaned_data["role"],
            )
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            if cree:
                messages.success(
                    request,
                    _("Invitation envoyée à %(email)s ; elle est valable 14 jours.") % {"email": invitation.email},
                )
            else:
                messages.info(
                    request,
                    _("Une invitation est déjà en attente pour %(email)s : elle n'a pas été renvoyée.")
                    % {"email": invitation.email},
                )
            return redirect("associations:membres", pk=pk)
    return render(request, "associations/inviter.html", _contexte_porteur(membre, "membres", form=form))


@login_required
def invitation_annuler(request, pk: int, invitation_pk: int):
    membre = membre_de(request.user, pk, ROLES_GESTION_MEMBRES)
    invitation = selectors.invitation_du_porteur(membre.porteur, invitation_pk)
    refus = _refuser_si_pas_post(request)
    if refus:
        return refus
    try:
        services.invitation_annuler(invitation=invitation, user=request.user)
    except ValidationError as exc:
        _messages_erreur(request, exc)
    else:
        messages.success(request, _("L'invitation adressée à %(email)s est annulée.") % {"email": invitation.email})
    return redirect("associations:membres", pk=pk)


@login_required
def invitation_accepter(request, jeton: str):
    """The invitee's landing page: shows the invitation (GET) and accepts it (POST)."""
    invitation = Invitation.objects.select_related("porteur", "invite_par").filter(jeton=jeton).first()
    if invitation is None:
        raise Http404(_("Invitation introuvable."))
    if invitation.email.lower() not in selectors.emails_verifies(request.user):
        return render(
            request, "associations/invitation_autre_adresse.html", {"email_compte": request.user.email}, status=403
        )
    if invitation.acceptee_par_id == request.user.pk and invitation.porteur.membres.filter(user=request.user).exists():
        messages.info(request, _("Vous avez déjà accepté cette invitation."))
        return redirect("associations:porteur_detail", pk=invitation.porteur_id)
    if not invitation.utilisable:
        return render(request, "associations/invitation_perimee.html", {"invitation": invitation}, status=410)
    if request.method == "POST":
        try:
            membre = services.invitation_accepter(invitation=invitation, user=request.user)
        except ValidationError as exc:
            _messages_erreur(request, exc)
            return redirect("associations:mes_structures")
        messages.success(
            request,
            _("Bienvenue dans « %(nom)s » : vous en êtes désormais %(role)s.")
            % {"nom": invitation.porteur.nom, "role": membre.get_role_display().lower()},
        )
        return redirect("associations:porteur_detail", pk=invitation.porteur_id)
    return render(request, "associations/invitation.html", {"invitation": invitation})


@login_required
def adhesion_decider(request, pk: int, adhesion_pk: int):
    membre = membre_de(request.user, pk, ROLES_GESTION_MEMBRES)
    adhesion = selectors.adhesion_du_porteur(membre.porteur, adhesion_pk)
    refus = _refuser_si_pas_post(request)
    if refus:
        return refus
    form = DecisionAdhesionForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez d'accepter ou de refuser, et le rôle de la personne si vous acceptez."))
        return redirect("associations:membres", pk=pk)
    accepter = form.cleaned_data["decision"] == "accepter"
    try:
        services.adhesion_decider(
            adhesion=adhesion, user=request.user, accepter=accepter, role=form.cleaned_data.get("role") or ""
        )
    except ValidationError as exc:
        _messages_erreur(request, exc)
    else:
        if accepter:
            messages.success(request, _("%(personne)s a rejoint la structure.") % {"personne": adhesion.user})
        else:
            messages.success(request, _("La demande de %(personne)s est refusée.") % {"personne": adhesion.user})
    return redirect("associations:membres", pk=pk)


@login_required
def membre_modifier(request, pk: int, membre_pk: int):
    membre = membre_de(request.user, pk, ROLES_GESTION_MEMBRES)
    cible = selectors.membre_du_porteur(membre.porteur, membre_pk)
    refus = _refuser_si_pas_post(request)
    if refus:
        return refus
    form = RoleForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choisissez un rôle."))
        return redirect("associations:membres", pk=pk)
    try:
        cible = services.membre_modifier(membre=cible, user=request.user, role=form.cleaned_data["role"])
    except ValidationError as exc:
        _messages_erreur(request, exc)
        return redirect("associations:membres", pk=pk)
    messages.success(
        request,
        _("%(personne)s est désormais %(role)s.") % {"personne": cible.user, "role": cible.get_role_display().lower()},
    )
    if cible.user_id == request.user.pk and cible.role not in ROLES_GESTION_MEMBRES:
        return redirect("associations:porteur_detail", pk=pk)
    return redirect("associations:membres", pk=pk)


@login_required
def membre_retirer(request, pk: int, membre_pk: int):
    membre = membre_de(request.user, pk, ROLES_GESTION_MEMBRES)
    cible = selectors.membre_du_porteur(membre.porteur, membre_pk)
    refus = _refuser_si_pas_post(request)
    if refus:
        return refus
    try:
        services.membre_retirer(membre=cible, user=request.user)
    except ValidationError as exc:
        _messages_erreur(request, exc)
        return redirect("associations:membres", pk=pk)
    messages.success(request, _("%(personne)s ne fait plus partie de la structure.") % {"personne": cible.user})
    if cible.user_id == request.user.pk:
        return redirect("associations:mes_structures")
    return redirect("associations:membres", pk=pk)


# --- Vault ----------------------------------------------------------------------------------------------------------


@login_required
def coffre(request, pk: int):
    membre = membre_de(request.user, pk)
    porteur = membre.porteur
    peut_deposer = membre.role in ROLES_EDITION
    form = None
    if request.method == "POST":
        if not peut_deposer:
            raise PermissionDenied(
                _("Seuls les représentants légaux et les gestionnaires peuvent déposer des pièces.")
            )
        form = PieceForm(request.POST, request.FILES)
        if form.is_valid():
            donnees = form.cleaned_data
            try:
                piece = services.piece_deposer(
                    porteur=porteur,
                    user=request.user,
                    type_piece=donnees["type_piece"],
                    fichier=donnees["fichier"],
                    valide_du=donnees["valide_du"],
                    valide_au=donnees["valide_au"],
                    libelle=donnees["libelle"],
                )
            except ValidationError as exc:
                form.add_error(None, exc)
            else:
                messages.success(
                    request, _("« %(nom)s » est déposé dans le coffre-fort.") % {"nom": piece.nom_original}
                )
                # Coming from a request's pièces step (?next=), the user goes back to it with the new pièce.
                retour = request.GET.get("next", "")
                if retour and url_has_allowed_host_and_scheme(
                    retour, allowed_hosts={request.get_host()}, require_https=request.is_secure()
                ):
                    return redirect(retour)
                return redirect("associations:coffre", pk=pk)
    elif peut_deposer:
        form = PieceForm(initial={"type_piece": request.GET.get("type")} if request.GET.get("type") else None)
    archivees = request.GET.get("archives") == "1"
    return render(
        request,
        "associations/coffre.html",
        _contexte_porteur(
            membre,
            "coffre",
            form=form,
            pieces=selectors.pieces_du_porteur(porteur, archivees=archivees),
            archivees=archivees,
        ),
    )


@login_required
def piece_telecharger(request, pk: int, piece_pk: int):
    """The only way to a pièce's bytes: a member of its porteur, as an attachment, never sniffed."""
    membre = membre_de(request.user, pk)
    piece = selectors.piece_du_porteur(membre.porteur, piece_pk)
    return fichier_prive(
        piece.fichier, nom=uploads.nom_telechargement(piece.nom_original, piece.type_mime), type_mime=piece.type_mime
    )


@login_required
def piece_archiver(request, pk: int, piece_pk: int):
    membre = membre_de(request.user, pk, ROLES_EDITION)
    piece = selectors.piece_du_porteur(membre.porteur, piece_pk)
    refus = _refuser_si_pas_post(request)
    if refus:
        return refus
    services.piece_archiver(piece=piece, user=request.user)
    messages.success(request, _("« %(nom)s » est archivée.") % {"nom": piece.nom_original})
    return redirect(reverse("associations:coffre", kwargs={"pk": pk}))
