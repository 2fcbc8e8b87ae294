"""Depositing a demande: number, récépissé stored once, log, email after commit; refusals write nothing."""

from __future__ import annotations

import hashlib
import io
import threading
import time
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import OperationalError, connections
from django.utils import timezone
from pypdf import PdfReader

from subventions.campagnes.models import Campagne
from subventions.demandes import tasks
from subventions.demandes.enums import StatutDemande
from subventions.demandes.models import CompteurDossiers, Demande, Indicateur
from subventions.demandes.services import DepotRefuse, demande_deposer, empreinte_dossier
from tests.factories import MembreFactory, demande_complete
from workflows.enums import StatutCourriel
from workflows.models import Courriel, Document, TransitionLog
from workflows.transitions import TransitionRefusee

PARIS = ZoneInfo("Europe/Paris")


def deposer(demande: Demande, user=None) -> Demande:
    return demande_deposer(
        demande=demande,
        user=user or demande.cree_par,
        nom="Aïcha Durand",
        qualite="Présidente",
        engagement_republicain=True,
        exactitude=True,
    )


def recepisses(demande: Demande):
    ct = ContentType.objects.get_for_model(Demande)
    return Document.objects.filter(content_type=ct, object_id=demande.pk, nature="recepisse")


def journal(demande: Demande):
    return TransitionLog.objects.filter(content_type=ContentType.objects.get_for_model(Demande), object_id=demande.pk)


def assert_rien_ecrit(demande: Demande) -> None:
    demande.refresh_from_db()
    assert demande.statut == StatutDemande.BROUILLON
    assert demande.numero == "" and demande.depose_le is None and demande.empreinte == ""
    assert not recepisses(demande).exists()
    assert not journal(demande).exists()
    assert not Courriel.objects.exists()
    assert not CompteurDossiers.objects.filter(campagne=demande.campagne, dernier__gt=0).exists()


@pytest.mark.django_db
def test_deposit_numbers_stores_the_recepisse_logs_and_emails_after_commit(
    django_capture_on_commit_callbacks, mailoutbox
):
    demande = demande_complete(intitule="Parents & enfants : « L’été des mômes »")
    user = demande.cree_par
    with django_capture_on_commit_callbacks(execute=True):
        deposee = deposer(demande, user)

    deposee.refresh_from_db()
    assert deposee.statut == StatutDemande.DEPOSEE
    assert deposee.numero == f"{demande.campagne.exercice}-000001"
    assert deposee.depose_par == user and deposee.declaration_par == user
    assert deposee.declaration_nom == "Aïcha Durand" and deposee.declaration_date == timezone.localdate()
    assert deposee.identification["siret"] == demande.porteur.siret
    assert deposee.empreinte == empreinte_dossier(deposee)

    [document] = recepisses(deposee)
    contenu = document.fichier.read()
    assert document.sha256 == hashlib.sha256(contenu).hexdigest()
    assert document.taille == len(contenu) and document.version == 1
    texte = PdfReader(io.BytesIO(contenu)).pages[0].extract_text()
    assert deposee.numero in texte and deposee.empreinte in texte and demande.porteur.nom in texte

    [log] = journal(deposee)
    assert (log.transition, log.source, log.cible, log.acteur) == ("deposer", "brouillon", "deposee", user)

    [courriel] = Courriel.objects.all()
    assert courriel.statut == StatutCourriel.ENVOYE
    assert courriel.modele == f"depot:{deposee.pk}"
    [message] = mailoutbox
    assert user.email in message.to
    assert deposee.numero in message.subject
    # Plain text: the title as typed (no HTML escaping), the amount the French way.
    assert "« Parents & enfants : « L’été des mômes » »" in message.body
    assert "8\u00a0000,00\u00a0€" in message.body
    assert "(heure de Paris)" in message.body


@pytest.mark.django_db
def test_nothing_is_emailed_before_commit(django_capture_on_commit_callbacks, mailoutbox):
    demande = demande_complete()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        deposer(demande)
    # The notice is written in the outbox with the deposit, and only sent once the transaction commits.
    assert mailoutbox == [] and Courriel.objects.get().statut == "en_attente"
    with django_capture_on_commit_callbacks(execute=True):  # the commit: the notice is sent
        for callback in callbacks:
            callback()
    assert len(mailoutbox) == 1


