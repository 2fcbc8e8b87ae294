"""The national scale of the demo, run at a hundredth of its size on the test database: counts, the invariants of the
bulk-written conventions and payments, determinism, idempotence, and the staff pages over it."""

from __future__ import annotations

import io
import random
from collections import defaultdict
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db.models import Count, F, Q, Sum
from django.test import Client

from associations.models import Porteur
from subventions import demo_national
from subventions.comites.models import DecisionLigne, PointOrdreDuJour, Seance
from subventions.comptes.models import User
from subventions.conventions.models import ActeAttribution, ActeLigne, CompteurActes, StatutActe
from subventions.conventions.services import lignes_a_conventionner, nature_pour
from subventions.demandes.enums import StatutDemande, StatutLigne
from subventions.demandes.models import Demande, LigneFinancement
from subventions.demandes.services import empreinte_dossier
from subventions.demo_demandes import siret_demo
from subventions.paiements.enums import NaturePaiement, StatutPaiement
from subventions.paiements.models import Echeancier, LigneListe, ListePaiements, Paiement
from subventions.referentiel.models import QPV, Territoire

TAILLE = 0.01
EXECUTOIRES = (StatutActe.SIGNEE, StatutActe.NOTIFIEE)

pytestmark = pytest.mark.django_db


@pytest.fixture
def national():
    sortie = io.StringIO()
    call_command("seed_demo", scale="national", taille=TAILLE, stdout=sortie)
    return sortie.getvalue()


def test_taille_reduite_et_comptes(national):
    nb_porteurs, nb_demandes, nb_qpv = demo_national.tailles(TAILLE)
    assert (nb_porteurs, nb_demandes) == (120, 250)
    assert "Démonstration chargée (national" in national
    nationaux = Porteur.objects.filter(siret__in=[siret_demo(demo_national.DECALAGE + r) for r in range(1, 121)])
    assert nationaux.count() == nb_porteurs
    assert Demande.objects.exclude(numero="").count() == nb_demandes
    assert QPV.objects.count() == nb_qpv
    assert Territoire.objects.filter(code__startswith="nat-").exists()
    assert not Territoire.objects.annotate(n=Count("qpvs")).filter(n=0).exists()
    # Every deposited demande asks its financeurs on 5 lines (0 € for those not asked) and is decided.
    assert LigneFinancement.objects.count() == 5 * nb_demandes
    assert not Demande.objects.filter(statut=StatutDemande.DEPOSEE).exists()
    statuts = dict(Demande.objects.values("statut").annotate(n=Count("pk")).values_list("statut", "n"))
    assert set(statuts) <= {"irrecevable", "refusee", "validee", "conventionnee"}
    assert statuts["conventionnee"] > 0 and statuts["validee"] > 0 and statuts["refusee"] > 0
    assert Seance.objects.filter(statut="close").count() == 2
    assert PointOrdreDuJour.objects.count() == nb_demandes - statuts.get("irrecevable", 0)
    assert (
        DecisionLigne.objects.count()
        == LigneFinancement.objects.filter(statut__in=[StatutLigne.ACCORDEE, StatutLigne.REFUSEE]).count()
    )
    assert ActeAttribution.objects.count() > 0
    assert Paiement.objects.count() > 0
    # The staff accounts of the demo exist (the benchmarks log in as them).
    for email in ("instructeur.etat@demo.test", "comite@demo.test", "finance.etat@demo.test"):
        assert User.objects.filter(email=email, habilitations__actif=True).exists()
    _invariants()
    _empreintes_deterministe_et_idempotent()


