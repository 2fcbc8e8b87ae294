"""Receivers of earlier stages' events; each only schedules a bilans task after commit.

- conventions' `acte_executoire`: the acte's comptes-rendus are opened (one per action, a_deposer).
- paiements' transition `payer` (django-fsm `post_transition`): an acte whose comptes-rendus were all validated while
  its advance was still on its way is settled now.
The morning task `rappeler_comptes_rendus` does both again for anything a broker outage left behind."""

from __future__ import annotations

import logging

from django.db import transaction
from django.dispatch import receiver
from django_fsm.signals import post_transition

from subventions.bilans.enums import StatutCompteRendu
from subventions.bilans.models import CompteRendu
from subventions.conventions.signals import acte_executoire
from subventions.paiements.models import Paiement

logger = logging.getLogger(__name__)


def _mettre_en_file(task, *args) -> None:
    # A broker that is down must not fail the signature or the payment that already committed: the morning task
    # catches up.
    try:
        task.delay(*args)
    except Exception:  # noqa: BLE001 - any broker error; the morning task repairs
        logger.warning("Tâche %s(%s) non mise en file : file de tâches indisponible.", task.name, args, exc_info=True)


@receiver(acte_executoire, dispatch_uid="bilans_comptes_rendus_a_la_signature")
def comptes_rendus_a_la_signature(sender, acte, **kwargs) -> None:
    from subventions.bilans.tasks import ouvrir_comptes_rendus

    acte_id = acte.pk
    transaction.on_commit(lambda: _mettre_en_file(ouvrir_comptes_rendus, acte_id))


@receiver(post_transition, sender=Paiement, dispatch_uid="bilans_solde_apres_paiement")
def solde_apres_paiement(sender, instance, name, **kwargs) -> None:
    if name != "payer":
        return
    acte_id = instance.echeancier.acte_id
    if not CompteRendu.objects.filter(acte_id=acte_id, statut=StatutCompteRendu.VALIDE).exists():
        return
    from subventions.bilans.tasks import etablir_solde

    transaction.on_commit(lambda: _mettre_en_file(etablir_solde, acte_id))
