"""Audit and personal data: what changed (before → after), a member's own data, closing an account, purging drafts."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import transaction
from django.db.models import ProtectedError
from django.utils import timezone

from associations.models import DemandeAdhesion, Invitation, Membre, Piece
from subventions.conventions.models import Signature
from subventions.demandes.enums import StatutDemande
from subventions.demandes.models import Demande, Message, NoteInterne
from workflows.models import Document, TransitionLog

# Drafts never filed are deleted after this many months without a change (README, « Données personnelles »).
RETENTION_BROUILLONS_MOIS = 24


_NON_FOURNI = object()


def changements(record, precedent=_NON_FOURNI) -> list[tuple[str, str, str]]:
    """(field label, before, after) for each tracked field a history row changed against the row before it.

    `precedent` may be given (the admin list loads them all in one query); otherwise it is read.
    """
    if precedent is _NON_FOURNI:
        precedent = record.prev_record
    if precedent is None:
        return []
    delta = record.diff_against(precedent)
    lignes = []
    for change in delta.changes:
        champ = record.instance_type._meta.get_field(change.field)
        lignes.append((str(champ.verbose_name), _texte(change.old), _texte(change.new)))
    return lignes


def _texte(valeur: Any) -> str:
    return "—" if valeur in (None, "") else str(valeur)


# --- Personal data -------------------------------------------------------------------------------------------------


def _date(valeur) -> str | None:
    return valeur.isoformat() if valeur else None


def donnees_personnelles(*, user) -> dict[str, Any]:
    """Everything the product holds about `user` as a person, as JSON-ready data (no password hash, no MFA secret).

    The porteurs' records (demandes, budgets, conventions) are the structure's, not the person's: they are named,
    not copied; what the person wrote or did in them (messages, notes, transitions, signatures, pièces) is included.
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    return {
        "format": "subventions-donnees-personnelles/1",
        "exporte_le": timezone.now().isoformat(),
        "compte": {
            "id": user.pk,
            "email": user.email,
            "prenom": user.first_name,
            "nom": user.last_name,
            "telephone": user.telephone,
            "actif": user.is_active,
            "inscrit_le": _date(user.date_joined),
            "derniere_connexion": _date(user.last_login),
            "mot_de_passe_defini": user.has_usable_password(),
        },
        "adresses_electroniques": [
            {"email": e.email, "principale": e.primary, "verifiee": e.verified}
            for e in EmailAddress.objects.filter(user=user).order_by("pk")
        ],
        # Only which factors exist and when they were used: the secrets and recovery codes stay out.
        "double_authentification": [
            {"type": a.type, "cree_le": _date(a.created_at), "derniere_utilisation": _date(a.last_used_at)}
            for a in Authenticator.objects.filter(user=user).order_by("pk")
        ],
        "habilitations": [
            {
                "role": h.role,
                "tous_financeurs": h.tous_financeurs,
                "financeurs": sorted(f.nom for f in h.financeurs.all()),
                "territoires": sorted(t.nom for t in h.territoires.all()),
                "active": h.actif,
                "cree_le": _date(h.cree_le),
            }
            for h in user.habilitations.prefetch_related("financeurs", "territoires").order_by("pk")
        ],
        "adhesions": [
            {"structure": m.porteur.nom, "siret": m.porteur.siret, "role": m.role, "depuis_le": _date(m.cree_le)}
            for m in Membre.objects.filter(user=user).select_related("porteur").order_by("pk")
        ],
        "demandes_d_adhesion": [
            {"structure": d.porteur.nom, "statut": d.statut, "message": d.message, "le": _date(d.cree_le)}
            for d in DemandeAdhesion.objects.filter(user=user).select_related("porteur").order_by("pk")
        ],
        "invitations_envoyees": [
            {"structure": i.porteur.nom, "email": i.email, "role": i.role, "le": _date(i.cree_le)}
            for i in Invitation.objects.filter(invite_par=user).select_related("porteur").order_by("pk")
        ],
        "messages_ecrits": [
            {"dossier": m.demande.numero or f"brouillon {m.demande_id}", "texte": m.texte, "le": _date(m.cree_le)}
            for m in Message.objects.filter(auteur=user).select_related("demande").order_by("pk")
        ],
        "notes_internes_ecrites": [
            {"dossier": n.demande.numero or f"brouillon {n.demande_id}", "texte": n.texte, "le": _date(n.cree_le)}
            for n in NoteInterne.objects.filter(auteur=user).select_related("demande").order_by("pk")
        ],
        "demandes_creees_ou_deposees": [
            {"dossier": d.numero or f"brouillon {d.pk}", "intitule": d.intitule, "structure": d.porteur.nom}
            for d in (Demande.objects.filter(cree_par=user) | Demande.objects.filter(depose_par=user))
            .select_related("porteur")
            .distinct()
            .order_by("pk")
        ],
        "changements_d_etat": [
            {
                "objet": f"{t.content_type.model} {t.object_id}",
                "transition": t.transition,
                "de": t.source,
                "vers": t.cible,
                "le": _date(t.date),
                "commentaire": t.commentaire,
            }
            for t in TransitionLog.objects.filter(acteur=user).select_related("content_type").order_by("pk")
        ],
        "signatures": [
            {
                "document": s.acte.numero,
                "partie": s.partie,
                "nom": s.nom,
                "qualite": s.qualite,
                "mode": s.mode,
                "empreinte_sha256": s.sha256,
                "le": _date(s.signe_le),
                "adresse_ip": s.ip,
                "navigateur": s.user_agent,
            }
            for s in Signature.objects.filter(user=user).select_related("acte").order_by("pk")
        ],
        "pieces_deposees": [
            {
                "structure": p.porteur.nom,
                "type": p.type.libelle,
                "fichier": p.nom_original,
                "empreinte_sha256": p.sha256,
                "le": _date(p.depose_le),
            }
            for p in Piece.objects.filter(depose_par=user).select_related("porteur", "type").order_by("pk")
        ],
    }


