"""A Celery worker killed in the middle of a task: the task runs again (late acknowledgement) and, the tasks being
idempotent, what it makes exists once. Real worker (prefork pool) in a subprocess, real Redis, real PostgreSQL."""

from __future__ import annotations

import os
import signal
import time

import pytest
from django.contrib.contenttypes.models import ContentType

from subventions.conventions.models import ActeAttribution, CompteurActes, StatutActe
from tests.conventions.aides import accordee, monde_de_test
from tests.factories import MembreFactory, PorteurFactory
from tests.fiabilite.conftest import attendre, bloquer, broker, envoyes, pid_bloque
from workflows.enums import StatutCourriel
from workflows.models import Courriel, Document
from workflows.services import message_id

pytestmark = [pytest.mark.postgres, pytest.mark.real_queue, pytest.mark.django_db(transaction=True)]


def test_email_task_killed_while_sending_is_delivered_again_and_sent_once(pg_seulement, redis_partage, workers):
    from workflows.tasks import envoyer_courriel

    courriel = Courriel.objects.create(destinataires=["tresorier@exemple.test"], sujet="Dépôt reçu", texte="…")
    bloquer(workers.piege, "courriel")
    worker = workers(redis_partage)
    with broker(redis_partage):
        envoyer_courriel.delay(courriel.pk)
    enfant = pid_bloque(workers.piege, "courriel")
    assert enfant != worker.process.pid
    # The pool process dies inside the SMTP call: its transaction (row lock, attempt count) is rolled back.
    os.kill(enfant, signal.SIGKILL)

    # The worker sees its child lost; the message, not yet acknowledged, is rejected back to the queue and a new
    # pool process sends it.
    attendre(lambda: envoyes(workers.piege), delai=60, message="le courriel n'est pas reparti")
    courriel.refresh_from_db()
    assert courriel.statut == StatutCourriel.ENVOYE
    time.sleep(2)  # a second delivery, if there were one, would show here
    partis = envoyes(workers.piege)
    assert [m["sujet"] for m in partis] == ["Dépôt reçu"], partis
    assert partis[0]["pid"] != enfant
    assert partis[0]["message_id"] == message_id(courriel)
    courriel.refresh_from_db()
    assert courriel.tentatives == 1, "the killed attempt was rolled back with its transaction"
    assert Courriel.objects.count() == 1
    assert "WorkerLostError" in worker.log(), "the worker saw its pool process die mid-task"


def test_worker_killed_while_rendering_a_convention_another_worker_renders_it_once(
    pg_seulement, redis_partage, workers
):
    from subventions.conventions.tasks import conventions_batir_campagne

    campagne, etat, _ville = monde_de_test()
    etat.toujours_convention = True
    etat.save()
    porteur = PorteurFactory()
    MembreFactory(porteur=porteur, role="representant_legal")
    for montant in ("8000.00", "4500.50"):
        accordee(campagne, etat, montant, porteur=porteur)

    bloquer(workers.piege, "pdf")
    premier = workers(redis_partage)
    with broker(redis_partage):
        conventions_batir_campagne.delay(campagne.pk)
    enfant = pid_bloque(workers.piege, "pdf")
    # The document was grouped and numbered (committed), its PDF is being rendered: the whole worker dies (machine
    # lost, OOM killer), main process and pool process. The message stays unacknowledged in Redis.
    premier.tuer()
    os.kill(enfant, signal.SIGKILL)
    acte = ActeAttribution.objects.get()
    assert acte.numero and acte.a_generer and acte.version_document == 0

    # Another worker takes the message back once Redis' visibility timeout has passed (here 3 s; 3600 s in
    # production settings) and runs the task again from the start.
    second = workers(redis_partage, FIABILITE_VISIBILITY_TIMEOUT="3")

    def rendu():
        acte.refresh_from_db()
        return acte.statut == StatutActe.GENEREE and acte.version_document == 1

    attendre(rendu, delai=60, message="la convention n'a pas été rendue par le second worker")
    time.sleep(4)  # past one more visibility timeout: no second delivery renders it again
    ct = ContentType.objects.get_for_model(ActeAttribution)
    documents = Document.objects.filter(content_type=ct, object_id=acte.pk)
    assert list(documents.values_list("nature", "version")) == [("acte_attributif", 1)]
    assert ActeAttribution.objects.count() == 1
    numero = ActeAttribution.objects.get().numero
    assert numero == acte.numero, "the second run kept the number given before the kill"
    assert CompteurActes.objects.get(financeur=etat).dernier == 1, "no number was used twice"
    assert second.process.poll() is None
