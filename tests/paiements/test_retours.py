"""Return files from the comptable or the bank: every line matched or nothing applied, a report of the matched and
unmatched lines, harmless when imported twice; dates JJ/MM/AAAA or ISO; payments of other financeurs stay unknown."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from subventions.paiements.models import RetourPaiements
from subventions.paiements.selectors import paiements_visibles
from subventions.paiements.services import Criteres, liste_creer, retour_importer
from tests.paiements.aides import acte, avance, etat, finance, recharger, ville
from workflows.documents import document_courant
from workflows.models import TransitionLog

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    financeur = etat()
    actes = [acte(financeur, "1000.00"), acte(financeur, "2000.00"), acte(financeur, "3000.00")]
    user = finance(financeur)
    liste_creer(criteres=Criteres(financeur=financeur), acteur=user)
    return {"financeur": financeur, "actes": actes, "user": user, "refs": [avance(a).reference for a in actes]}


def _importer(monde, texte: str, *, encodage="utf-8-sig", user=None):
    user = user or monde["user"]
    return retour_importer(
        contenu=texte.encode(encodage), nom_fichier="retour.csv", acteur=user, paiements=paiements_visibles(user)
    )


def test_a_return_marks_payments_paid_or_rejected_and_is_kept(monde):
    jour = timezone.localdate()
    a, b, c = monde["refs"]
    texte = (
        "Référence;Date de paiement;Statut;Motif;N° mandat\n"
        f"{a};{jour:%d/%m/%Y};payé;;M-2015-0042\n"
        f"{b};{jour:%d/%m/%Y};rejeté;Compte clôturé;\n"
        f"{c};{jour.isoformat()};;;\n"
    )
    rapport = _importer(monde, texte)
    assert rapport.applique and not rapport.non_reconnues
    assert (rapport.nb("paye"), rapport.nb("rejete")) == (2, 1)
    pa, pb, pc = (recharger(avance(x)) for x in monde["actes"])
    assert (pa.statut, pa.reglement_reference, pa.reglement_date) == ("paye", "M-2015-0042", jour)
    assert (pb.statut, pb.motif_rejet) == ("rejete", "Compte clôturé")
    assert (pc.statut, pc.reglement_reference) == ("paye", c), "without a mandate column, the transfer's reference"
    retour = RetourPaiements.objects.get()
    assert (retour.nb_payes, retour.nb_rejetes, retour.importe_par) == (2, 1, monde["user"])
    assert document_courant(retour, "retour_paiements").taille == len(texte.encode("utf-8-sig"))
    assert TransitionLog.objects.filter(transition="payer", extra__retour=retour.pk).count() == 2

    again = _importer(monde, texte)
    assert again.applique and again.nb("deja") == 3 and again.nb("paye") == 0


def test_one_unmatched_line_and_nothing_is_applied_with_the_report(monde):
    jour = timezone.localdate()
    a, b, c = monde["refs"]
    autre = avance(acte(ville(), "500.00")).reference
    texte = (
        "reference,date\n"
        f"{a},{jour:%d/%m/%Y}\n"
        f"INCONNUE-1,{jour:%d/%m/%Y}\n"
        f"{autre},{jour:%d/%m/%Y}\n"
        f"{b},{(jour + timedelta(days=3)):%d/%m/%Y}\n"
        f"{a},{jour:%d/%m/%Y}\n"
        f"{c},31/02/2015\n"
    )
    rapport = _importer(monde, texte, encodage="cp1252")
    assert not rapport.applique
    assert [(lg.numero, lg.resultat) for lg in rapport.lignes] == [
        (2, "paye"),
        (3, "erreur"),
        (4, "erreur"),
        (5, "erreur"),
        (6, "erreur"),
        (7, "erreur"),
    ]
    messages = [lg.message for lg in rapport.non_reconnues]
    assert messages[0] == messages[1] == "Aucun paiement de votre périmètre ne porte cette référence."
    assert "dans le futur" in messages[2]
    assert messages[3] == "Référence en double dans le fichier."
    assert "illisible" in messages[4]
    assert {recharger(avance(x)).statut for x in monde["actes"]} == {"exporte"}
    assert not RetourPaiements.objects.exists()


def test_a_payment_not_exported_cannot_be_marked_paid(monde):
    nouveau = avance(acte(monde["financeur"], "800.00"))
    rapport = _importer(monde, f"reference;date\n{nouveau.reference};{timezone.localdate():%d/%m/%Y}\n")
    assert not rapport.applique
    assert "seul un paiement exporté" in rapport.lignes[0].message


@pytest.mark.parametrize(
    ("texte", "erreur"),
    [
        ("", "Le fichier est vide."),
        ("numero;montant\n1;2\n", "Colonnes obligatoires absentes de la première ligne : reference, date"),
        ("reference;date\n", "aucune ligne de paiement"),
    ],
)
def test_a_file_without_the_expected_columns_is_refused_whole(monde, texte, erreur):
    rapport = _importer(monde, texte)
    assert not rapport.applique and erreur in rapport.erreur


def test_a_rejection_needs_its_reason(monde):
    a = monde["refs"][0]
    rapport = _importer(monde, f"reference;date;statut\n{a};{timezone.localdate():%d/%m/%Y};rejete\n")
    assert not rapport.applique and rapport.lignes[0].message == "Motif du rejet absent."


def test_a_binary_file_named_csv_is_refused_before_reading_and_nothing_is_recorded(client, monde):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    client.force_login(monde["user"])
    classeur = SimpleUploadedFile("retour.csv", b"PK\x03\x04\x14\x00\x00\x00\x08\x00" + b"\x00" * 64, "text/csv")
    reponse = client.post(reverse("paiements:retour_importer"), {"fichier": classeur})
    assert reponse.status_code == 200
    assert "Ce fichier n&#x27;est pas un CSV (contenu binaire)" in reponse.content.decode()
    assert RetourPaiements.objects.count() == 0
    assert {recharger(avance(a)).statut for a in monde["actes"]} == {"exporte"}
