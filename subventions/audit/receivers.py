"""Guards: stored documents (convention versions, signed copies, comptes rendus deposited…) and signatures are
written once and never changed or deleted, whoever asks (views, services, the admin, a shell).

The models belong to earlier apps (workflows, conventions), so the guard is a pair of receivers here. Saving an
existing row or deleting one raises; QuerySet.delete goes through pre_delete too (a receiver disables Django's fast
delete). QuerySet.update bypasses signals: the models' own manager (workflows.models.ArchiveQuerySet) refuses it.
"""

from __future__ import annotations

from django.db.models.signals import pre_delete, pre_save

from subventions.conventions.models import Signature
from workflows.models import ArchiveImmuable, Document

__all__ = ["ArchiveImmuable"]


def _refuser_modification(sender, instance, raw: bool = False, **kwargs) -> None:
    if raw or instance._state.adding:
        return
    raise ArchiveImmuable(f"{sender._meta.verbose_name} n° {instance.pk} : un document conservé ne se modifie pas.")


def _refuser_suppression(sender, instance, **kwargs) -> None:
    raise ArchiveImmuable(f"{sender._meta.verbose_name} n° {instance.pk} : un document conservé ne se supprime pas.")


for _modele in (Document, Signature):
    pre_save.connect(_refuser_modification, sender=_modele, dispatch_uid=f"audit-immuable-save-{_modele._meta.label}")
    pre_delete.connect(
        _refuser_suppression, sender=_modele, dispatch_uid=f"audit-immuable-delete-{_modele._meta.label}"
    )
