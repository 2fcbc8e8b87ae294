"""Listes de paiements: created atomically with their files, a payment in one active liste only (a database rule, also
under concurrency), blocked bank details, cancellation, rejected payments paid again in a new liste."""

from __future__ import annotations

import datetime
import threading
import uuid
from decimal import Decimal

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from associations.models import Porteur
from subventions.paiements import exports
from subventions.paiements.models import LigneListe, ListePaiements, Paiement
from subventions.paiements.services import (
    Criteres,
    PaiementRefuse,
    RienAPayer,
    liste_annuler,
    liste_creer,
    paiement_payer,
    paiement_rejeter,
    paiement_reprendre,
)
from tests.factories import PorteurFactory
from tests.paiements.aides import acte, avance, etat, finance, recharger, ville
from workflows.documents import document_courant
from workflows.models import Document, TransitionLog

pytestmark = pytest.mark.django_db


def _monde(n: int = 3):
    financeur = etat()
    actes = [acte(financeur, f"{1000 * (i + 1)}.00") for i in range(n)]
    return financeur, actes, finance(financeur)


def test_a_liste_takes_every_due_payment_and_marks_them_exported():
    financeur, actes, user = _monde()
    resultat = liste_creer(criteres=Criteres(financeur=financeur), acteur=user)
    liste = resultat.liste
    assert liste.numero.startswith("LP-ETAT-") and liste.nb_paiements == 3
    assert liste.montant_total == Decimal("3000.00")  # the three advances: 500 + 1000 + 1500
    assert liste.cree_par == user and not resultat.bloques
    assert {recharger(avance(a)).statut for a in actes} == {"exporte"}
    assert LigneListe.objects.filter(liste=liste, active=True).count() == 3
    assert {d.nature for d in Document.objects.filter(object_id=liste.pk)} == {
        "liste_paiements_csv",
        "liste_paiements_xlsx",
        "liste_paiements_sepa",
    }
    assert TransitionLog.objects.filter(transition="exporter", acteur=user).count() == 3


def test_filters_narrow_the_liste_to_a_campagne_a_due_date_and_a_porteur():
    financeur, actes, user = _monde()
    autre = acte(financeur, "4000.00", porteur=PorteurFactory(nom="Les Jardins de Noailles"), exercice=2016)
    Paiement.objects.filter(pk=avance(actes[0]).pk).update(echeance=datetime.date(2030, 1, 1))
    liste = liste_creer(
        criteres=Criteres(financeur=financeur, echeance_max=datetime.date(2029, 12, 31), porteur="jardins"),
        acteur=user,
    ).liste
    assert [lg.paiement_id for lg in liste.lignes.all()] == [avance(autre).pk]
    liste = liste_creer(criteres=Criteres(financeur=financeur, campagne=actes[1].campagne), acteur=user).liste
    assert [lg.paiement_id for lg in liste.lignes.all()] == [avance(actes[1]).pk]
    assert liste.criteres["campagne"] == actes[1].campagne.titre


def test_an_invalid_or_missing_iban_blocks_the_payment_with_its_reason():
    financeur, (bon, sans_iban, faux), user = _monde()
    Porteur.objects.filter(pk=sans_iban.porteur_id).update(iban="")
    Porteur.objects.filter(pk=faux.porteur_id).update(iban="FR7630001007941234567890186")
    resultat = liste_creer(criteres=Criteres(financeur=financeur), acteur=user)
    assert [lg.paiement_id for lg in resultat.liste.lignes.all()] == [avance(bon).pk]
    motifs = {p.pk: m for p, m in resultat.bloques}
    assert motifs[avance(sans_iban).pk].startswith("IBAN manquant")
    assert motifs[avance(faux).pk].startswith("IBAN invalide")
    assert recharger(avance(faux)).statut == "a_payer"
    with pytest.raises(RienAPayer) as exc:
        liste_creer(criteres=Criteres(financeur=financeur), acteur=user)
    assert "2 paiement(s) bloqué(s)" in str(exc.value) and len(exc.value.bloques) == 2


def test_nothing_due_creates_no_liste():
    financeur = etat()
    with pytest.raises(RienAPayer, match="Aucun paiement à payer pour État"):
        liste_creer(criteres=Criteres(financeur=financeur), acteur=finance(financeur))
    assert not ListePaiements.objects.exists()


