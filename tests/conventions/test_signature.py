"""The document's life: generation (or bloquée with the reason, issued once fixed), sending, the porteur's and the
signataire's signatures, the executory consequences, and what may no longer change."""

from __future__ import annotations

from decimal import Decimal

import pytest

from associations.models import Porteur
from subventions.comptes.enums import Role
from subventions.conventions import services
from subventions.conventions.models import ActeAttribution, Signature, StatutActe
from subventions.conventions.services import conventions_batir
from subventions.conventions.signals import acte_executoire
from subventions.demandes.models import Demande
from tests.conventions.aides import accordee, monde_de_test
from tests.factories import MembreFactory, PorteurFactory, agent
from workflows.documents import document_courant
from workflows.models import Courriel, Document, TransitionLog
from workflows.transitions import TransitionRefusee

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    campagne, etat, ville = monde_de_test()
    etat.toujours_convention = True
    etat.save()
    porteur = PorteurFactory()
    representant = MembreFactory(porteur=porteur, role="representant_legal")
    gestionnaire = MembreFactory(porteur=porteur, role="gestionnaire")
    lignes = [accordee(campagne, etat, m, porteur=porteur) for m in ("8000.00", "4500.50")]
    return {
        "campagne": campagne,
        "etat": etat,
        "ville": ville,
        "porteur": porteur,
        "representant": representant.user,
        "gestionnaire": gestionnaire.user,
        "lignes": lignes,
        "signataire": agent(Role.SIGNATAIRE, financeurs=[etat]),
        "signataire_ville": agent(Role.SIGNATAIRE, financeurs=[ville]),
        "instructeur": agent(Role.INSTRUCTEUR, financeurs=[etat]),
    }


def _acte(monde) -> ActeAttribution:
    conventions_batir(campagne=monde["campagne"])
    return ActeAttribution.objects.get(porteur=monde["porteur"], financeur=monde["etat"], est_avenant=False)


def _signer(acte, user, partie, **kw):
    return services.acte_signer(
        acte,
        user=user,
        partie=partie,
        nom=kw.pop("nom", "Aïcha Durand"),
        qualite=kw.pop("qualite", "Présidente"),
        version=kw.pop("version", acte.version_document),
        ip="203.0.113.7",
        user_agent="Mozilla/5.0 test",
        **kw,
    )


def test_build_renders_a_pdf_and_stores_it_with_its_hash(monde):
    acte = _acte(monde)
    assert acte.statut == StatutActe.GENEREE and acte.version_document == 1 and not acte.a_generer
    document = document_courant(acte, services.NATURE_DOCUMENT)
    assert document.fichier.read().startswith(b"%PDF") and len(document.sha256) == 64
    # Idempotent: nothing is rendered again.
    assert conventions_batir(campagne=monde["campagne"])["maj"] == 0
    assert Document.objects.filter(object_id=acte.pk, nature=services.NATURE_DOCUMENT).count() == 1


def test_a_porteur_without_iban_is_blocked_with_the_reason_then_issued_once_fixed(
    monde, django_capture_on_commit_callbacks
):
    Porteur.objects.filter(pk=monde["porteur"].pk).update(iban="")
    acte = _acte(monde)
    assert acte.statut == StatutActe.BLOQUEE
    assert "IBAN" in acte.motif_blocage
    assert conventions_batir(campagne=monde["campagne"])["bloquees"] == 1
    # Running again records nothing new.
    n_logs = TransitionLog.objects.filter(object_id=acte.pk, transition="bloquer").count()
    conventions_batir(campagne=monde["campagne"])
    assert TransitionLog.objects.filter(object_id=acte.pk, transition="bloquer").count() == n_logs == 1
    # The porteur fixes its IBAN: the document is issued (task on commit, eager in tests).
    porteur = Porteur.objects.get(pk=monde["porteur"].pk)
    porteur.iban = "FR7630001007941234567890185"
    with django_capture_on_commit_callbacks(execute=True):
        porteur.save()
    acte.refresh_from_db()
    assert acte.statut == StatutActe.GENEREE and acte.motif_blocage == "" and acte.version_document == 1


def test_an_invalid_iban_or_no_representant_account_blocks_too(monde):
    Porteur.objects.filter(pk=monde["porteur"].pk).update(iban="FR7630001007941234567890186")
    monde["porteur"].membres.filter(role="representant_legal").delete()
    acte = _acte(monde)
    assert acte.statut == StatutActe.BLOQUEE
    assert "IBAN du porteur est invalide" in acte.motif_blocage
    assert "représentant légal" in acte.motif_blocage


def test_full_signature_path_makes_the_convention_executory(monde):
    acte = _acte(monde)
    recus = []
    acte_executoire.connect(lambda sender, acte, **kw: recus.append(acte.pk), weak=False, dispatch_uid="t1")
    try:
        acte = services.acte_envoyer(acte, acteur=monde["instructeur"])
        assert acte.statut == StatutActe.ENVOYEE and acte.envoyee_le
        assert Courriel.objects.filter(modele__startswith=f"conventions.envoi.{acte.pk}.").exists()
        acte = _signer(acte, monde["representant"], "porteur")
        assert acte.statut == StatutActe.SIGNEE_PORTEUR
        assert Courriel.objects.filter(modele=f"conventions.a_contresigner.{acte.pk}").exists()
        acte = _signer(acte, monde["signataire"], "financeur", nom="Jean Préfet", qualite="Préfet délégué")
    finally:
        acte_executoire.disconnect(dispatch_uid="t1")
    assert acte.statut == StatutActe.SIGNEE and acte.executoire_le
    assert recus == [acte.pk]
    signatures = list(Signature.objects.filter(acte=acte).order_by("signe_le"))
    assert [s.partie for s in signatures] == ["porteur", "financeur"]
    courant = document_courant(acte, services.NATURE_DOCUMENT)
    assert all(s.sha256 == courant.sha256 and s.document_id == courant.pk for s in signatures)
    log = TransitionLog.objects.get(object_id=acte.pk, transition="signer_porteur")
    assert log.extra["ip"] == "203.0.113.7" and log.extra["user_agent"] == "Mozilla/5.0 test"
    assert log.acteur == monde["representant"]
    # The demandes are conventionnées.
    assert set(Demande.objects.filter(lignes_financement__in=monde["lignes"]).values_list("statut", flat=True)) == {
        "conventionnee"
    }


