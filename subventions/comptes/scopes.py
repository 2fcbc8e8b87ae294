"""The one helper that scopes any queryset to what a staff user may see, by role, financeur and territoire."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Q, QuerySet

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


def perimetre(user, roles: Iterable[str]) -> Perimetre:
    """Union of the user's active habilitations among `roles`. Cached on the user object per request."""
    roles = frozenset(roles)
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return AUCUN
    cache = user.__dict__.setdefault("_perimetres", {})
    if roles in cache:
        return cache[roles]
    if user.is_superuser:
        result = Perimetre(True, frozenset(), True, frozenset())
    else:
        tous_f = False
        tous_t = False
        fids: set[int] = set()
        tids: set[int] = set()
        habs = user.habilitations.filter(actif=True, role__in=roles).prefetch_related("financeurs", "territoires")
        for hab in habs:
            tous_f |= hab.tous_financeurs
            fids.update(f.pk for f in hab.financeurs.all())
            territoires = [t.pk for t in hab.territoires.all()]
            # Territoire restrictions only narrow instructeurs; other roles see every territoire.
            if hab.role != Role.INSTRUCTEUR or not territoires:
                tous_t = True
            tids.update(territoires)
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
    return (
        getattr(user, "is_authenticated", False)
        and user.is_active
        and (user.is_superuser or bool(user.roles & set(roles)))
    )
