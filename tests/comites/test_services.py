"""Comité services: ordre du jour, decisions per line, the enveloppe rule (with a PostgreSQL race), closing."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from subventions.comites import services
from subventions.comites.models import DecisionLigne, LettreDecision, PointOrdreDuJour, Seance
from subventions.comites.selectors import lettres_du_porteur
from subventions.demandes.models import Demande
from tests.comites.aides import campagne_de_test, instruite, ligne, seance_de_test, secretaire
from tests.factories import EnveloppeFactory, MembreFactory, PorteurFactory
from workflows.models import Courriel, Document, TransitionLog
from workflows.transitions import TransitionRefusee

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    campagne, etat, ville, pilier = campagne_de_test()
    comite = secretaire(etat, ville)
    return {
        "campagne": campagne,
        "etat": etat,
        "ville": ville,
        "pilier": pilier,
        "comite": comite,
        "seance": seance_de_test(campagne, comite),
    }


def _statut(obj) -> str:
    return type(obj).objects.get(pk=obj.pk).statut


def test_adding_to_the_agenda_inscribes_the_demande_and_each_asked_line(monde):
    demande = instruite(monde["campagne"], ville=Decimal("1000.00"))
    seul_etat = instruite(monde["campagne"])
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[demande, seul_etat])
    assert _statut(demande) == _statut(seul_etat) == "inscrite"
    assert ligne(demande).statut == ligne(demande, "ville-test").statut == "inscrite"
    assert ligne(seul_etat, "ville-test").statut == "demandee"  # not asked: nothing to decide
    assert list(monde["seance"].points.values_list("demande", flat=True)) == [demande.pk, seul_etat.pk]


def test_only_instruite_demandes_and_one_open_seance_at_a_time(monde):
    demande = instruite(monde["campagne"])
    Demande.objects.filter(pk=demande.pk).update(statut="en_instruction")
    with pytest.raises(TransitionRefusee, match="pas possible dans l'état actuel"):
        services.odj_ajouter(
            seance=monde["seance"], user=monde["comite"], demandes=[Demande.objects.get(pk=demande.pk)]
        )
    Demande.objects.filter(pk=demande.pk).update(statut="instruite")
    demande = Demande.objects.get(pk=demande.pk)
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[demande])
    autre = seance_de_test(monde["campagne"], monde["comite"])
    with pytest.raises(TransitionRefusee):
        services.odj_ajouter(seance=autre, user=monde["comite"], demandes=[Demande.objects.get(pk=demande.pk)])
    assert PointOrdreDuJour.objects.filter(demande=demande).count() == 1


def test_a_comite_of_another_financeur_cannot_touch_the_seance(monde):
    from tests.factories import FinanceurFactory

    intrus = secretaire(FinanceurFactory(code="region", nom="Région"))
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        services.odj_ajouter(seance=monde["seance"], user=intrus, demandes=[instruite(monde["campagne"])])


def test_removing_from_the_agenda_puts_the_demande_back(monde):
    demande = instruite(monde["campagne"])
    (point,) = services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[demande])
    services.odj_retirer(seance=monde["seance"], user=monde["comite"], point=point)
    assert _statut(demande) == "instruite" and ligne(demande).statut == "avis_donne"
    assert not PointOrdreDuJour.objects.exists()


def test_a_decided_demande_stays_on_the_agenda(monde):
    demande = instruite(monde["campagne"])
    (point,) = services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[demande])
    services.decider_ligne(seance=monde["seance"], user=monde["comite"], ligne=ligne(demande), decision="refusee")
    with pytest.raises(TransitionRefusee, match="déjà été prise"):
        services.odj_retirer(seance=monde["seance"], user=monde["comite"], point=point)


@pytest.mark.parametrize(
    ("montant", "message"),
    [("8000.01", "dépasse le montant demandé"), ("0", "supérieur à 0"), (None, "Indiquez le montant")],
)
def test_amount_rules(monde, montant, message):
    demande = instruite(monde["campagne"])
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[demande])
    with pytest.raises(TransitionRefusee, match=message):
        services.decider_ligne(
            seance=monde["seance"], user=monde["comite"], ligne=ligne(demande), decision="accordee", montant=montant
        )
    assert ligne(demande).statut == "inscrite"


def test_the_comite_may_vote_above_the_proposal_up_to_the_amount_asked(monde):
    demande = instruite(monde["campagne"], propose=Decimal("3000.00"))
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[demande])
    services.decider_ligne(
        seance=monde["seance"], user=monde["comite"], ligne=ligne(demande), decision="accordee", montant="8000"
    )
    assert (ligne(demande).statut, ligne(demande).montant_accorde) == ("accordee", Decimal("8000.00"))


def test_the_villes_comite_never_decides_the_etats_line(monde):
    demande = instruite(monde["campagne"], ville=Decimal("1000.00"))
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[demande])
    comite_ville = secretaire(monde["ville"])
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        services.decider_ligne(
            seance=monde["seance"], user=comite_ville, ligne=ligne(demande), decision="accordee", montant="100"
        )
    services.decider_ligne(
        seance=monde["seance"], user=comite_ville, ligne=ligne(demande, "ville-test"), decision="accordee",
        montant="1000",
    )  # fmt: skip
    assert ligne(demande).statut == "inscrite"


def test_the_enveloppe_is_never_overcommitted_and_the_message_names_the_overrun(monde):
    from subventions.campagnes.models import Enveloppe

    Enveloppe.objects.filter(financeur=monde["etat"]).update(montant=Decimal("10000.00"))
    a, b = instruite(monde["campagne"]), instruite(monde["campagne"])
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[a, b])
    services.decider_ligne(
        seance=monde["seance"], user=monde["comite"], ligne=ligne(a), decision="accordee", montant="6000"
    )
    with pytest.raises(TransitionRefusee) as exc:
        services.decider_ligne(
            seance=monde["seance"], user=monde["comite"], ligne=ligne(b), decision="accordee", montant="6000"
        )
    message = str(exc.value).replace("\u00a0", " ")
    assert "Enveloppe dépassée pour État" in message
    assert "Appel à projets 2015" in message and "10 000,00 €" in message
    assert "6 000,00 € sont déjà accordés" in message and "dépasserait de 2 000,00 €" in message
    assert ligne(b).statut == "inscrite" and ligne(b).montant_accorde is None
    # Changing an existing grant counts the line once: lowering a's grant frees room for b.
    services.decider_ligne(
        seance=monde["seance"], user=monde["comite"], ligne=ligne(a), decision="accordee", montant="4000"
    )
    services.decider_ligne(
        seance=monde["seance"], user=monde["comite"], ligne=ligne(b), decision="accordee", montant="6000"
    )
    assert services.montant_engage(campagne_id=monde["campagne"].pk, financeur_id=monde["etat"].pk) == Decimal(
        "10000.00"
    )


def test_no_grant_without_an_enveloppe():
    campagne, etat, ville, _pilier = campagne_de_test(enveloppe_etat=None)
    comite = secretaire(etat)
    seance = seance_de_test(campagne, comite, financeurs=[etat])
    demande = instruite(campagne)
    services.odj_ajouter(seance=seance, user=comite, demandes=[demande])
    with pytest.raises(TransitionRefusee, match="Aucune enveloppe n'est ouverte pour État"):
        services.decider_ligne(seance=seance, user=comite, ligne=ligne(demande), decision="accordee", montant="10")


def test_bulk_accepts_every_proposal_then_exceptions_one_by_one(monde):
    favorable = instruite(monde["campagne"], ville=Decimal("1000.00"))
    reserve = instruite(monde["campagne"], avis="reserve", propose=Decimal("2500.00"))
    defavorable = instruite(monde["campagne"], avis="defavorable")
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[favorable, reserve, defavorable])
    assert services.decider_en_bloc(seance=monde["seance"], user=monde["comite"]) == 4
    assert (ligne(favorable).statut, ligne(favorable).montant_accorde) == ("accordee", Decimal("6000.00"))
    assert ligne(favorable, "ville-test").montant_accorde == Decimal("1000.00")
    assert (ligne(reserve).statut, ligne(reserve).montant_accorde) == ("accordee", Decimal("2500.00"))
    assert (ligne(defavorable).statut, ligne(defavorable).montant_accorde) == ("refusee", None)
    services.decider_ligne(seance=monde["seance"], user=monde["comite"], ligne=ligne(reserve), decision="ajournee")
    # A second bulk run leaves the exceptions alone.
    assert services.decider_en_bloc(seance=monde["seance"], user=monde["comite"]) == 0
    assert ligne(reserve).statut == "ajournee"


def test_bulk_is_all_or_nothing_when_the_enveloppe_would_be_exceeded(monde):
    from subventions.campagnes.models import Enveloppe

    Enveloppe.objects.filter(financeur=monde["etat"]).update(montant=Decimal("10000.00"))
    a, b = instruite(monde["campagne"]), instruite(monde["campagne"])
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[a, b])
    with pytest.raises(TransitionRefusee, match="dépasserait de 2"):
        services.decider_en_bloc(seance=monde["seance"], user=monde["comite"])
    assert ligne(a).statut == ligne(b).statut == "inscrite"


def test_closing_needs_every_line_decided(monde):
    demande = instruite(monde["campagne"])
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[demande])
    with pytest.raises(TransitionRefusee, match=f"pas encore de décision : {demande.numero} \\(État\\)"):
        services.seance_cloturer(seance=monde["seance"], user=monde["comite"])
    assert _statut(monde["seance"]) == "ouverte"


def test_closing_moves_each_demande_freezes_decisions_and_issues_pv_and_one_letter_per_porteur(
    monde, django_capture_on_commit_callbacks
):
    porteur = PorteurFactory(nom="Les Amis du Panier")
    validee = instruite(monde["campagne"], porteur=porteur, ville=Decimal("1000.00"))
    refusee = instruite(monde["campagne"], porteur=porteur, avis="defavorable", intitule="Fête de quartier")
    ajournee = instruite(monde["campagne"])
    seance = monde["seance"]
    services.odj_ajouter(seance=seance, user=monde["comite"], demandes=[validee, refusee, ajournee])
    services.decider_en_bloc(seance=seance, user=monde["comite"])
    services.decider_ligne(seance=seance, user=monde["comite"], ligne=ligne(validee, "ville-test"), decision="refusee")
    services.decider_ligne(seance=seance, user=monde["comite"], ligne=ligne(ajournee), decision="ajournee")
    with django_capture_on_commit_callbacks(execute=False):
        close = services.seance_cloturer(seance=seance, user=monde["comite"])
    assert close.statut == "close" and close.closed_by == monde["comite"] and close.closed_at
    assert (_statut(validee), _statut(refusee), _statut(ajournee)) == ("validee", "refusee", "instruite")
    assert TransitionLog.objects.filter(object_id=ajournee.pk, transition__in=["ajourner", "representer"]).count() == 2
    figees = {(d.ligne.demande_id, d.financeur.code): (d.decision, d.montant) for d in DecisionLigne.objects.all()}
    assert figees == {
        (validee.pk, "etat"): ("accordee", Decimal("6000.00")),
        (validee.pk, "ville-test"): ("refusee", None),
        (refusee.pk, "etat"): ("refusee", None),
        (ajournee.pk, "etat"): ("ajournee", None),
    }
    pv = Document.objects.get(nature="proces_verbal", object_id=seance.pk)
    import hashlib

    assert hashlib.sha256(pv.fichier.read()).hexdigest() == pv.sha256
    # One letter per porteur: the porteur of two demandes gets one letter, listing both.
    assert LettreDecision.objects.filter(seance=seance).count() == 2
    assert [d.lettre_decision.seance_id for d in lettres_du_porteur(porteur)] == [seance.pk]
    assert Courriel.objects.filter(modele__startswith="comites.lettre_decision.").count() == 2
    # Decisions are frozen.
    with pytest.raises(TransitionRefusee, match="close"):
        services.decider_ligne(seance=seance, user=monde["comite"], ligne=ligne(validee), decision="refusee")
    # Closing twice does nothing more: no new document, no new letter, no new log.
    documents, logs = Document.objects.count(), TransitionLog.objects.count()
    services.seance_cloturer(seance=Seance.objects.get(pk=seance.pk), user=monde["comite"])
    services.seance_cloturer(seance=seance, user=monde["comite"])  # a stale page still showing "ouverte"
    assert (Document.objects.count(), TransitionLog.objects.count()) == (documents, logs)


def test_an_ajournee_demande_is_decided_by_a_later_seance(monde):
    demande = instruite(monde["campagne"])
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[demande])
    services.decider_ligne(seance=monde["seance"], user=monde["comite"], ligne=ligne(demande), decision="ajournee")
    services.seance_cloturer(seance=monde["seance"], user=monde["comite"])
    suivante = seance_de_test(monde["campagne"], monde["comite"])
    services.odj_ajouter(seance=suivante, user=monde["comite"], demandes=[Demande.objects.get(pk=demande.pk)])
    assert services.decider_en_bloc(seance=suivante, user=monde["comite"]) == 1
    services.seance_cloturer(seance=suivante, user=monde["comite"])
    assert _statut(demande) == "validee"
    assert DecisionLigne.objects.get(seance=suivante).montant == Decimal("6000.00")


def test_letters_are_listed_for_their_porteur_only(monde):
    a, b = instruite(monde["campagne"]), instruite(monde["campagne"])
    services.odj_ajouter(seance=monde["seance"], user=monde["comite"], demandes=[a, b])
    services.decider_en_bloc(seance=monde["seance"], user=monde["comite"])
    services.seance_cloturer(seance=monde["seance"], user=monde["comite"])
    (lettre,) = lettres_du_porteur(a.porteur)
    assert lettre.lettre_decision.porteur == a.porteur
    assert not lettres_du_porteur(MembreFactory().porteur).exists()


@pytest.mark.django_db(transaction=True)
def test_two_seances_granting_at_the_same_moment_never_exceed_the_enveloppe(postgres_only):
    campagne, etat, _ville, _pilier = campagne_de_test(enveloppe_etat=None)
    EnveloppeFactory(campagne=campagne, financeur=etat, montant=Decimal("10000.00"))
    comite_a, comite_b = secretaire(etat), secretaire(etat)
    seance_a = seance_de_test(campagne, comite_a, financeurs=[etat])
    seance_b = seance_de_test(campagne, comite_b, financeurs=[etat])
    da, db = instruite(campagne), instruite(campagne)
    services.odj_ajouter(seance=seance_a, user=comite_a, demandes=[da])
    services.odj_ajouter(seance=seance_b, user=comite_b, demandes=[db])
    depart = threading.Barrier(2)
    resultats = []

    def accorder(seance, user, demande):
        try:
            depart.wait()
            services.decider_ligne(seance=seance, user=user, ligne=ligne(demande), decision="accordee", montant="6000")
            resultats.append("ok")
        except TransitionRefusee as exc:
            resultats.append(str(exc))
        finally:
            connection.close()

    fils = [
        threading.Thread(target=accorder, args=(seance_a, comite_a, da)),
        threading.Thread(target=accorder, args=(seance_b, comite_b, db)),
    ]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    assert resultats.count("ok") == 1, resultats
    (refus,) = [r for r in resultats if r != "ok"]
    assert "Enveloppe dépassée pour État" in refus and "dépasserait de 2" in refus
    assert services.montant_engage(campagne_id=campagne.pk, financeur_id=etat.pk) == Decimal("6000.00")