def _invariants():
    campagne_id = Demande.objects.values_list("campagne_id", flat=True).first()
    # Each document's lines belong to its porteur and its financeur; each granted line is in exactly one document.
    assert not ActeLigne.objects.exclude(ligne__demande__porteur_id=F("acte__porteur_id")).exists()
    assert not ActeLigne.objects.exclude(ligne__financeur_id=F("acte__financeur_id")).exists()
    assert not ActeLigne.objects.exclude(montant=F("ligne__montant_accorde")).exists()
    assert not lignes_a_conventionner(campagne=Demande.objects.first().campagne).exists()
    accordees = LigneFinancement.objects.filter(statut=StatutLigne.ACCORDEE, montant_accorde__gt=0)
    assert ActeLigne.objects.count() == accordees.count()
    assert not accordees.filter(montant_accorde__gt=F("montant_demande")).exists()
    # One document per (financeur, porteur), numbered 0001… per financeur in the order of the porteurs.
    par_financeur = defaultdict(list)
    for acte in ActeAttribution.objects.select_related("financeur").order_by("financeur_id", "porteur_id"):
        par_financeur[acte.financeur].append(acte)
    for financeur, actes in par_financeur.items():
        attendus = [f"{financeur.code.upper()}-2015-{n:04d}" for n in range(1, len(actes) + 1)]
        assert [a.numero for a in actes] == attendus
        assert len({a.porteur_id for a in actes}) == len(actes)
        assert CompteurActes.objects.get(financeur=financeur, exercice=2015).dernier == len(actes)
        for a in actes:
            assert a.nature == nature_pour(financeur=financeur, total=a.montant_total)
            assert (a.annee_fin is not None) == financeur.mode_cpo
    # Amounts add up: a document is the sum of its lines, an échéancier the amount of its document.
    totaux = dict(ActeLigne.objects.values("acte_id").annotate(t=Sum("montant")).values_list("acte_id", "t"))
    for pk, montant in ActeAttribution.objects.values_list("pk", "montant_total"):
        assert totaux[pk] == montant
    payes = dict(
        Paiement.objects.values("echeancier__acte_id")
        .annotate(t=Sum("montant"))
        .values_list("echeancier__acte_id", "t")
    )
    executoires = ActeAttribution.objects.filter(statut__in=EXECUTOIRES)
    assert Echeancier.objects.count() == executoires.count() > 0
    for pk, montant in executoires.values_list("pk", "montant_total"):
        assert payes[pk] == montant
    assert not Echeancier.objects.exclude(acte__statut__in=EXECUTOIRES).exists()
    # Demandes conventionnées are exactly those with a line in an executory document.
    avec_executoire = set(
        Demande.objects.filter(lignes_financement__acte_ligne__acte__statut__in=EXECUTOIRES).values_list(
            "pk", flat=True
        )
    )
    assert set(Demande.objects.filter(statut="conventionnee").values_list("pk", flat=True)) == avec_executoire
    # Advances: paid or exported ones are in their financeur's liste, whose total is theirs.
    avances = Paiement.objects.filter(nature=NaturePaiement.AVANCE)
    assert (
        avances.filter(statut=StatutPaiement.PAYE).exists() and avances.filter(statut=StatutPaiement.A_PAYER).exists()
    )
    en_liste = avances.filter(statut__in=[StatutPaiement.PAYE, StatutPaiement.EXPORTE])
    assert LigneListe.objects.count() == en_liste.count()
    for liste in ListePaiements.objects.annotate(n=Count("lignes"), t=Sum("lignes__montant")):
        assert (liste.n, liste.t) == (liste.nb_paiements, liste.montant_total)
    assert not LigneListe.objects.exclude(paiement__financeur_id=F("liste__financeur_id")).exists()
    # The enveloppes cover what was granted.
    for financeur_id, accorde in (
        accordees.values("financeur_id").annotate(t=Sum("montant_accorde")).values_list("financeur_id", "t")
    ):
        enveloppe = Demande.objects.first().campagne.enveloppes.get(financeur_id=financeur_id, pilier=None)
        assert enveloppe.montant >= accorde
    assert campagne_id is not None


def _empreintes_deterministe_et_idempotent():
    # The fingerprint written in bulk is the one the deposit service computes, for every demande (whatever became
    # of it: irrecevable, refusée, validée, conventionnée), and no two dossiers share one.
    demandes = list(Demande.objects.select_related("campagne").order_by("numero"))
    assert [d.empreinte for d in demandes] == [empreinte_dossier(d) for d in demandes]
    assert len({d.empreinte for d in demandes}) == len(demandes)
    # Same seed, same decisions (the plan is pure Python).
    demandes = list(_plan(random.Random(7)))
    assert demandes == list(_plan(random.Random(7)))
    assert demandes != list(_plan(random.Random(8)))
    # A second run writes nothing.
    avant = (Demande.objects.count(), ActeAttribution.objects.count(), Paiement.objects.count(), QPV.objects.count())
    call_command("seed_demo", scale="national", taille=TAILLE, stdout=io.StringIO())
    apres = (Demande.objects.count(), ActeAttribution.objects.count(), Paiement.objects.count(), QPV.objects.count())
    assert apres == avant


def _plan(rng):
    from datetime import datetime

    from subventions.demo_demandes import planifier

    territoires = {"t1": [("QN01001M", "A"), ("QN01002M", "B")], "t2": [("QN02001M", "C")]}
    plan = planifier(
        rng=rng,
        exercice=2015,
        ouverture=datetime(2014, 10, 15, 9, tzinfo=demo_national.PARIS),
        cloture=datetime(2014, 12, 12, 12, tzinfo=demo_national.PARIS),
        territoires=territoires,
        objectifs={"P1": ["O1"], "P2": ["O3"], "P3": ["O2"], "P4": ["O8"]},
        financeurs=["caf13", "etat", "metropole", "region", "ville-marseille"],
        nb_porteurs=20,
        nb_demandes=40,
    )
    part_max = dict.fromkeys(["caf13", "etat", "metropole", "region", "ville-marseille"], Decimal("80"))
    return [(i.statut, i.seance, [(ligne.financeur, ligne.accorde) for ligne in i.lignes])
            for i in demo_national.decider(rng, plan.demandes, part_max)]  # fmt: skip


def test_pages_du_personnel(national):
    etat = Demande.objects.first().campagne.financeurs.get(code="etat")
    seance = Seance.objects.annotate(n=Count("points")).order_by("-n").first()
    for email, url in (
        ("instructeur.etat@demo.test", "/instruction/"),
        ("instructeur.etat@demo.test", f"/instruction/?statut=validee&financeur={etat.pk}&tri=-montant"),
        ("instructeur.etat@demo.test", "/instruction/?page=2"),
        ("instructeur.etat@demo.test", "/conventions/"),
        ("instructeur.etat@demo.test", "/pilotage/"),
        ("comite@demo.test", f"/comites/seance/{seance.pk}/"),
        ("finance.etat@demo.test", "/paiements/"),
    ):
        client = Client()
        client.force_login(User.objects.get(email=email))
        reponse = client.get(url)
        assert reponse.status_code == 200, (email, url)
    # The instructeur's queue lists national requests (numbers of the campagne, État lines).
    client = Client()
    client.force_login(User.objects.get(email="instructeur.etat@demo.test"))
    premiere = Demande.objects.filter(
        Q(lignes_financement__financeur=etat) & Q(lignes_financement__montant_demande__gt=0)
    ).order_by("-depose_le", "-pk")[0]
    assert premiere.numero in client.get("/instruction/").content.decode()