@pytest.mark.django_db
@pytest.mark.parametrize("recharger", [False, True], ids=["onglet-perime", "page-rechargee"])
def test_depositing_twice_gives_one_deposit(recharger, django_capture_on_commit_callbacks, mailoutbox):
    demande = demande_complete()
    with django_capture_on_commit_callbacks(execute=True):
        deposer(demande)
    if recharger:
        demande = Demande.objects.get(pk=demande.pk)
    with django_capture_on_commit_callbacks(execute=True), pytest.raises(TransitionRefusee):
        deposer(demande)
    demande.refresh_from_db()
    assert demande.numero.endswith("-000001")
    assert recepisses(demande).count() == 1
    assert journal(demande).count() == 1
    assert Courriel.objects.count() == 1 and len(mailoutbox) == 1
    assert CompteurDossiers.objects.get(campagne=demande.campagne).dernier == 1


@pytest.mark.django_db
def test_notification_task_run_twice_sends_one_email(django_capture_on_commit_callbacks, mailoutbox):
    demande = demande_complete()
    with django_capture_on_commit_callbacks(execute=True):
        deposer(demande)
    with django_capture_on_commit_callbacks(execute=True):  # a redelivered message, a second worker
        assert tasks.notifier_depot.delay(demande.pk).get() is False
        assert tasks.notifier_depot.delay(demande.pk).get() is False
    assert Courriel.objects.count() == 1 and len(mailoutbox) == 1


@pytest.mark.django_db
def test_notification_of_a_brouillon_or_a_missing_demande_sends_nothing(mailoutbox):
    demande = demande_complete()
    assert tasks.notifier_depot.delay(demande.pk).get() is False
    assert tasks.notifier_depot.delay(demande.pk + 1000).get() is False
    assert not Courriel.objects.exists()


@pytest.mark.django_db
def test_notification_retries_a_transient_database_error(monkeypatch, django_capture_on_commit_callbacks, mailoutbox):
    demande = demande_complete()
    with django_capture_on_commit_callbacks(execute=False):
        deposer(demande)
    # The deposit wrote the notice itself; the task is the fallback that writes it when it is missing.
    Courriel.objects.all().delete()
    vraie = tasks.courriel_depot_programmer
    essais = []

    def panne_puis_retour(**kwargs):
        essais.append(1)
        if len(essais) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return vraie(**kwargs)

    monkeypatch.setattr(tasks, "courriel_depot_programmer", panne_puis_retour)
    # throw=False: the eager retry runs inline, as a worker would run it after the backoff.
    with django_capture_on_commit_callbacks(execute=True):
        assert tasks.notifier_depot.apply(args=[demande.pk], throw=False).get() is True
    assert len(essais) == 2
    assert len(mailoutbox) == 1


@pytest.mark.django_db
def test_notification_does_not_retry_a_bug(monkeypatch, django_capture_on_commit_callbacks, mailoutbox):
    demande = demande_complete()
    with django_capture_on_commit_callbacks(execute=False):
        deposer(demande)
    essais = []

    def bogue(**kwargs):
        essais.append(1)
        raise ValueError("gabarit cassé")

    monkeypatch.setattr(tasks, "courriel_depot_programmer", bogue)
    resultat = tasks.notifier_depot.apply(args=[demande.pk], throw=False)
    assert resultat.state == "FAILURE" and len(essais) == 1
    assert mailoutbox == []


@pytest.mark.django_db
def test_deposit_after_the_closing_time_is_refused_with_the_date(mailoutbox):
    demande = demande_complete()
    Campagne.objects.filter(pk=demande.campagne_id).update(
        ouverture=datetime(2014, 10, 15, 9, tzinfo=PARIS), cloture=datetime(2014, 12, 12, 12, tzinfo=PARIS)
    )
    with pytest.raises(DepotRefuse) as refus:
        deposer(demande)
    assert "close depuis le 12/12/2014 12:00 (heure de Paris)" in str(refus.value)
    assert_rien_ecrit(demande)


@pytest.mark.django_db
def test_closing_time_is_checked_to_the_minute_in_paris(mailoutbox):
    demande = demande_complete()
    Campagne.objects.filter(pk=demande.campagne_id).update(cloture=timezone.now() - timedelta(minutes=1))
    with pytest.raises(DepotRefuse, match="close depuis"):
        deposer(demande)
    assert_rien_ecrit(demande)


@pytest.mark.django_db
@pytest.mark.parametrize("role", ["gestionnaire", "lecteur", None])
def test_only_a_representant_legal_deposits(role, mailoutbox):
    demande = demande_complete()
    autre = MembreFactory(porteur=demande.porteur, role=role).user if role else MembreFactory().user
    with pytest.raises(TransitionRefusee, match="droit"):
        deposer(demande, autre)
    assert_rien_ecrit(demande)


