"""Signals other apps listen to, so that the conventions do not depend on them.

`acte_executoire(sender=ActeAttribution, acte=…, acteur=…)`: sent inside the transaction that makes a convention
signed by both parties, an arrêté notified or an avenant executory; a receiver's writes commit or roll back with it.
The finance app builds the échéancier from it (first payment due)."""

from __future__ import annotations

from django.dispatch import Signal

acte_executoire = Signal()
