"""The one helper that scopes any queryset to what a staff user may see, by role, financeur and territoire."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import IntegerField, Q, QuerySet, Value

from subventions.comptes.enums import Role


@dataclass(frozen=True)
class Perimetre:
    """What a user may see for a set of roles: all financeurs, or these; all territoires, or these."""

    tous_financeurs: bool
    financeur_ids: frozenset[int]
    tous_territoires: bool
    territoire_ids: frozenset[int]

    @property
    def vide(self) -> bool:
        return not self.tous_financeurs and not self.financeur_ids


AUCUN = Perimetre(False, frozenset(), False, frozenset())
TOUT = Perimetre(True, frozenset(), True, frozenset())


@dataclass(frozen=True)
class HabilitationActive:
    """One active habilitation of a user, as plain values (what every perimeter is computed from)."""

    role: str
    tous_financeurs: bool
    financeur_ids: frozenset[int]
    territoire_ids: frozenset[int]


# Attributes of the user object that cache what this module reads (one request, or one service call).
_CACHES = ("_habilitations", "_perimetres", "roles")


def habilitations_actives(user) -> tuple[HabilitationActive, ...]:
    """The user's active habilitations with their financeurs and territoires, in one query, cached on the user object.

    Every perimeter (whatever the set of roles) and `User.roles` are derived from them, so a staff page pays this
    query once however many role sets it asks about. The cache lives as long as the user object (one request for
    `request.user`); `oublier_habilitations` drops it after a change."""
    cache = user.__dict__.get("_habilitations")
    if cache is not None:
        return cache
    if not getattr(user, "is_authenticated", False) or not user.is_active or not user.pk:
        resultat: tuple[HabilitationActive, ...] = ()
    else:
        from subventions.comptes.models import Habilitation

        base = Habilitation.objects.filter(user_id=user.pk, actif=True).order_by()
        rien = Value(None, output_field=IntegerField())
        # One row per (habilitation, financeur) and one per (habilitation, territoire): a UNION ALL rather than one
        # join of both relations, whose rows would multiply (financeurs × territoires).
        lignes = base.values_list("pk", "role", "tous_financeurs", "financeurs__id", rien).union(
            base.values_list("pk", "role", "tous_financeurs", rien, "territoires__id"), all=True
        )
        habs: dict[int, tuple[str, bool, set[int], set[int]]] = {}
        for pk, role, tous, financeur_id, territoire_id in lignes:
            _role, _tous, fids, tids = habs.setdefault(pk, (role, tous, set(), set()))
            if financeur_id is not None:
                fids.add(financeur_id)
            if territoire_id is not None:
                tids.add(territoire_id)
        resultat = tuple(
            HabilitationActive(role, tous, frozenset(fids), frozenset(tids))
            for _pk, (role, tous, fids, tids) in sorted(habs.items())
        )
    user.__dict__["_habilitations"] = resultat
    # User.roles (a cached_property) would ask the database again for the same rows.
    user.__dict__.setdefault("roles", frozenset(h.role for h in resultat))
    return resultat


def oublier_habilitations(user) -> None:
    """Drop what is cached on the user object (after its habilitations changed within the same request or test)."""
    for nom in _CACHES:
        user.__dict__.pop(nom, None)


def perimetre(user, roles: Iterable[str]) -> Perimetre:
    """Union of the user's active habilitations among `roles`. Computed in Python from `habilitations_actives`
    (no query once they are loaded) and cached on the user object per set of roles."""
    roles = frozenset(roles)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return AUCUN
    cache = user.__dict__.setdefault("_perimetres", {})
    if roles in cache:
        return cache[roles]
    if user.is_superuser:
        result = TOUT
    else:
        tous_f = False
        tous_t = False
        fids: set[int] = set()
        tids: set[int] = set()
        habs = [h for h in habilitations_actives(user) if h.role in roles]
        for hab in habs:
            tous_f |= hab.tous_financeurs
            fids |= hab.financeur_ids
            # Territoire restrictions only narrow instructeurs; other roles see every territoire.
            if hab.role != Role.INSTRUCTEUR or not hab.territoire_ids:
                tous_t = True
            tids |= hab.territoire_ids
        result = Perimetre(tous_f, frozenset(fids), tous_t, frozenset(tids)) if habs else AUCUN
    cache[roles] = result
    return result


def scope_queryset(
    qs: QuerySet,
    user,
    *,
    roles: Iterable[str],
    financeur_field: str | None = "financeur",
    territoire_field: str | None = None,
) -> QuerySet:
    """Restrict `qs` to rows whose financeur (and territoire, if given) fall in the user's perimeter.

    `financeur_field` / `territoire_field` are ORM paths from the queryset's model to the Financeur / Territoire
    (e.g. "lignes__financeur"). Paths across many-valued relations may duplicate rows, so the result is distinct.
    """
    p = perimetre(user, roles)
    if p.vide:
        return qs.none()
    condition = Q()
    if financeur_field and not p.tous_financeurs:
        condition &= Q(**{f"{financeur_field}__in": p.financeur_ids})
    if territoire_field and not p.tous_territoires:
        condition &= Q(**{f"{territoire_field}__in": p.territoire_ids})
    if not condition:
        return qs
    filtered = qs.filter(condition)
    many = any(_chemin_multiple(qs.model, path) for path in (financeur_field, territoire_field) if path)
    return filtered.distinct() if many else filtered


def _chemin_multiple(model, path: str) -> bool:
    """True when the ORM path crosses a many-valued relation (so a filter on it may repeat rows)."""
    for name in path.split("__"):
        if name == "pk":
            return False
        field = model._meta.get_field(name)
        if field.many_to_many or field.one_to_many:
            return True
        if not field.is_relation:
            return False
        model = field.related_model
    return False


def a_role(user, *roles: str) -> bool:
    """True when the user holds one of `roles` (a superuser holds them all). Loads the habilitations once: the
    perimeters asked next in the same request cost no query."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return user.is_superuser or any(h.role in roles for h in habilitations_actives(user))
