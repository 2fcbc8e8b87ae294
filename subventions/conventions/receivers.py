"""Blocked documents are issued as soon as the porteur's data is fixed (IBAN, représentant légal, their account)."""

from __future__ import annotations

from django.db import transaction
from django.db.models.signals import post_save
from django.dispatch import receiver
from django_fsm.signals import post_transition

from associations.models import Membre, Porteur


def _debloquer_apres_commit(porteur_id: int) -> None:
    from subventions.conventions.models import ActeAttribution, StatutActe
    from subventions.conventions.tasks import actes_debloquer_porteur

    if ActeAttribution.objects.filter(porteur_id=porteur_id, statut=StatutActe.BLOQUEE).exists():
        transaction.on_commit(lambda: actes_debloquer_porteur.delay(porteur_id))


@receiver(post_save, sender=Porteur, dispatch_uid="conventions_porteur_modifie")
def porteur_modifie(sender, instance: Porteur, created: bool, raw: bool = False, **kwargs) -> None:
    if not created and not raw:
        _debloquer_apres_commit(instance.pk)


@receiver(post_save, sender=Membre, dispatch_uid="conventions_membre_ajoute")
def membre_ajoute(sender, instance: Membre, raw: bool = False, **kwargs) -> None:
    if not raw:
        _debloquer_apres_commit(instance.porteur_id)


@receiver(post_transition, dispatch_uid="conventions_apres_seance")
def seance_cloturee(sender, instance, name: str, **kwargs) -> None:
    """A séance was closed: its granted lines go into their porteur's convention, arrêté or avenant, off the request,
    once the close is committed (a task with late acknowledgement, retried, idempotent)."""
    from subventions.comites.models import Seance
    from subventions.conventions.tasks import conventions_batir_campagne

    if sender is Seance and name == "cloturer":
        campagne_id = instance.campagne_id
        transaction.on_commit(lambda: conventions_batir_campagne.delay(campagne_id))