def test_the_same_form_key_twice_gives_one_liste():
    financeur, actes, user = _monde()
    cle = uuid.uuid4()
    premiere = liste_creer(criteres=Criteres(financeur=financeur), acteur=user, cle=cle)
    acte(financeur, "500.00")  # a new payment due meanwhile does not matter: same key, same liste
    seconde = liste_creer(criteres=Criteres(financeur=financeur), acteur=user, cle=cle)
    assert seconde.existante and seconde.liste.pk == premiere.liste.pk
    assert ListePaiements.objects.count() == 1


def test_the_database_refuses_a_payment_in_two_active_listes():
    financeur, (un, *_r), user = _monde()
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    autre = ListePaiements.objects.create(
        financeur=financeur, numero="LP-AUTRE", montant_total=Decimal("1"), date_execution=timezone.localdate()
    )
    with pytest.raises(IntegrityError), transaction.atomic():
        LigneListe.objects.create(liste=autre, paiement=avance(un), montant=Decimal("1"), iban="X")
    liste_annuler(liste=liste, acteur=user, motif="Erreur de date")
    LigneListe.objects.create(liste=autre, paiement=avance(un), montant=Decimal("1"), iban="X")  # released: allowed


@pytest.mark.parametrize("ecrivain", ["csv_liste", "xlsx_liste", "sepa_liste"])
def test_a_crash_while_writing_a_file_leaves_no_liste_and_no_payment_marked(monkeypatch, ecrivain):
    financeur, actes, user = _monde()

    def panne(*args, **kwargs):
        raise OSError("disque plein")

    monkeypatch.setattr(exports, ecrivain, panne)
    with pytest.raises(OSError, match="disque plein"):
        liste_creer(criteres=Criteres(financeur=financeur), acteur=user)
    assert not ListePaiements.objects.exists() and not LigneListe.objects.exists()
    assert not Document.objects.exists()
    assert {recharger(avance(a)).statut for a in actes} == {"a_payer"}
    assert not TransitionLog.objects.filter(transition="exporter").exists()
    monkeypatch.undo()
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    assert liste.numero.endswith("-0001"), "the rolled back number is given again"


def test_cancelling_a_liste_releases_its_payments_for_another_one():
    financeur, actes, user = _monde()
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    with pytest.raises(PaiementRefuse, match="motif"):
        liste_annuler(liste=liste, acteur=user, motif=" ")
    liste_annuler(liste=liste, acteur=user, motif="La banque a refusé le fichier")
    liste = ListePaiements.objects.get(pk=liste.pk)
    assert liste.statut == "annulee" and liste.annulee_le and liste.motif_annulation.startswith("La banque")
    assert {recharger(avance(a)).statut for a in actes} == {"a_payer"}
    assert not LigneListe.objects.filter(liste=liste, active=True).exists()
    nouvelle = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    assert nouvelle.nb_paiements == 3 and nouvelle.pk != liste.pk


def test_a_liste_with_a_paid_payment_cannot_be_cancelled():
    financeur, actes, user = _monde()
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    paiement_payer(paiement=avance(actes[0]), acteur=user, reference="VIR-1", date=timezone.localdate())
    with pytest.raises(PaiementRefuse, match="déjà payés"):
        liste_annuler(liste=liste, acteur=user, motif="Trop tard")
    assert ListePaiements.objects.get(pk=liste.pk).statut == "emise"


def test_a_rejected_payment_is_paid_again_in_a_new_liste_once_the_iban_is_fixed():
    financeur, (un, *_r), user = _monde(1)
    premiere = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    paiement_rejeter(paiement=avance(un), acteur=user, motif="Compte clos")
    Porteur.objects.filter(pk=un.porteur_id).update(iban="")
    with pytest.raises(PaiementRefuse, match="reste bloqué : IBAN manquant"):
        paiement_reprendre(paiement=avance(un), acteur=user)
    Porteur.objects.filter(pk=un.porteur_id).update(iban="FR7610071000010000000000140", bic="")
    paiement_reprendre(paiement=avance(un), acteur=user)
    assert recharger(avance(un)).statut == "a_payer" and recharger(avance(un)).motif_rejet == "Compte clos"
    seconde = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    assert seconde.lignes.get().iban == "FR7610071000010000000000140"
    assert premiere.lignes.get().active is False and premiere.lignes.get().iban != seconde.lignes.get().iban


