"""Who may act on an acte attributif: pure checks used by django-fsm's `permission=` and by the views."""

from __future__ import annotations

from associations.enums import RoleMembre
from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre

# Staff who prepare and send the documents of their financeurs.
ROLES_GESTION = (Role.INSTRUCTEUR, Role.COMITE, Role.ADMINISTRATEUR)
# Staff who may read the documents of their financeurs.
ROLES_LECTURE = (*ROLES_GESTION, Role.SIGNATAIRE, Role.FINANCE)


def _couvre(user, roles, financeur_id: int) -> bool:
    p = perimetre(user, roles)
    return not p.vide and (p.tous_financeurs or financeur_id in p.financeur_ids)


def peut_gerer(acte, user) -> bool:
    return _couvre(user, ROLES_GESTION, acte.financeur_id)


def peut_lire(acte, user) -> bool:
    return _couvre(user, ROLES_LECTURE, acte.financeur_id)


def est_signataire(acte, user) -> bool:
    """A signataire (ordonnateur) of the acte's financeur."""
    return _couvre(user, (Role.SIGNATAIRE,), acte.financeur_id)


def est_representant_legal(acte, user) -> bool:
    """The porteur's représentant légal (a gestionnaire or a lecteur may not sign)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return acte.porteur.membres.filter(user=user, role=RoleMembre.REPRESENTANT_LEGAL).exists()
