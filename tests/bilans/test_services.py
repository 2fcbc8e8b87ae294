"""The compte-rendu's life: opened when the acte becomes executory, filled and deposited by the porteur (never by a
lecteur), sent back for corrections and deposited again, validated by the financeur's instructeur only; once every
action of the acte is validated, the solde is made due, reduced beyond the tolerance, or a reversement recorded."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from subventions.bilans import services
from subventions.bilans.models import CompteRendu, DecompteSolde
from subventions.comptes.enums import Role
from subventions.conventions.models import ActeAttribution
from subventions.conventions.signals import acte_executoire
from subventions.demandes.models import Demande
from subventions.paiements.models import Paiement, Reversement
from subventions.paiements.services import Criteres, liste_creer, paiement_payer
from tests.bilans import aides
from tests.factories import agent
from tests.paiements.aides import ville
from workflows.documents import document_courant
from workflows.models import TransitionLog
from workflows.transitions import TransitionRefusee

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def m():
    return aides.monde(taux_avance=D("80"))


def _solde(acte) -> Paiement:
    return Paiement.objects.get(echeancier__acte=acte, nature="solde")


# --- Opening --------------------------------------------------------------------------------------------------------


def test_an_executory_acte_opens_one_compte_rendu_per_action_with_the_forecast_copied(m):
    lf1, lf2 = aides.action(m), aides.action(m, intitule="Soutien scolaire", accorde="3000.00")
    acte = aides.acte(m, lf1, lf2)
    crs = list(CompteRendu.objects.filter(acte=acte).order_by("demande__numero"))
    assert [(c.demande_id, c.statut, c.montant_accorde) for c in crs] == [
        (lf1.demande_id, "a_deposer", D("8000.00")),
        (lf2.demande_id, "a_deposer", D("3000.00")),
    ]
    assert all(c.echeance.isoformat() == "2016-06-30" for c in crs)
    # The CERFA order: charges, then produits with line 74 (per financeur) before 75.
    assert [(lg.cle, lg.sens, lg.prevu) for lg in crs[0].lignes.order_by("ordre")] == [
        ("60", "charge", D("2000.00")),
        ("64", "charge", D("8000.00")),
        ("86", "charge", D("1000.00")),
        (f"74-{m.financeur.pk}", "produit", D("8000.00")),
        ("75", "produit", D("2000.00")),
        ("87", "produit", D("1000.00")),
    ]
    assert [(i.nom, i.cible, i.realise) for i in crs[0].indicateurs.all()] == [
        ("Participants réguliers", "30", ""),
        ("Restitution publique", "oui", ""),
    ]
    assert services.comptes_rendus_ouvrir(acte=acte) == []  # idempotent
    assert CompteRendu.objects.count() == 2


def test_an_acte_not_executory_opens_nothing(m):
    acte = aides.acte(m, aides.action(m), executoire=False)
    assert services.comptes_rendus_ouvrir(acte=acte) == []
    assert services.comptes_rendus_ouvrir_manquants() == 0


def test_signature_opens_the_comptes_rendus_after_commit(m, django_capture_on_commit_callbacks):
    acte = aides.acte(m, aides.action(m), executoire=False)
    ActeAttribution.objects.filter(pk=acte.pk).update(statut="signee")
    with django_capture_on_commit_callbacks(execute=True) as rappels:
        acte_executoire.send(sender=ActeAttribution, acte=ActeAttribution.objects.get(pk=acte.pk))
    assert len(rappels) == 1
    assert CompteRendu.objects.filter(acte=acte, statut="a_deposer").count() == 1


def test_the_catch_up_opens_those_missing(m):
    acte = aides.acte(m, aides.action(m), executoire=False)
    ActeAttribution.objects.filter(pk=acte.pk).update(statut="notifiee")
    assert services.comptes_rendus_ouvrir_manquants() == 1
    assert services.comptes_rendus_ouvrir_manquants() == 0


# --- The porteur ----------------------------------------------------------------------------------------------------


def test_a_lecteur_can_neither_save_nor_deposit(m):
    cr = aides.compte_rendu(aides.acte(m, aides.action(m)))
    with pytest.raises(PermissionDenied):
        services.compte_rendu_enregistrer(compte_rendu=cr, user=m.lecteur, saisie=aides.saisie(cr))
    cr = services.compte_rendu_enregistrer(compte_rendu=cr, user=m.gestionnaire, saisie=aides.saisie(cr))
    with pytest.raises(PermissionDenied):
        services.compte_rendu_deposer(compte_rendu=cr, user=m.lecteur)
    assert aides.recharger(cr).statut == "a_deposer"


def test_an_incomplete_compte_rendu_is_saved_but_not_deposited(m):
    cr = aides.compte_rendu(aides.acte(m, aides.action(m)))
    saisie = aides.saisie(cr, actions_realisees="", ecarts_expliques="")
    premiere = cr.lignes.order_by("ordre").first()
    saisie.realises[premiere.pk] = None
    cr = services.compte_rendu_enregistrer(compte_rendu=cr, user=m.representant, saisie=saisie)
    with pytest.raises(ValidationError) as erreur:
        services.compte_rendu_deposer(compte_rendu=cr, user=m.representant)
    assert erreur.value.messages == [
        "Montant réalisé à indiquer (0 si rien) pour : 60 – Achats.",
        "Décrivez les actions réalisées.",
    ]
    assert aides.recharger(cr).statut == "a_deposer"
    assert document_courant(cr, "compte_rendu_financier") is None


def test_a_gap_beyond_the_tolerance_must_be_explained(m):
    cr = aides.compte_rendu(aides.acte(m, aides.action(m)))
    cr = services.compte_rendu_enregistrer(
        compte_rendu=cr, user=m.representant, saisie=aides.saisie(cr, facteur="1.2", ecarts_expliques="")
    )
    with pytest.raises(ValidationError, match=r"s'écarte de 20 % du budget prévisionnel \(tolérance : 10 %\)"):
        services.compte_rendu_deposer(compte_rendu=cr, user=m.representant)


def test_deposit_refused_when_the_acte_is_no_longer_executory(m):
    acte = aides.acte(m, aides.action(m))
    cr = services.compte_rendu_enregistrer(
        compte_rendu=aides.compte_rendu(acte), user=m.gestionnaire, saisie=aides.saisie(aides.compte_rendu(acte))
    )
    ActeAttribution.objects.filter(pk=acte.pk).update(statut="resiliee")
    with pytest.raises(services.CompteRenduRefuse, match="n'est pas exécutoire"):
        services.compte_rendu_deposer(compte_rendu=cr, user=m.gestionnaire)


def test_a_stale_page_does_not_overwrite_a_newer_save(m):
    cr = aides.compte_rendu(aides.acte(m, aides.action(m)))
    vue = cr.version
    services.compte_rendu_enregistrer(compte_rendu=cr, user=m.gestionnaire, saisie=aides.saisie(cr), version=vue)
    with pytest.raises(services.CompteRenduRefuse, match="changé entre-temps"):
        services.compte_rendu_enregistrer(
            compte_rendu=cr, user=m.representant, saisie=aides.saisie(cr, actions_realisees="Autre"), version=vue
        )


def test_the_porteur_may_add_indicators_and_remove_them(m):
    cr = aides.compte_rendu(aides.acte(m, aides.action(m)))
    saisie = aides.saisie(cr)
    saisie.nouveaux_indicateurs = [("Familles accompagnées", "14"), ("", "ignoré")]
    cr = services.compte_rendu_enregistrer(compte_rendu=cr, user=m.gestionnaire, saisie=saisie)
    ajoute = cr.indicateurs.get(indicateur__isnull=True)
    assert (ajoute.nom, ajoute.cible, ajoute.realise) == ("Familles accompagnées", "", "14")
    services.compte_rendu_enregistrer(
        compte_rendu=cr, user=m.gestionnaire, saisie=services.Saisie(indicateurs={ajoute.pk: ("", "14")})
    )
    assert cr.indicateurs.count() == 2  # the demande's indicators stay


# --- Corrections loop -----------------------------------------------------------------------------------------------


def test_corrections_loop_then_a_new_pdf_version(m, mailoutbox, django_capture_on_commit_callbacks):
    cr = aides.deposer(aides.compte_rendu(aides.acte(m, aides.action(m))), m.gestionnaire)
    assert document_courant(cr, "compte_rendu_financier").version == 1
    with pytest.raises(services.CompteRenduRefuse, match="Indiquez ce que la structure doit corriger"):
        services.compte_rendu_demander_corrections(compte_rendu=cr, acteur=m.instructeur, commentaire="  ")
    with django_capture_on_commit_callbacks(execute=True):
        cr = services.compte_rendu_demander_corrections(
            compte_rendu=cr, acteur=m.instructeur, commentaire="Joignez les factures du compte 60."
        )
    assert (cr.statut, cr.commentaire_instructeur) == ("a_corriger", "Joignez les factures du compte 60.")
    assert len(mailoutbox) == 1
    assert "Joignez les factures du compte 60." in mailoutbox[0].body
    assert sorted(mailoutbox[0].to) == sorted(u.email for u in (m.representant, m.gestionnaire, m.lecteur))
    # The porteur corrects and deposits again: a second PDF, the first kept.
    cr = aides.deposer(cr, m.representant, facteur="0.95")
    assert cr.statut == "depose"
    assert document_courant(cr, "compte_rendu_financier").version == 2
    assert list(
        TransitionLog.objects.filter(object_id=cr.pk, content_type__model="compterendu").values_list(
            "transition", flat=True
        )
    ) == ["deposer", "demander_corrections", "redeposer"]


def test_a_deposited_compte_rendu_cannot_be_edited(m):
    cr = aides.deposer(aides.compte_rendu(aides.acte(m, aides.action(m))), m.gestionnaire)
    with pytest.raises(services.CompteRenduRefuse, match="ne peut plus être modifié"):
        services.compte_rendu_enregistrer(compte_rendu=cr, user=m.gestionnaire, saisie=aides.saisie(cr))


# --- Validation and the solde ---------------------------------------------------------------------------------------


def test_an_instructeur_of_another_financeur_cannot_validate(m):
    cr = aides.deposer(aides.compte_rendu(aides.acte(m, aides.action(m))), m.gestionnaire)
    autre = agent(Role.INSTRUCTEUR, financeurs=[ville()])
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        services.compte_rendu_valider(compte_rendu=cr, acteur=autre)
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        services.compte_rendu_demander_corrections(compte_rendu=cr, acteur=autre, commentaire="Non")
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        services.compte_rendu_valider(compte_rendu=cr, acteur=m.finance)
    assert aides.recharger(cr).statut == "depose"


def test_only_a_deposited_compte_rendu_is_validated(m):
    cr = aides.compte_rendu(aides.acte(m, aides.action(m)))
    with pytest.raises(TransitionRefusee):
        services.compte_rendu_valider(compte_rendu=cr, acteur=m.instructeur)


def test_the_solde_waits_until_every_action_of_the_acte_is_validated(m):
    lf1, lf2 = aides.action(m), aides.action(m, intitule="Soutien scolaire", accorde="2000.00")
    acte = aides.acte(m, lf1, lf2)
    aides.payer_avance(m, acte)  # 80 % of 10 000 €
    premier = aides.deposer(aides.compte_rendu(acte, lf1), m.gestionnaire)
    resultat = services.compte_rendu_valider(compte_rendu=premier, acteur=m.instructeur)
    assert resultat.decompte is None and [c.demande_id for c in resultat.en_attente] == [lf2.demande_id]
    assert _solde(acte).statut == "prevu" and not DecompteSolde.objects.exists()
    with pytest.raises(services.CompteRenduRefuse, match="doivent être validés"):
        services.solde_etablir(acte=acte, acteur=m.instructeur)
    second = aides.deposer(aides.compte_rendu(acte, lf2), m.gestionnaire)
    resultat = services.compte_rendu_valider(compte_rendu=second, acteur=m.instructeur)
    solde = _solde(acte)
    assert (solde.statut, solde.montant) == ("a_payer", D("2000.00"))
    decompte = resultat.decompte
    assert (decompte.montant_attribue, decompte.montant_du, decompte.deja_verse) == (
        D("10000.00"),
        D("10000.00"),
        D("8000.00"),
    )
    assert decompte.solde == solde and decompte.etabli_par == m.instructeur
    assert services.solde_etablir(acte=acte, acteur=m.instructeur) == decompte  # written once


@pytest.mark.parametrize(
    ("facteur", "retenu", "solde"),
    [
        ("0.90", "8000.00", "1600.00"),  # 10 % under: within the tolerance, the full grant
        ("0.89", "7120.00", "720.00"),  # 11 % under: 8000 × 0.89, less the 6 400 € advance
    ],
)
def test_reduction_beyond_the_tolerance_both_sides_of_the_threshold(m, facteur, retenu, solde):
    acte = aides.acte(m, aides.action(m))
    aides.payer_avance(m, acte)
    cr = aides.deposer(aides.compte_rendu(acte), m.gestionnaire, facteur=facteur)
    resultat = services.compte_rendu_valider(compte_rendu=cr, acteur=m.instructeur)
    cr = aides.recharger(cr)
    assert (cr.statut, cr.montant_retenu, cr.cout_prevu) == ("valide", D(retenu), D("10000.00"))
    assert resultat.decompte.montant_du == D(retenu)
    assert (_solde(acte).statut, _solde(acte).montant) == ("a_payer", D(solde))
    assert not Reversement.objects.exists()


def test_overpaid_advance_gives_a_reversement(m):
    acte = aides.acte(m, aides.action(m))
    aides.payer_avance(m, acte)  # 6 400 € paid
    cr = aides.deposer(aides.compte_rendu(acte), m.gestionnaire, facteur="0.60")
    resultat = services.compte_rendu_valider(compte_rendu=cr, acteur=m.instructeur)
    assert aides.recharger(cr).montant_retenu == D("4800.00")
    reversement = Reversement.objects.get()
    assert (reversement.acte, reversement.montant, reversement.statut) == (acte, D("1600.00"), "a_emettre")
    assert "Réduction pour sous-réalisation" in reversement.motif
    assert _solde(acte).statut == "annule"
    assert resultat.decompte.reversement == reversement and resultat.decompte.solde is None


def test_an_unpaid_advance_holds_the_solde_until_it_is_paid(m, django_capture_on_commit_callbacks):
    acte = aides.acte(m, aides.action(m))
    cr = aides.deposer(aides.compte_rendu(acte), m.gestionnaire)
    resultat = services.compte_rendu_valider(compte_rendu=cr, acteur=m.instructeur)
    # The validation stands; the finance side refused to settle with the advance still due.
    assert aides.recharger(cr).statut == "valide"
    assert resultat.decompte is None and "pas encore réglé" in resultat.blocage
    assert _solde(acte).statut == "prevu"
    avance = Paiement.objects.get(echeancier__acte=acte, nature="avance")
    liste_creer(criteres=Criteres(financeur=m.financeur), acteur=m.finance)
    with django_capture_on_commit_callbacks(execute=True):
        paiement_payer(
            paiement=Paiement.objects.get(pk=avance.pk), acteur=m.finance, reference="V1", date=timezone.localdate()
        )
    decompte = DecompteSolde.objects.get(acte=acte)
    assert decompte.etabli_par is None  # settled by the system once the advance was paid
    assert (_solde(acte).statut, _solde(acte).montant) == ("a_payer", D("1600.00"))


@pytest.mark.skipif(
    not hasattr(Demande, services.TRANSITION_DEMANDE),
    reason="The Demande workflow has no conventionnee → bilan_depose transition yet.",
)
def test_validation_moves_the_demande_to_bilan_depose(m):
    lf = aides.action(m)
    acte = aides.acte(m, lf)
    aides.payer_avance(m, acte)
    services.compte_rendu_valider(
        compte_rendu=aides.deposer(aides.compte_rendu(acte), m.gestionnaire), acteur=m.instructeur
    )
    assert Demande.objects.get(pk=lf.demande_id).statut == "bilan_depose"


def test_validation_tells_the_porteur_the_amount_retained(m, mailoutbox, django_capture_on_commit_callbacks):
    acte = aides.acte(m, aides.action(m))
    aides.payer_avance(m, acte)
    cr = aides.deposer(aides.compte_rendu(acte), m.gestionnaire, facteur="0.85")
    with django_capture_on_commit_callbacks(execute=True):
        services.compte_rendu_valider(compte_rendu=cr, acteur=m.instructeur)
    assert len(mailoutbox) == 1
    corps = mailoutbox[0].body
    assert "Subvention retenue : 6\u00a0800,00\u00a0€" in corps
    assert "réduite de 1\u00a0200,00\u00a0€" in corps
