"""Receivers of the conventions' signals: an acte that becomes executory gets its échéancier, advance due.

The échéancier is written inside the signature's transaction (the signal is sent there, see conventions.signals)
rather than by a task after commit: an executory acte never exists without its schedule, and a failure rolls the
signature back instead of leaving an acte that nobody will pay."""

from __future__ import annotations

from django.dispatch import receiver

from subventions.conventions.signals import acte_executoire
from subventions.paiements.services import echeancier_creer


@receiver(acte_executoire, dispatch_uid="paiements_echeancier_a_la_signature")
def echeancier_a_la_signature(sender, acte, **kwargs) -> None:
    echeancier_creer(acte=acte, acteur=kwargs.get("acteur"))