@pytest.mark.django_db
def test_incomplete_demande_is_refused_with_what_is_missing(mailoutbox):
    demande = demande_complete()
    Indicateur.objects.filter(demande=demande).delete()
    demande.lignes_budget.filter(compte="75").update(montant=Decimal("1500.00"))
    with pytest.raises(DepotRefuse) as refus:
        deposer(demande)
    etapes = {manque.etape for manque in refus.value.manques}
    assert etapes == {"objectifs", "budget"}
    assert any("écart" in manque.message for manque in refus.value.manques)
    assert_rien_ecrit(demande)


@pytest.mark.django_db
def test_unchecked_declaration_is_refused(mailoutbox):
    demande = demande_complete()
    with pytest.raises(DepotRefuse, match="engagement républicain"):
        demande_deposer(
            demande=demande, user=demande.cree_par, nom="A", qualite="B", engagement_republicain=False, exactitude=True
        )
    assert_rien_ecrit(demande)


@pytest.mark.django_db
def test_numbers_are_sequential_per_campagne(django_capture_on_commit_callbacks, mailoutbox):
    premiere = demande_complete()
    seconde = demande_complete(campagne=premiere.campagne)
    ailleurs = demande_complete()
    with django_capture_on_commit_callbacks(execute=True):
        numeros = [deposer(d).numero for d in (premiere, seconde, ailleurs)]
    exercice = premiere.campagne.exercice
    assert numeros[:2] == [f"{exercice}-000001", f"{exercice}-000002"]
    assert numeros[2] == f"{ailleurs.campagne.exercice}-000001"
    assert len(mailoutbox) == 3


# --- PostgreSQL: real row locks between concurrent requests -----------------------------------------------------


def _en_parallele(fonctions) -> list:
    """Run the callables at the same moment in threads, each with its own connection; their results or errors."""
    depart = threading.Barrier(len(fonctions))
    resultats: list = [None] * len(fonctions)

    def lancer(i, fonction):
        try:
            depart.wait()
            resultats[i] = fonction()
        except Exception as exc:  # noqa: BLE001 - the test inspects what each thread got
            resultats[i] = exc
        finally:
            connections.close_all()

    fils = [threading.Thread(target=lancer, args=(i, f)) for i, f in enumerate(fonctions)]
    for f in fils:
        f.start()
    for f in fils:
        f.join(timeout=60)
    return resultats


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_deposits_of_one_demande_give_one(postgres_only, mailoutbox):
    demande = demande_complete()
    # Two tabs, both loaded while the demande was a brouillon.
    resultats = _en_parallele([lambda: deposer(Demande.objects.get(pk=demande.pk)) for _ in range(2)])
    reussis = [r for r in resultats if isinstance(r, Demande)]
    refuses = [r for r in resultats if isinstance(r, TransitionRefusee)]
    assert len(reussis) == 1 and len(refuses) == 1, resultats
    demande.refresh_from_db()
    assert demande.statut == StatutDemande.DEPOSEE and demande.numero.endswith("-000001")
    assert recepisses(demande).count() == 1
    assert journal(demande).count() == 1
    assert CompteurDossiers.objects.get(campagne=demande.campagne).dernier == 1
    assert Courriel.objects.count() == 1 and len(mailoutbox) == 1


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_simultaneous_deposits_in_one_campagne_get_distinct_sequential_numbers(postgres_only, mailoutbox):
    premiere = demande_complete()
    demandes = [premiere] + [demande_complete(campagne=premiere.campagne) for _ in range(7)]
    resultats = _en_parallele([lambda pk=d.pk: deposer(Demande.objects.get(pk=pk)) for d in demandes])
    assert all(isinstance(r, Demande) for r in resultats), resultats
    exercice = premiere.campagne.exercice
    assert sorted(r.numero for r in resultats) == [f"{exercice}-{n:06d}" for n in range(1, 9)]
    assert Document.objects.filter(nature="recepisse").count() == 8
    assert len(mailoutbox) == 8


# --- A real worker, through the configured broker ---------------------------------------------------------------


@pytest.mark.real_queue
@pytest.mark.django_db(transaction=True)
def test_deposit_notice_goes_through_the_broker_to_a_real_worker(settings):
    from celery.contrib.testing.worker import start_worker

    from subventions.celery import app

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert app.conf.task_always_eager is False
    demande = demande_complete()
    with start_worker(app, pool="solo", perform_ping_check=False, shutdown_timeout=10):
        deposer(demande)  # committed here (no outer transaction): the task is on the broker
        courriel = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            courriel = Courriel.objects.filter(modele=f"depot:{demande.pk}").first()
            if courriel and courriel.statut == StatutCourriel.ENVOYE:
                break
            time.sleep(0.2)
    assert courriel is not None and courriel.statut == StatutCourriel.ENVOYE
    assert Courriel.objects.count() == 1
