"""Writes of the associations' portal: porteurs, join requests, invitations, members and the document vault."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from associations import uploads
from associations.enums import RoleMembre, StatutAdhesion
from associations.models import DemandeAdhesion, Invitation, Membre, Piece, Porteur
from associations.selectors import ROLES_EDITION, emails_verifies
from subventions.referentiel.models import TypePiece
from subventions.referentiel.validators import normaliser_siret
from workflows.services import courriel_programmer

INVITATION_DUREE = timedelta(days=14)
RL = RoleMembre.REPRESENTANT_LEGAL

# What a member may set on a porteur: every editable field (the SIREN is derived from the SIRET).
CHAMPS_PORTEUR = tuple(
    f.name for f in Porteur._meta.concrete_fields if f.editable and not f.primary_key and f.name != "siren"
)


def message_siret_existant(porteur: Porteur) -> str:
    return _(
        "Une structure portant ce SIRET est déjà inscrite : « %(nom)s ». Une structure ne peut être inscrite qu'une "
        "fois : demandez à la rejoindre, un de ses représentants légaux validera votre demande."
    ) % {"nom": porteur.nom}


def _lien(nom: str, **kwargs: Any) -> str:
    return settings.SUBVENTIONS_SITE_URL.rstrip("/") + reverse(nom, kwargs=kwargs)


def _courriel(*, destinataires: list[str], sujet: str, modele: str, contexte: dict[str, Any]) -> None:
    if not destinataires:
        return
    texte = render_to_string(f"associations/email/{modele}.txt", contexte)
    courriel_programmer(destinataires=destinataires, sujet=sujet, texte=texte, modele=f"associations/{modele}")


def _membres_verrouilles(porteur_id: int) -> list[Membre]:
    """The porteur's members, locked: two changes of the same membership run one after the other.

    The porteur row is locked first so that every membership change queues behind the same lock.
    """
    list(Porteur.objects.select_for_update().filter(pk=porteur_id).values_list("pk", flat=True))
    # of=("self",): the users' rows are read, not locked (a person may belong to other porteurs).
    membres = Membre.objects.select_for_update(of=("self",)).filter(porteur_id=porteur_id)
    return list(membres.select_related("user").order_by("pk"))


def _exiger_role(membres: list[Membre], user, roles: tuple[str, ...], message: str) -> Membre:
    for membre in membres:
        if membre.user_id == user.pk and membre.role in roles:
            return membre
    raise PermissionDenied(message)


def _exiger_representant(membres: list[Membre], user) -> Membre:
    return _exiger_role(
        membres, user, (RL,), _("Seuls les représentants légaux de la structure peuvent gérer ses membres.")
    )


def _exiger_edition(porteur_id: int, user, message: str) -> None:
    if not Membre.objects.filter(porteur_id=porteur_id, user=user, role__in=ROLES_EDITION).exists():
        raise PermissionDenied(message)


# --- Porteurs ------------------------------------------------------------------------------------------------------


def _appliquer(porteur: Porteur, champs: dict[str, Any]) -> None:
    for nom, valeur in champs.items():
        if nom in CHAMPS_PORTEUR:
            setattr(porteur, nom, valeur)
    porteur.clean()  # normalises SIRET, IBAN, BIC and RNA before the validators see them


def _verifier_siret_libre(porteur: Porteur) -> None:
    # Only imported porteurs of past programmes may lack a SIRET; a structure that registers online gives one.
    if not normaliser_siret(porteur.siret):
        raise ValidationError(
            {"siret": ValidationError(_("Indiquez le SIRET de la structure (14 chiffres)."), code="required")}
        )
    existant = Porteur.objects.filter(siret=normaliser_siret(porteur.siret)).exclude(pk=porteur.pk).first()
    if existant is not None:
        raise ValidationError({"siret": ValidationError(message_siret_existant(existant), code="siret_existant")})


@transaction.atomic
def porteur_creer(*, user, champs: dict[str, Any]) -> Porteur:
    """Register a porteur; its creator becomes its représentant légal. Refuses a SIRET already registered."""
    porteur = Porteur()
    _appliquer(porteur, champs)
    _verifier_siret_libre(porteur)
    porteur.full_clean()
    try:
        with transaction.atomic():
            porteur.save()
    except IntegrityError as exc:
        # Registered meanwhile by someone else (the unique index decides).
        _verifier_siret_libre(porteur)
        raise ValidationError({"siret": _("Ce SIRET vient d'être inscrit par une autre personne.")}) from exc
    membre = Membre(porteur=porteur, user=user, role=RL)
    membre.full_clean()
    membre.save()
    return porteur


@transaction.atomic
def porteur_modifier(*, porteur: Porteur, user, champs: dict[str, Any]) -> Porteur:
    """Update the porteur's identification (représentant légal or gestionnaire)."""
    _exiger_edition(
        porteur.pk,
        user,
        _("Seuls les représentants légaux et les gestionnaires peuvent modifier les informations de la structure."),
    )
    porteur = Porteur.objects.select_for_update().get(pk=porteur.pk)
    _appliquer(porteur, champs)
    _verifier_siret_libre(porteur)
    porteur.full_clean()
    porteur.save()
    return porteur


