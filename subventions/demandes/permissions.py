"""Who may take which transition on a demande or a financeur line: pure checks used by django-fsm's `permission=`."""

from __future__ import annotations

from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre


def _territoires_de(demande) -> set[int]:
    ids = {t for t in demande.qpvs.values_list("territoires", flat=True) if t}
    if demande.territoire_id:
        ids.add(demande.territoire_id)
    return ids


def _dans_le_perimetre(user, roles, financeur_ids: set[int], territoire_ids: set[int] | None) -> bool:
    p = perimetre(user, roles)
    if p.vide:
        return False
    if not p.tous_financeurs and not (p.financeur_ids & financeur_ids):
        return False
    if territoire_ids is None or p.tous_territoires:
        return True
    return bool(p.territoire_ids & territoire_ids)


def financeurs_sollicites(demande) -> set[int]:
    return {
        ligne.financeur_id
        for ligne in demande.lignes_financement.all()
        if ligne.montant_demande and ligne.montant_demande > 0
    }


def est_instructeur_de(demande, user) -> bool:
    """An instructeur of one of the financeurs the demande asks, and of its territoire."""
    return _dans_le_perimetre(user, [Role.INSTRUCTEUR], financeurs_sollicites(demande), _territoires_de(demande))


def est_instructeur_de_ligne(ligne, user) -> bool:
    """An instructeur of this line's financeur and territoire: the Ville never gives the État's avis."""
    return _dans_le_perimetre(user, [Role.INSTRUCTEUR], {ligne.financeur_id}, _territoires_de(ligne.demande))


def est_comite_de(demande, user) -> bool:
    """A comité secretary of one of the financeurs the demande asks."""
    return _dans_le_perimetre(user, [Role.COMITE], financeurs_sollicites(demande), None)


def est_comite_de_ligne(ligne, user) -> bool:
    """A comité secretary of this line's financeur."""
    return _dans_le_perimetre(user, [Role.COMITE], {ligne.financeur_id}, None)


def systeme_seul(instance, user) -> bool:
    """A consequence of another change, taken by the system (verifier_permission=False), never offered to a user."""
    return False
