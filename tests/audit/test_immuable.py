"""The transition log, the stored documents and the signatures cannot be changed or deleted: not by code, not in
the admin, not even by a superuser."""

from __future__ import annotations

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import ProtectedError
from django.urls import reverse

from subventions.audit.receivers import ArchiveImmuable
from subventions.comptes.models import User
from tests.factories import UserFactory, pdf_minimal
from workflows.documents import document_enregistrer
from workflows.models import Document, JournalImmuable, TransitionLog, journal_reecriture_autorisee

pytestmark = pytest.mark.django_db


@pytest.fixture
def log():
    user = UserFactory()
    return TransitionLog.objects.create(
        content_type=ContentType.objects.get_for_model(User),
        object_id=user.pk,
        transition="deposer",
        source="brouillon",
        cible="deposee",
        acteur=user,
    )


@pytest.fixture
def document():
    user = UserFactory()
    return document_enregistrer(obj=user, nature="convention", contenu=pdf_minimal(), nom="convention.pdf")


def test_the_transition_log_refuses_save_delete_update_and_bulk_delete(log):
    log.commentaire = "réécrit"
    with pytest.raises(JournalImmuable), transaction.atomic():
        log.save()
    with pytest.raises(JournalImmuable), transaction.atomic():
        log.delete()
    with pytest.raises(JournalImmuable), transaction.atomic():
        TransitionLog.objects.filter(pk=log.pk).update(cible="validee")
    with pytest.raises(JournalImmuable), transaction.atomic():
        TransitionLog.objects.filter(pk=log.pk).delete()
    with pytest.raises(JournalImmuable), transaction.atomic():
        TransitionLog.objects.bulk_update([log], ["commentaire"])
    log.refresh_from_db()
    assert (log.cible, log.commentaire) == ("deposee", "")
    # Creating rows stays possible, one by one and in bulk.
    TransitionLog.objects.bulk_create([TransitionLog(content_type=log.content_type, object_id=1, transition="x")])


def test_only_the_data_loaders_escape_hatch_may_backdate_and_never_delete(log):
    with journal_reecriture_autorisee():
        TransitionLog.objects.filter(pk=log.pk).update(commentaire="démo")
        with pytest.raises(JournalImmuable), transaction.atomic():
            TransitionLog.objects.filter(pk=log.pk).delete()
    log.refresh_from_db()
    assert log.commentaire == "démo"
    with pytest.raises(JournalImmuable), transaction.atomic():
        TransitionLog.objects.filter(pk=log.pk).update(commentaire="après")


def test_a_stored_document_is_never_changed_or_deleted(document):
    empreinte = document.sha256
    document.sha256 = "0" * 64
    with pytest.raises(ArchiveImmuable), transaction.atomic():
        document.save()
    document.fichier.save("autre.pdf", ContentFile(b"%PDF-1.4 autre"), save=False)
    with pytest.raises(ArchiveImmuable), transaction.atomic():
        document.save()
    with pytest.raises(ArchiveImmuable), transaction.atomic():
        document.delete()
    with pytest.raises(ArchiveImmuable), transaction.atomic():
        Document.objects.filter(pk=document.pk).delete()
    with pytest.raises(ArchiveImmuable), transaction.atomic():
        Document.objects.filter(pk=document.pk).update(sha256="0" * 64)
    assert Document.objects.get(pk=document.pk).sha256 == empreinte
    # A new version is a new row: still allowed.
    assert document_enregistrer(obj=document.content_type, nature="convention", contenu=b"%PDF v2", nom="v2.pdf")


def _administrateur(client):
    admin = UserFactory(mfa=True, is_superuser=True, is_staff=True)
    client.force_login(admin)
    return admin


def test_the_admin_shows_the_log_and_documents_read_only_even_to_a_superuser(client, log, document):
    _administrateur(client)
    for modele, obj in ((TransitionLog, log), (Document, document)):
        base = f"admin:{modele._meta.app_label}_{modele._meta.model_name}"
        assert client.get(reverse(f"{base}_changelist")).status_code == 200
        page = client.get(reverse(f"{base}_change", args=[obj.pk]))
        assert page.status_code == 200
        assert b'name="_save"' not in page.content
        assert client.get(reverse(f"{base}_delete", args=[obj.pk])).status_code == 403
        assert client.post(reverse(f"{base}_delete", args=[obj.pk]), {"post": "yes"}).status_code == 403
        assert client.get(reverse(f"{base}_add")).status_code == 403
        # The bulk « delete selected » action is not offered either.
        liste = client.post(
            reverse(f"{base}_changelist"),
            {"action": "delete_selected", "_selected_action": [obj.pk], "post": "yes"},
        )
        assert liste.status_code in (200, 302)
        assert modele.objects.filter(pk=obj.pk).exists()


def test_a_signature_is_never_changed_or_deleted():
    from subventions.conventions.models import ActeAttribution, Signature
    from subventions.conventions.services import conventions_batir
    from tests.conventions.aides import accordee, monde_de_test
    from tests.factories import PorteurFactory

    campagne, etat, _ville = monde_de_test()
    etat.toujours_convention = True
    etat.save()
    porteur = PorteurFactory()
    accordee(campagne, etat, "8000.00", porteur=porteur)
    conventions_batir(campagne=campagne)
    acte = ActeAttribution.objects.get(porteur=porteur, financeur=etat)
    version = document_enregistrer(obj=acte, nature="convention", contenu=pdf_minimal(), nom="convention.pdf")
    signature = Signature.objects.create(
        acte=acte,
        partie="porteur",
        document=version,
        sha256=version.sha256,
        mode="en_ligne",
        user=UserFactory(),
        nom="Aïcha Durand",
        qualite="Présidente",
    )
    signature.nom = "Quelqu'un d'autre"
    with pytest.raises(ArchiveImmuable), transaction.atomic():
        signature.save()
    with pytest.raises(ArchiveImmuable), transaction.atomic():
        signature.delete()
    with pytest.raises(ArchiveImmuable), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).delete()
    with pytest.raises(ArchiveImmuable), transaction.atomic():
        Signature.objects.filter(pk=signature.pk).update(nom="Quelqu'un d'autre")
    with pytest.raises((ArchiveImmuable, ProtectedError)), transaction.atomic():
        version.delete()
    assert Signature.objects.get(pk=signature.pk).nom == "Aïcha Durand"