class FermetureRefusee(Exception):
    """The account may not be closed here (the message is French and shown as is)."""


@transaction.atomic
def compte_fermer(*, user) -> None:
    """Close `user`'s account: anonymised, unable to log in, memberships ended; the porteurs' records stay.

    The row itself stays (signatures, transitions and notes point to it, RESTRICT/PROTECT: the records must still
    say that « a closed account » acted), with a name and an address that no longer identify anyone.
    """
    from allauth.account.models import EmailAddress
    from allauth.mfa.models import Authenticator

    user = get_user_model().objects.select_for_update().get(pk=user.pk)
    if user.habilitations.filter(actif=True).exists() or user.is_staff or user.is_superuser:
        raise FermetureRefusee(
            "Un compte d'agent se ferme par un administrateur, qui retire d'abord ses habilitations."
        )
    Membre.objects.filter(user=user).delete()
    DemandeAdhesion.objects.filter(user=user).delete()
    EmailAddress.objects.filter(user=user).delete()
    Authenticator.objects.filter(user=user).delete()
    user.email = f"compte-ferme-{user.pk}@invalid"
    user.first_name = "Compte"
    user.last_name = "fermé"
    user.telephone = ""
    user.is_active = False
    user.set_unusable_password()
    user.save()
    # Every open session of the person ends now, not at its expiry.
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator():
        if str(session.get_decoded().get("_auth_user_id")) == str(user.pk):
            session.delete()


# --- Retention of drafts -------------------------------------------------------------------------------------------


def retention_brouillons_mois() -> int:
    return int(getattr(settings, "SUBVENTIONS_RETENTION_BROUILLONS_MOIS", RETENTION_BROUILLONS_MOIS))


def brouillons_a_purger(*, mois: int | None = None, maintenant=None):
    """Drafts never filed and left untouched for more than `mois` months (30-day months: a conservative reading)."""
    mois = retention_brouillons_mois() if mois is None else mois
    limite = (maintenant or timezone.now()) - timedelta(days=30 * mois)
    return Demande.objects.filter(statut=StatutDemande.BROUILLON, modifie_le__lt=limite, depose_le__isnull=True)


def brouillons_purger(*, mois: int | None = None, dry_run: bool = False, maintenant=None) -> dict[str, Any]:
    """Delete the drafts past their retention period, each in its own transaction; a protected one is kept."""
    candidats = list(brouillons_a_purger(mois=mois, maintenant=maintenant).order_by("pk").values_list("pk", flat=True))
    supprimes, gardes = [], []
    if not dry_run:
        for pk in candidats:
            try:
                with transaction.atomic():
                    demande = brouillons_a_purger(mois=mois, maintenant=maintenant).select_for_update().get(pk=pk)
                    if Document.objects.filter(object_id=pk, content_type__model="demande").exists():
                        raise ProtectedError("document", set())
                    demande.delete()
                supprimes.append(pk)
            except (Demande.DoesNotExist, ProtectedError):
                gardes.append(pk)
    return {"candidats": candidats, "supprimes": supprimes, "gardes": gardes}
