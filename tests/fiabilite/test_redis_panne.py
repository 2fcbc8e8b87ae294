"""Redis down while a demande is deposited: the deposit succeeds, its notice waits in the outbox, and the periodic
task sends it once the broker is back. A redis-server of the test's own, stopped and started again; a real worker."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from subventions.demandes.enums import StatutDemande
from subventions.demandes.models import Demande
from tests.factories import demande_complete
from tests.fiabilite.conftest import attendre, broker, envoyes
from workflows.enums import StatutCourriel
from workflows.models import Courriel

pytestmark = [pytest.mark.postgres, pytest.mark.real_queue, pytest.mark.django_db(transaction=True)]


def test_deposit_with_the_broker_down_succeeds_and_its_notice_is_sent_once_when_it_is_back(
    pg_seulement, redis_prive, workers, client
):
    from workflows.tasks import courriels_relancer

    demande = demande_complete()
    client.force_login(demande.cree_par)
    with broker(redis_prive.url):
        redis_prive.arreter()
        debut = time.monotonic()
        reponse = client.post(
            reverse("demandes:etape", args=[demande.pk, "depot"]),
            {"nom": "Aïcha Durand", "qualite": "Présidente", "engagement_republicain": "on", "exactitude": "on"},
        )
        duree = time.monotonic() - debut
        print(f"Dépôt avec Redis arrêté : {reponse.status_code} en {duree:.1f} s")

        # The porteur sees the deposit done; everything of the deposit is committed.
        assert reponse.status_code == 302
        assert reponse["Location"] == reverse("demandes:detail", kwargs={"pk": demande.pk})
        deposee = Demande.objects.get(pk=demande.pk)
        assert deposee.statut == StatutDemande.DEPOSEE and deposee.numero
        courriel = Courriel.objects.get(modele=f"depot:{demande.pk}")
        assert courriel.statut == StatutCourriel.EN_ATTENTE and courriel.tentatives == 0

        # The broker comes back, with a worker. Time passes: the row is past courriels_relancer's 5-minute grace.
        redis_prive.demarrer()
        workers(redis_prive.url)
        Courriel.objects.filter(pk=courriel.pk).update(cree_le=timezone.now() - timedelta(minutes=10))
        # Two beat ticks queue it twice (the first run has not sent it yet): it still goes out once.
        courriels_relancer.delay()
        courriels_relancer.delay()

        attendre(lambda: envoyes(workers.piege), delai=60, message="l'avis de dépôt n'est pas parti")
        courriel.refresh_from_db()
        attendre(
            lambda: Courriel.objects.get(pk=courriel.pk).statut == StatutCourriel.ENVOYE, delai=20, message="statut"
        )
        time.sleep(3)  # the duplicate queued by the second tick has run (and sent nothing)
    partis = envoyes(workers.piege)
    assert len(partis) == 1, partis
    assert str(deposee.numero) in partis[0]["sujet"] or partis[0]["sujet"] == courriel.sujet
    assert Courriel.objects.count() == 1
