"""The deposit under a closing-date rush: the campagne's number counter is locked only for a short transaction (the
récépissé PDF is rendered after its commit), the transition log is written once with the filed content, and a
récépissé that could not be rendered after the deposit is rendered once, when first asked."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.db import connection

from subventions.demandes import pdf
from subventions.demandes.enums import StatutDemande
from subventions.demandes.models import CompteurDossiers, Demande
from subventions.demandes.services import demande_deposer, empreinte_dossier, recepisse_assurer
from tests.factories import demande_complete
from workflows.models import Courriel, Document, TransitionLog


def deposer(demande: Demande) -> Demande:
    return demande_deposer(
        demande=demande,
        user=demande.cree_par,
        nom="Aïcha Durand",
        qualite="Présidente",
        engagement_republicain=True,
        exactitude=True,
    )


def recepisses(demande: Demande):
    ct = ContentType.objects.get_for_model(Demande)
    return Document.objects.filter(content_type=ct, object_id=demande.pk, nature="recepisse")


@pytest.mark.django_db(transaction=True)
def test_the_recepisse_is_rendered_after_the_deposit_commits(monkeypatch):
    # Every deposit of a campagne waits for its counter row: the PDF must not be rendered while it is locked.
    demande = demande_complete()
    evenements: list[str] = []
    vrai_commit, vrai_pdf = connection.commit, pdf.recepisse_pdf

    def commit():
        vrai_commit()
        evenements.append("commit")

    def recepisse(d):
        evenements.append("pdf")
        return vrai_pdf(d)

    monkeypatch.setattr(connection, "commit", commit)
    monkeypatch.setattr(pdf, "recepisse_pdf", recepisse)
    deposee = deposer(demande)
    monkeypatch.setattr(connection, "commit", vrai_commit)

    # The deposit's transaction commits first (then the notice's task, run eagerly here), then the rendering.
    assert evenements[0] == "commit" and evenements.count("pdf") == 1
    assert Demande.objects.get(pk=demande.pk).statut == StatutDemande.DEPOSEE
    assert recepisses(deposee).count() == 1
    assert CompteurDossiers.objects.get(campagne=demande.campagne).dernier == 1


@pytest.mark.django_db
def test_the_log_row_is_written_once_with_the_filed_content(django_capture_on_commit_callbacks):
    demande = demande_complete()
    with django_capture_on_commit_callbacks(execute=True):
        deposee = deposer(demande)
    deposee.refresh_from_db()
    [log] = TransitionLog.objects.filter(object_id=deposee.pk, transition="deposer")
    assert log.extra["contenu"]["numero"] == deposee.numero != ""
    assert log.extra["contenu"]["declaration"][0] == "Aïcha Durand"
    # The fingerprint printed on the récépissé is the one of the content kept in the log.
    assert deposee.empreinte == empreinte_dossier(deposee)


@pytest.mark.django_db
def test_a_recepisse_that_failed_after_the_deposit_is_rendered_once_when_asked(
    client, monkeypatch, django_capture_on_commit_callbacks
):
    demande = demande_complete()
    vrai_pdf = pdf.recepisse_pdf

    def en_panne(d):
        raise OSError("disque plein")

    monkeypatch.setattr(pdf, "recepisse_pdf", en_panne)
    with django_capture_on_commit_callbacks(execute=True):
        deposee = deposer(demande)  # the deposit itself stands
    deposee.refresh_from_db()
    assert deposee.statut == StatutDemande.DEPOSEE and deposee.numero
    assert Courriel.objects.filter(modele=f"depot:{deposee.pk}").count() == 1
    assert not recepisses(deposee).exists()

    monkeypatch.setattr(pdf, "recepisse_pdf", vrai_pdf)
    client.force_login(demande.cree_par)
    for _ in range(2):
        reponse = client.get(f"/demandes/{deposee.pk}/recepisse/")
        assert reponse.status_code == 200
        assert b"".join(reponse.streaming_content).startswith(b"%PDF")
    assert recepisses(deposee).count() == 1
    assert recepisse_assurer(deposee) == recepisses(deposee).get()


@pytest.mark.django_db
def test_a_brouillon_has_no_recepisse(client):
    demande = demande_complete()
    assert recepisse_assurer(demande) is None
    client.force_login(demande.cree_par)
    assert client.get(f"/demandes/{demande.pk}/recepisse/").status_code == 404
    assert not recepisses(demande).exists()