def test_another_financeurs_finance_user_cannot_export_its_payments():
    financeur, actes, _user = _monde(1)
    intrus = finance(ville())
    with pytest.raises(PaiementRefuse, match="pas le droit de payer pour État"):
        liste_creer(criteres=Criteres(financeur=financeur), acteur=intrus)
    assert not ListePaiements.objects.exists()
    assert recharger(avance(actes[0])).statut == "a_payer"


def test_a_liste_of_a_financeur_without_sepa_account_has_csv_and_xlsx_only():
    financeur = ville()
    acte(financeur, "2000.00")
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=finance(financeur)).liste
    assert document_courant(liste, "liste_paiements_csv") and document_courant(liste, "liste_paiements_xlsx")
    assert document_courant(liste, "liste_paiements_sepa") is None


@pytest.mark.django_db(transaction=True)
def test_two_finance_users_creating_listes_at_once_never_export_a_payment_twice(postgres_only):
    financeur = etat()
    actes = [acte(financeur, "1000.00") for _ in range(12)]
    utilisateurs = [finance(financeur), finance(financeur), finance(financeur)]
    barriere = threading.Barrier(len(utilisateurs))
    resultats, erreurs = [], []

    def creer(user):
        try:
            barriere.wait()
            resultats.append(liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste.pk)
        except RienAPayer:
            resultats.append(None)
        except Exception as exc:  # pragma: no cover - reported below
            erreurs.append(exc)
        finally:
            connection.close()

    fils = [threading.Thread(target=creer, args=(u,)) for u in utilisateurs]
    for fil in fils:
        fil.start()
    for fil in fils:
        fil.join()
    assert not erreurs, erreurs
    assert len([r for r in resultats if r]) >= 1
    for objet in actes:
        paiement = avance(objet)
        assert paiement.statut == "exporte"
        assert LigneListe.objects.filter(paiement=paiement, active=True).count() == 1
        assert TransitionLog.objects.filter(object_id=paiement.pk, transition="exporter").count() == 1
    assert sum(ListePaiements.objects.values_list("nb_paiements", flat=True)) == 12
    assert len(set(ListePaiements.objects.values_list("numero", flat=True))) == ListePaiements.objects.count()


@pytest.mark.django_db(transaction=True)
def test_a_double_submit_at_the_same_moment_gives_one_liste(postgres_only):
    financeur = etat()
    for _ in range(5):
        acte(financeur, "1000.00")
    user = finance(financeur)
    cle = uuid.uuid4()
    barriere = threading.Barrier(2)
    resultats, erreurs = [], []

    def soumettre():
        try:
            barriere.wait()
            resultats.append(liste_creer(criteres=Criteres(financeur=financeur), acteur=user, cle=cle).liste.pk)
        except Exception as exc:  # pragma: no cover - reported below
            erreurs.append(exc)
        finally:
            connection.close()

    fils = [threading.Thread(target=soumettre) for _ in range(2)]
    for fil in fils:
        fil.start()
    for fil in fils:
        fil.join()
    assert not erreurs, erreurs
    assert len(set(resultats)) == 1 and ListePaiements.objects.count() == 1


def test_a_storage_failure_on_the_second_file_leaves_no_file_behind(monkeypatch, settings):
    from subventions.paiements import services

    financeur, actes, user = _monde()
    vrai = services.document_enregistrer
    appels = []

    def enregistrer(**kwargs):
        appels.append(kwargs["nature"])
        if len(appels) == 2:
            raise OSError("stockage indisponible")
        return vrai(**kwargs)

    monkeypatch.setattr(services, "document_enregistrer", enregistrer)
    with pytest.raises(OSError, match="stockage indisponible"):
        liste_creer(criteres=Criteres(financeur=financeur), acteur=user)
    fichiers = [p for p in (settings.MEDIA_ROOT / "documents").rglob("*") if p.is_file()]
    assert appels[:2] == ["liste_paiements_csv", "liste_paiements_xlsx"] and not fichiers
    assert not ListePaiements.objects.exists() and not Document.objects.exists()
    assert {recharger(avance(a)).statut for a in actes} == {"a_payer"}
