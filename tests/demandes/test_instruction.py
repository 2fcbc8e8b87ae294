"""Instruction state machines: every transition from every state, by role and scope; avis per financeur line."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from subventions.comptes.enums import Role
from subventions.demandes import services
from subventions.demandes.enums import StatutDemande, StatutLigne
from subventions.demandes.models import Demande, LigneFinancement
from tests.factories import FinanceurFactory, MembreFactory, TerritoireFactory, agent, demande_complete
from workflows.models import TransitionLog
from workflows.transitions import TransitionRefusee, transition_appliquer

pytestmark = pytest.mark.django_db


def _forcer(demande: Demande, statut: str) -> Demande:
    Demande.objects.filter(pk=demande.pk).update(statut=statut)
    return Demande.objects.get(pk=demande.pk)


@pytest.fixture
def monde():
    demande = demande_complete()
    etat = demande.campagne.financeurs.get(code="etat")
    ville = demande.campagne.financeurs.get(code="ville-test")
    LigneFinancement.objects.filter(demande=demande, financeur=ville).update(montant_demande=Decimal("1000.00"))
    from subventions.demandes.models import LigneBudget

    LigneBudget.objects.filter(demande=demande, compte="75").update(montant=Decimal("1000.00"))
    return {
        "demande": Demande.objects.get(pk=demande.pk),
        "etat": etat,
        "ville": ville,
        "rl": demande.cree_par,
        "instr_etat": agent(Role.INSTRUCTEUR, financeurs=[etat]),
        "instr_ville": agent(Role.INSTRUCTEUR, financeurs=[ville]),
        "instr_autre": agent(Role.INSTRUCTEUR, financeurs=[FinanceurFactory()]),
        "comite": agent(Role.COMITE, tous=True),
        "finance": agent(Role.FINANCE, tous=True),
    }


# transition → (allowed source states, who may take it)
TRANSITIONS = {
    "demander_complements": ({"deposee"}, "instr_etat"),
    "redeposer": ({"a_completer"}, "rl"),
    "declarer_irrecevable": ({"deposee", "a_completer"}, "instr_etat"),
    "declarer_recevable": ({"deposee"}, "instr_etat"),
    "inscrire": ({"instruite"}, "comite"),
    "desinscrire": ({"inscrite"}, "comite"),
    "valider": ({"inscrite"}, "comite"),
    "refuser": ({"inscrite"}, "comite"),
    "ajourner": ({"inscrite"}, "comite"),
    "representer": ({"ajournee"}, "comite"),
    "retirer": ({"brouillon", "deposee", "a_completer", "en_instruction", "instruite"}, "rl"),
    "classer_sans_suite": ({"deposee", "a_completer", "en_instruction", "instruite", "ajournee"}, "instr_etat"),
}


class _Annuler(Exception):
    pass


@pytest.mark.parametrize("transition", sorted(TRANSITIONS))
def test_each_transition_from_each_state(monde, transition):
    """Every source state, allowed and forbidden; each state is tried in a savepoint that is rolled back."""
    from django.db import transaction

    sources, qui = TRANSITIONS[transition]
    for statut in StatutDemande.values:
        try:
            with transaction.atomic():
                demande = _forcer(monde["demande"], statut)
                if statut in sources:
                    resultat = transition_appliquer(obj=demande, transition=transition, acteur=monde[qui])
                    assert resultat.statut != statut or transition == "redeposer", statut
                    log = TransitionLog.objects.get(object_id=demande.pk, transition=transition)
                    assert (log.source, log.acteur) == (statut, monde[qui]), statut
                else:
                    with pytest.raises(TransitionRefusee, match="pas possible dans l'état actuel"):
                        transition_appliquer(obj=demande, transition=transition, acteur=monde[qui])
                    assert Demande.objects.get(pk=demande.pk).statut == statut
                    assert not TransitionLog.objects.exists()
                raise _Annuler
        except _Annuler:
            pass


@pytest.mark.parametrize(
    ("transition", "statut", "intrus"),
    [
        ("declarer_recevable", "deposee", "instr_autre"),
        ("declarer_recevable", "deposee", "comite"),
        ("declarer_recevable", "deposee", "rl"),
        ("demander_complements", "deposee", "finance"),
        ("inscrire", "instruite", "instr_etat"),
        ("valider", "inscrite", "instr_etat"),
        ("retirer", "deposee", "instr_etat"),
        ("redeposer", "a_completer", "comite"),
    ],
)
def test_forbidden_roles_are_refused_in_french_and_nothing_changes(monde, transition, statut, intrus):
    demande = _forcer(monde["demande"], statut)
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        transition_appliquer(obj=demande, transition=transition, acteur=monde[intrus])
    assert Demande.objects.get(pk=demande.pk).statut == statut


def test_gestionnaire_cannot_withdraw(monde):
    gestionnaire = MembreFactory(porteur=monde["demande"].porteur, role="gestionnaire").user
    demande = _forcer(monde["demande"], "deposee")
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        transition_appliquer(obj=demande, transition="retirer", acteur=gestionnaire)


def test_instructeur_of_another_territoire_is_refused(monde):
    demande = _forcer(monde["demande"], "deposee")
    ailleurs = agent(Role.INSTRUCTEUR, financeurs=[monde["etat"]], territoires=[TerritoireFactory()])
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        services.demande_declarer_recevable(demande=demande, user=ailleurs)
    ici = TerritoireFactory()
    ici.qpvs.set(demande.qpvs.all())
    local = agent(Role.INSTRUCTEUR, financeurs=[monde["etat"]], territoires=[ici])
    assert services.demande_declarer_recevable(demande=demande, user=local).statut == "en_instruction"


def test_complements_round_trip_keeps_both_versions(monde):
    demande = services.demande_deposer(
        demande=monde["demande"], user=monde["rl"], nom="Aïcha Durand", qualite="Présidente",
        engagement_republicain=True, exactitude=True,
    )  # fmt: skip
    ancienne_description = demande.description
    with pytest.raises(TransitionRefusee, match="postérieure"):
        services.demande_demander_complements(
            demande=demande, user=monde["instr_etat"], message="RIB illisible", echeance=timezone.localdate()
        )
    echeance = timezone.localdate() + timedelta(days=10)
    demande = services.demande_demander_complements(
        demande=demande, user=monde["instr_etat"], message="RIB illisible", echeance=echeance
    )
    assert demande.statut == "a_completer" and demande.echeance_complements == echeance
    avant = demande.empreinte
    demande.description = "Description complétée à la demande de l'instructeur."
    demande.save()
    demande = services.demande_redeposer(demande=demande, user=monde["rl"])
    assert demande.statut == "deposee" and demande.echeance_complements is None
    log = TransitionLog.objects.get(object_id=demande.pk, transition="redeposer")
    assert log.extra["empreinte_avant"] == avant and log.extra["empreinte_apres"] == demande.empreinte != avant
    # Both versions of what changed are in the history, field by field.
    assert log.extra["changements"] == {
        "action.description": [ancienne_description, "Description complétée à la demande de l'instructeur."]
    }
    depot = TransitionLog.objects.get(object_id=demande.pk, transition="deposer")
    assert depot.extra["contenu"]["action"]["description"] == ancienne_description
    assert (
        TransitionLog.objects.get(object_id=demande.pk, transition="demander_complements").commentaire
        == "RIB illisible"
    )


def test_irrecevable_needs_a_reason(monde):
    demande = _forcer(monde["demande"], "deposee")
    with pytest.raises(TransitionRefusee, match="motif"):
        services.demande_declarer_irrecevable(demande=demande, user=monde["instr_etat"], motif=" ")
    demande = services.demande_declarer_irrecevable(demande=demande, user=monde["instr_etat"], motif="Hors QPV")
    assert demande.statut == "irrecevable"


def _ligne(monde, code):
    return LigneFinancement.objects.select_related("financeur", "demande").get(
        demande=monde["demande"], financeur=monde[code]
    )


def test_avis_per_line_and_instruite_when_every_line_has_its_avis(monde):
    _forcer(monde["demande"], "en_instruction")
    ligne_etat, ligne_ville = _ligne(monde, "etat"), _ligne(monde, "ville")
    # The Ville's instructeur never gives the État's avis.
    with pytest.raises(TransitionRefusee, match="pas le droit"):
        services.ligne_donner_avis(
            ligne=ligne_etat, user=monde["instr_ville"], avis="favorable", montant_propose=Decimal("5000"),
            motivation="", version=ligne_etat.version,
        )  # fmt: skip
    services.ligne_donner_avis(
        ligne=ligne_etat, user=monde["instr_etat"], avis="favorable", montant_propose=Decimal("6000.00"),
        motivation="Action structurante", version=ligne_etat.version,
    )  # fmt: skip
    assert Demande.objects.get(pk=monde["demande"].pk).statut == "en_instruction"
    services.ligne_donner_avis(
        ligne=ligne_ville, user=monde["instr_ville"], avis="defavorable", montant_propose=None,
        motivation="Hors priorités", version=ligne_ville.version,
    )  # fmt: skip
    assert Demande.objects.get(pk=monde["demande"].pk).statut == "instruite"
    ligne_etat.refresh_from_db()
    assert (ligne_etat.statut, ligne_etat.avis, ligne_etat.montant_propose) == (
        "avis_donne",
        "favorable",
        Decimal("6000.00"),
    )
    assert _ligne(monde, "ville").montant_propose == Decimal("0.00")


@pytest.mark.parametrize(
    ("montant", "message"),
    [("8000.01", "dépasse le montant demandé"), ("0", "supérieur à 0"), ("-1", "Indiquez le montant")],
)
def test_avis_amount_rules(monde, montant, message):
    _forcer(monde["demande"], "en_instruction")
    ligne = _ligne(monde, "etat")
    with pytest.raises(TransitionRefusee, match=message):
        services.ligne_donner_avis(
            ligne=ligne, user=monde["instr_etat"], avis="favorable", montant_propose=Decimal(montant), motivation="",
            version=ligne.version,
        )  # fmt: skip
    assert _ligne(monde, "etat").statut == StatutLigne.DEMANDEE


def test_avis_cannot_exceed_the_financeurs_maximum_share(monde):
    _forcer(monde["demande"], "en_instruction")
    LigneFinancement.objects.filter(pk=_ligne(monde, "etat").pk).update(montant_demande=Decimal("9000.00"))
    monde["etat"].part_max = Decimal("50")
    monde["etat"].save()
    ligne = _ligne(monde, "etat")  # charges of the action: 10 000 € → 50 % = 5 000 €
    with pytest.raises(TransitionRefusee, match="part maximale"):
        services.ligne_donner_avis(
            ligne=ligne, user=monde["instr_etat"], avis="favorable", montant_propose=Decimal("5000.01"),
            motivation="", version=ligne.version,
        )  # fmt: skip
    services.ligne_donner_avis(
        ligne=ligne, user=monde["instr_etat"], avis="reserve", montant_propose=Decimal("5000.00"),
        motivation="", version=ligne.version,
    )  # fmt: skip


def test_avis_only_while_in_instruction(monde):
    ligne = _ligne(monde, "etat")
    _forcer(monde["demande"], "deposee")
    with pytest.raises(TransitionRefusee, match="pas possible"):
        services.ligne_donner_avis(
            ligne=ligne, user=monde["instr_etat"], avis="favorable", montant_propose=Decimal("100"), motivation="",
            version=ligne.version,
        )  # fmt: skip


def test_a_stale_page_is_told_the_file_changed(monde):
    _forcer(monde["demande"], "en_instruction")
    ligne = _ligne(monde, "etat")
    vue_par_a, vue_par_b = ligne.version, ligne.version
    collegue = agent(Role.INSTRUCTEUR, financeurs=[monde["etat"]])
    services.ligne_donner_avis(
        ligne=ligne, user=monde["instr_etat"], avis="favorable", montant_propose=Decimal("4000"), motivation="",
        version=vue_par_a,
    )  # fmt: skip
    with pytest.raises(TransitionRefusee, match="changé entre-temps"):
        services.ligne_donner_avis(
            ligne=_ligne(monde, "etat"), user=collegue, avis="defavorable", montant_propose=None, motivation="",
            version=vue_par_b,
        )  # fmt: skip
    assert _ligne(monde, "etat").montant_propose == Decimal("4000.00")


@pytest.mark.django_db(transaction=True)
def test_two_instructeurs_at_the_same_moment_one_wins(postgres_only):
    import threading

    from django.db import connection

    demande = demande_complete()
    Demande.objects.filter(pk=demande.pk).update(statut="en_instruction")
    etat = demande.campagne.financeurs.get(code="etat")
    a, b = agent(Role.INSTRUCTEUR, financeurs=[etat]), agent(Role.INSTRUCTEUR, financeurs=[etat])
    ligne = LigneFinancement.objects.get(demande=demande, financeur=etat)
    version = ligne.version
    depart = threading.Barrier(2)
    resultats = []

    def agir(user, montant):
        try:
            depart.wait()
            services.ligne_donner_avis(
                ligne=LigneFinancement.objects.get(pk=ligne.pk), user=user, avis="favorable",
                montant_propose=Decimal(montant), motivation="", version=version,
            )  # fmt: skip
            resultats.append("ok")
        except TransitionRefusee as exc:
            resultats.append(str(exc))
        finally:
            connection.close()

    fils = [threading.Thread(target=agir, args=(a, "3000")), threading.Thread(target=agir, args=(b, "4000"))]
    for f in fils:
        f.start()
    for f in fils:
        f.join()
    assert sorted(resultats)[0] == "Le dossier a changé entre-temps : rechargez la page et recommencez."
    assert resultats.count("ok") == 1
    assert TransitionLog.objects.filter(transition="donner_avis").count() == 1
