"""The one transition service every state change goes through: lock, permission, transition, save, log, notify."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import models, transaction
from django.utils.translation import gettext as _
from django_fsm import ConcurrentTransition, TransitionNotAllowed, can_proceed, has_transition_perm

from workflows.models import TransitionLog


class TransitionRefusee(Exception):
    """A transition that may not be taken now, by this user; the message is French and shown as is."""


def _nom_champ_etat(obj: models.Model) -> str:
    return getattr(obj, "champ_etat", "statut")


def transition_appliquer(
    *,
    obj: models.Model,
    transition: str,
    acteur,
    commentaire: str = "",
    extra: dict[str, Any] | None = None,
    avant: Callable[[models.Model], None] | None = None,
    apres: Callable[[models.Model], None] | None = None,
    verifier_permission: bool = True,
    version: int | None = None,
    depuis: models.QuerySet | None = None,
) -> models.Model:
    """Take `transition` on `obj` for `acteur`, atomically. Returns the locked, saved instance.

    `version`, for models that carry one, is the version the user's page showed: an older one is refused, so two people
    acting on the same object at once never overwrite each other silently.
    `avant(obj)` runs on the locked row before the transition (checks that need fresh data), `apres(obj)` after the
    save, in the same transaction (writes that belong with the change). Side effects outside the database must be
    scheduled by the caller with `transaction.on_commit`.
    `depuis`, a queryset of the model with `select_related` / `prefetch_related`, loads the locked row with what
    `avant` and `apres` read (only the object's own row is locked).
    """
    champ = _nom_champ_etat(obj)
    with transaction.atomic():
        if depuis is None:
            verrouille = type(obj)._default_manager.select_for_update().get(pk=obj.pk)
        else:
            verrouille = depuis.select_for_update(of=("self",)).get(pk=obj.pk)
        if getattr(obj, champ) != getattr(verrouille, champ) or (
            version is not None and getattr(verrouille, "version", version) != version
        ):
            raise TransitionRefusee(_("Le dossier a changé entre-temps : rechargez la page et recommencez."))
        methode = getattr(verrouille, transition)
        if not can_proceed(methode):
            raise TransitionRefusee(_("Cette action n'est pas possible dans l'état actuel du dossier."))
        if verifier_permission and acteur is not None and not has_transition_perm(methode, acteur):
            raise TransitionRefusee(_("Vous n'avez pas le droit d'effectuer cette action sur ce dossier."))
        if avant is not None:
            avant(verrouille)
        source = getattr(verrouille, champ)
        if hasattr(verrouille, "version"):
            verrouille.version += 1
        try:
            methode()
            verrouille.save()
        except (TransitionNotAllowed, ConcurrentTransition) as exc:
            raise TransitionRefusee(_("Le dossier a changé entre-temps : rechargez la page et recommencez.")) from exc
        TransitionLog.objects.create(
            content_type=ContentType.objects.get_for_model(verrouille),
            object_id=verrouille.pk,
            transition=transition,
            source=source,
            cible=getattr(verrouille, champ),
            acteur=acteur,
            commentaire=commentaire,
            extra=extra or {},
        )
        if apres is not None:
            apres(verrouille)
    return verrouille


def transitions_possibles(obj: models.Model, user) -> list[str]:
    """Names of the transitions `user` may take on `obj` now (templates show only these buttons)."""
    champ = _nom_champ_etat(obj)
    getter = getattr(obj, f"get_available_user_{champ}_transitions")
    return [t.name for t in getter(user)]


def historique(obj: models.Model):
    return (
        TransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_id=obj.pk)
        .select_related("acteur")
        .order_by("date", "pk")
    )


def historique_libelle(obj: models.Model) -> list[TransitionLog]:
    """The history with `libelle_cible`: the French label of each target state, from the model's own choices."""
    libelles = dict(obj._meta.get_field(_nom_champ_etat(obj)).choices or ())
    journal = list(historique(obj))
    for log in journal:
        log.libelle_cible = libelles.get(log.cible, log.cible)
    return journal