# --- Join requests -------------------------------------------------------------------------------------------------


@transaction.atomic
def adhesion_demander(*, porteur: Porteur, user, message: str = "") -> tuple[DemandeAdhesion, bool]:
    """Ask to join a registered porteur. Asking twice returns the request already waiting (created=False)."""
    if Membre.objects.filter(porteur=porteur, user=user).exists():
        raise ValidationError(_("Vous êtes déjà membre de cette structure."), code="deja_membre")
    existante = DemandeAdhesion.objects.filter(porteur=porteur, user=user, statut=StatutAdhesion.EN_ATTENTE).first()
    if existante is not None:
        return existante, False
    adhesion = DemandeAdhesion(porteur=porteur, user=user, message=(message or "").strip())
    try:
        adhesion.full_clean()
        with transaction.atomic():
            adhesion.save()
    except (IntegrityError, ValidationError):
        # Two tabs, one request: the partial unique constraint keeps a single one waiting.
        existante = DemandeAdhesion.objects.filter(
            porteur=porteur, user=user, statut=StatutAdhesion.EN_ATTENTE
        ).first()
        if existante is None:
            raise
        return existante, False
    representants = list(
        porteur.membres.filter(role=RL, user__is_active=True).values_list("user__email", flat=True).order_by("pk")
    )
    _courriel(
        destinataires=representants,
        sujet=_("Demande pour rejoindre %(structure)s") % {"structure": porteur.nom},
        modele="adhesion_demandee",
        contexte={"adhesion": adhesion, "porteur": porteur, "lien": _lien("associations:membres", pk=porteur.pk)},
    )
    return adhesion, True


@transaction.atomic
def adhesion_decider(*, adhesion: DemandeAdhesion, user, accepter: bool, role: str = "") -> DemandeAdhesion:
    """A représentant légal approves (with a role) or refuses a join request; the requester gets an email."""
    membres = _membres_verrouilles(adhesion.porteur_id)
    _exiger_representant(membres, user)
    adhesion = DemandeAdhesion.objects.select_for_update().select_related("porteur", "user").get(pk=adhesion.pk)
    if adhesion.statut != StatutAdhesion.EN_ATTENTE:
        raise ValidationError(
            _("Cette demande a déjà été traitée (%(statut)s).") % {"statut": adhesion.get_statut_display().lower()},
            code="deja_decidee",
        )
    if accepter:
        if role not in RoleMembre.values:
            raise ValidationError({"role": _("Choisissez le rôle de la personne dans la structure.")})
        if not any(m.user_id == adhesion.user_id for m in membres):
            membre = Membre(porteur_id=adhesion.porteur_id, user_id=adhesion.user_id, role=role)
            membre.full_clean()
            membre.save()
        adhesion.statut = StatutAdhesion.ACCEPTEE
        adhesion.role_attribue = role
    else:
        adhesion.statut = StatutAdhesion.REFUSEE
    adhesion.decide_par = user
    adhesion.decide_le = timezone.now()
    adhesion.full_clean()
    adhesion.save()
    _courriel(
        destinataires=[adhesion.user.email],
        sujet=(_("Vous avez rejoint %(structure)s") if accepter else _("Votre demande pour rejoindre %(structure)s"))
        % {"structure": adhesion.porteur.nom},
        modele="adhesion_decidee",
        contexte={
            "adhesion": adhesion,
            "porteur": adhesion.porteur,
            "role": str(RoleMembre(role).label).lower() if accepter else "",
            "lien": _lien("associations:porteur_detail", pk=adhesion.porteur_id)
            if accepter
            else _lien("associations:mes_structures"),
        },
    )
    return adhesion


