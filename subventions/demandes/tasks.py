"""Thin tasks of the demandes app."""

from __future__ import annotations

from celery import shared_task
from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string

from subventions.demandes.models import Demande
from workflows.models import Courriel
from workflows.services import courriel_programmer


@shared_task(bind=True, max_retries=5, acks_late=True)
def notifier_depot(self, demande_id: int) -> bool:
    """Email the deposit receipt notice to the porteur's members; runs twice without sending twice."""
    demande = Demande.objects.select_related("porteur", "campagne", "depose_par").get(pk=demande_id)
    modele = f"depot:{demande.pk}"
    with transaction.atomic():
        if Courriel.objects.filter(modele=modele).exists():
            return False
        destinataires = sorted(
            {m.user.email for m in demande.porteur.membres.select_related("user")} | {demande.depose_par.email}
        )
        contexte = {"demande": demande, "site": getattr(settings, "SUBVENTIONS_SITE_URL", "http://127.0.0.1:8000")}
        courriel_programmer(
            destinataires=destinataires,
            sujet=f"Dépôt de votre demande {demande.numero} — {demande.intitule}"[:255],
            texte=render_to_string("demandes/email/depot.txt", contexte),
            modele=modele,
        )
    return True