def test_only_the_representant_legal_signs_for_the_porteur(monde):
    acte = services.acte_envoyer(_acte(monde), acteur=monde["instructeur"])
    autre = MembreFactory(role="representant_legal").user  # of another porteur
    for intrus in (monde["gestionnaire"], autre, monde["signataire"]):
        with pytest.raises(TransitionRefusee):
            _signer(acte, intrus, "porteur")
    assert ActeAttribution.objects.get(pk=acte.pk).statut == StatutActe.ENVOYEE
    assert not Signature.objects.exists()


def test_only_a_signataire_of_that_financeur_countersigns(monde):
    acte = services.acte_envoyer(_acte(monde), acteur=monde["instructeur"])
    acte = _signer(acte, monde["representant"], "porteur")
    for intrus in (monde["signataire_ville"], monde["instructeur"], monde["representant"]):
        with pytest.raises(TransitionRefusee):
            _signer(acte, intrus, "financeur")
    assert ActeAttribution.objects.get(pk=acte.pk).statut == StatutActe.SIGNEE_PORTEUR


def test_signing_an_older_version_than_the_current_one_is_refused(monde):
    acte = services.acte_envoyer(_acte(monde), acteur=monde["instructeur"])
    # A new action is granted before the porteur signs: it joins the document, a version 2 is sent again.
    accordee(monde["campagne"], monde["etat"], "1000.00", porteur=monde["porteur"])
    conventions_batir(campagne=monde["campagne"])
    acte.refresh_from_db()
    assert acte.version_document == 2 and acte.statut == StatutActe.ENVOYEE
    assert acte.montant_total == Decimal("13500.50")
    with pytest.raises(TransitionRefusee, match="relisez la nouvelle version"):
        _signer(acte, monde["representant"], "porteur", version=1)
    assert _signer(acte, monde["representant"], "porteur", version=2).statut == StatutActe.SIGNEE_PORTEUR


def test_a_signed_document_never_changes_later_lines_go_into_an_avenant(monde):
    acte = services.acte_envoyer(_acte(monde), acteur=monde["instructeur"])
    acte = _signer(acte, monde["representant"], "porteur")
    empreinte = document_courant(acte, services.NATURE_DOCUMENT).sha256
    accordee(monde["campagne"], monde["etat"], "2000.00", porteur=monde["porteur"])
    conventions_batir(campagne=monde["campagne"])
    acte.refresh_from_db()
    assert acte.version_document == 1 and document_courant(acte, services.NATURE_DOCUMENT).sha256 == empreinte
    avenant = ActeAttribution.objects.get(parent=acte)
    assert avenant.est_avenant and avenant.statut == StatutActe.GENEREE and avenant.montant_total == Decimal("2000")
    # A forced regeneration of the signed document is refused.
    assert services.acte_generer(acte, forcer=True).version_document == 1


def test_the_signed_scan_is_stored_and_linked_to_the_signature(monde):
    from tests.factories import pdf_minimal

    acte = services.acte_envoyer(_acte(monde), acteur=monde["instructeur"])
    acte = _signer(acte, monde["representant"], "porteur", scan=pdf_minimal("signé"), scan_nom="scan.pdf")
    signature = Signature.objects.get(acte=acte)
    assert signature.mode == "scan" and signature.scan.fichier.read().startswith(b"%PDF")


def test_an_arrete_is_notified_by_the_signataire_and_is_executory_at_once(monde):
    ville = monde["ville"]
    ligne = accordee(monde["campagne"], ville, "3000.00", porteur=monde["porteur"])
    conventions_batir(campagne=monde["campagne"])
    arrete = ActeAttribution.objects.get(financeur=ville)
    assert arrete.nature == "arrete" and arrete.statut == StatutActe.GENEREE
    with pytest.raises(TransitionRefusee):
        services.acte_envoyer(arrete, acteur=agent(Role.INSTRUCTEUR, financeurs=[ville]))
    with pytest.raises(TransitionRefusee):
        services.acte_notifier(arrete, acteur=monde["signataire"])  # the État's signataire
    arrete = services.acte_notifier(arrete, acteur=monde["signataire_ville"])
    assert arrete.statut == StatutActe.NOTIFIEE and arrete.executoire_le
    assert Demande.objects.get(pk=ligne.demande_id).statut == "conventionnee"
    assert Courriel.objects.filter(modele=f"conventions.notification.{arrete.pk}").exists()


def test_bulk_send_sends_generated_conventions_and_reports_the_others(monde):
    acte = _acte(monde)
    autre = PorteurFactory()
    MembreFactory(porteur=autre)
    accordee(monde["campagne"], monde["etat"], "500.00", porteur=autre)
    conventions_batir(campagne=monde["campagne"])
    actes = list(ActeAttribution.objects.filter(financeur=monde["etat"]).order_by("pk"))
    envoyes, erreurs = services.actes_envoyer(actes=actes, acteur=monde["instructeur"])
    assert envoyes == 2 and erreurs == []
    envoyes, erreurs = services.actes_envoyer(actes=actes, acteur=monde["instructeur"])
    assert envoyes == 0 and len(erreurs) == 2 and acte.numero in erreurs[0]