# --- Invitations ---------------------------------------------------------------------------------------------------


@transaction.atomic
def invitation_creer(*, porteur: Porteur, user, email: str, role: str) -> tuple[Invitation, bool]:
    """Invite someone by email with a role (valid 14 days). The same invitation twice returns the first one."""
    membres = _membres_verrouilles(porteur.pk)
    _exiger_representant(membres, user)
    email = (email or "").strip().lower()
    if role not in RoleMembre.values:
        raise ValidationError({"role": _("Choisissez un rôle.")})
    if any(m.user.email.lower() == email for m in membres):
        raise ValidationError({"email": _("Cette personne est déjà membre de la structure.")})
    maintenant = timezone.now()
    existante = porteur.invitations.filter(
        email=email, acceptee_le__isnull=True, annulee=False, expire_le__gt=maintenant
    ).first()
    if existante is not None:
        if existante.role == role:
            return existante, False
        raise ValidationError(
            {
                "email": _(
                    "Une invitation est déjà en attente pour cette adresse avec le rôle « %(role)s » : "
                    "annulez-la avant d'en envoyer une autre."
                )
                % {"role": existante.get_role_display()}
            }
        )
    invitation = Invitation(
        porteur=porteur, email=email, role=role, invite_par=user, expire_le=maintenant + INVITATION_DUREE
    )
    invitation.full_clean()
    invitation.save()
    _courriel(
        destinataires=[email],
        sujet=_("Invitation à rejoindre %(structure)s") % {"structure": porteur.nom},
        modele="invitation",
        contexte={
            "invitation": invitation,
            "porteur": porteur,
            "invite_par": user,
            "expire_le": date_format(timezone.localtime(invitation.expire_le), "DATETIME_FORMAT"),
            "lien": _lien("associations:invitation_accepter", jeton=invitation.jeton),
        },
    )
    return invitation, True


@transaction.atomic
def invitation_annuler(*, invitation: Invitation, user) -> Invitation:
    membres = _membres_verrouilles(invitation.porteur_id)
    _exiger_representant(membres, user)
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.acceptee_le is not None:
        raise ValidationError(_("Cette invitation a déjà été acceptée."), code="invitation_utilisee")
    if not invitation.annulee:
        invitation.annulee = True
        invitation.save(update_fields=["annulee"])
    return invitation


@transaction.atomic
def invitation_accepter(*, invitation: Invitation, user) -> Membre:
    """The invitee joins the porteur. Only a user whose verified email is the invited one may accept.

    Accepting twice returns the same membership.
    """
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    if invitation.email.lower() not in emails_verifies(user):
        raise PermissionDenied(
            _(
                "Cette invitation a été envoyée à une autre adresse électronique que celle(s) de votre compte. "
                "Connectez-vous avec l'adresse invitée, ou ajoutez-la à votre compte et confirmez-la."
            )
        )
    existant = Membre.objects.filter(porteur_id=invitation.porteur_id, user=user).first()
    if invitation.acceptee_le is not None:
        if invitation.acceptee_par_id == user.pk and existant is not None:
            return existant
        raise ValidationError(_("Cette invitation a déjà été utilisée."), code="invitation_utilisee")
    if invitation.annulee:
        raise ValidationError(_("Cette invitation a été annulée par la structure."), code="invitation_annulee")
    if invitation.expire_le <= timezone.now():
        raise ValidationError(
            _(
                "Cette invitation a expiré le %(date)s. Demandez à un représentant légal de la structure "
                "de vous en envoyer une nouvelle."
            )
            % {"date": date_format(timezone.localtime(invitation.expire_le), "DATETIME_FORMAT")},
            code="invitation_expiree",
        )
    membre = existant
    if membre is None:
        membre = Membre(porteur_id=invitation.porteur_id, user=user, role=invitation.role)
        membre.full_clean()
        membre.save()
    invitation.acceptee_le = timezone.now()
    invitation.acceptee_par = user
    invitation.save(update_fields=["acceptee_le", "acceptee_par"])
    # A join request of the same person is answered by the invitation.
    DemandeAdhesion.objects.filter(
        porteur_id=invitation.porteur_id, user=user, statut=StatutAdhesion.EN_ATTENTE
    ).update(
        statut=StatutAdhesion.ACCEPTEE,
        role_attribue=membre.role,
        decide_par=invitation.invite_par,
        decide_le=invitation.acceptee_le,
    )
    return membre


# --- Members -------------------------------------------------------------------------------------------------------


def _dernier_representant(membres: list[Membre], cible: Membre) -> bool:
    return cible.role == RL and sum(1 for m in membres if m.role == RL) == 1


@transaction.atomic
def membre_modifier(*, membre: Membre, user, role: str) -> Membre:
    """Change a member's role; the last représentant légal keeps the role."""
    membres = _membres_verrouilles(membre.porteur_id)
    _exiger_representant(membres, user)
    if role not in RoleMembre.values:
        raise ValidationError({"role": _("Choisissez un rôle.")})
    cible = next((m for m in membres if m.pk == membre.pk), None)
    if cible is None:
        raise ValidationError(_("Cette personne n'est plus membre de la structure."), code="plus_membre")
    if cible.role == role:
        return cible
    if _dernier_representant(membres, cible):
        raise ValidationError(
            _(
                "Une structure garde toujours au moins un représentant légal : nommez d'abord une autre personne "
                "représentant légal, puis changez ce rôle."
            ),
            code="dernier_representant",
        )
    cible.role = role
    cible.full_clean()
    cible.save(update_fields=["role"])
    return cible


@transaction.atomic
def membre_retirer(*, membre: Membre, user) -> None:
    """Remove a member from the porteur; the last représentant légal cannot be removed. Removing twice is harmless."""
    membres = _membres_verrouilles(membre.porteur_id)
    _exiger_representant(membres, user)
    cible = next((m for m in membres if m.pk == membre.pk), None)
    if cible is None:
        return
    if _dernier_representant(membres, cible):
        raise ValidationError(
            _(
                "Une structure garde toujours au moins un représentant légal : nommez d'abord une autre personne "
                "représentant légal, puis retirez celle-ci."
            ),
            code="dernier_representant",
        )
    cible.delete()


# --- Document vault ------------------------------------------------------------------------------------------------


def piece_deposer(
    *,
    porteur: Porteur,
    user,
    type_piece: TypePiece,
    fichier: File,
    valide_du: date | None = None,
    valide_au: date | None = None,
    libelle: str = "",
) -> Piece:
    """Put a document in the porteur's vault after checking its content (PDF, PNG or JPEG; size; integrity).

    Raises ValidationError keyed by field (`fichier`, `valide_au`) with French messages, PermissionDenied for a
    lecteur or a non-member. The same file deposited twice for the same type returns the pièce already there.
    The stored name is random (associations.models.chemin_piece); the uploaded name is only displayed.
    """
    _exiger_edition(
        porteur.pk, user, _("Seuls les représentants légaux et les gestionnaires peuvent déposer des pièces.")
    )
    # Parsing a 10 MB PDF happens before the transaction: no database lock is held meanwhile.
    try:
        verifie = uploads.fichier_verifier(fichier)
    except ValidationError as exc:
        raise ValidationError({"fichier": exc.error_list}) from exc
    piece = Piece(
        porteur=porteur,
        type=type_piece,
        libelle=(libelle or "").strip(),
        nom_original=verifie.nom,
        type_mime=verifie.type_mime,
        taille=verifie.taille,
        sha256=verifie.sha256,
        valide_du=valide_du,
        valide_au=valide_au,
        depose_par=user,
    )
    piece.full_clean(exclude=["fichier"])
    with transaction.atomic():
        # The porteur's row serialises two identical uploads (double click): the second finds the first.
        list(Porteur.objects.select_for_update().filter(pk=porteur.pk).values_list("pk", flat=True))
        existante = porteur.pieces.filter(type=type_piece, sha256=verifie.sha256, archivee=False).first()
        if existante is not None:
            return existante
        fichier.seek(0)
        piece.fichier.save("piece", fichier, save=False)
        try:
            piece.full_clean()
            piece.save()
        except Exception:
            piece.fichier.delete(save=False)
            raise
    return piece


@transaction.atomic
def piece_archiver(*, piece: Piece, user) -> Piece:
    """Take a pièce out of the vault's list (kept for the demandes that used it). Archiving twice is harmless."""
    _exiger_edition(
        piece.porteur_id, user, _("Seuls les représentants légaux et les gestionnaires peuvent archiver des pièces.")
    )
    piece = Piece.objects.select_for_update().get(pk=piece.pk)
    if not piece.archivee:
        piece.archivee = True
        piece.save(update_fields=["archivee"])
    return piece
