"""`seed_demo --scale marseille`: the 2015 instruction and comités as Marseille had them, checked from the rows."""

from __future__ import annotations

import io
import json
import random
import time
from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import ROUND_DOWN, ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command

from subventions.campagnes.models import Campagne, Enveloppe
from subventions.comites.models import DecisionLigne, LettreDecision, PointOrdreDuJour, Seance
from subventions.demandes.models import Demande, LigneBudget, LigneFinancement
from subventions.demandes.stats import LIBELLES as LIBELLES_DEMANDES
from subventions.demo_comites import _issues
from workflows.models import Document, TransitionLog

PARIS = ZoneInfo("Europe/Paris")
VALIDEES = {"validee", "conventionnee", "bilan_depose", "soldee"}


def _etat_de_la_base() -> dict:
    """Everything the comités stage writes, in a comparable form."""
    return {
        "demandes": sorted(Demande.objects.values_list("numero", "statut", "instructeur_id")),
        "lignes": sorted(
            LigneFinancement.objects.values_list(
                "pk", "statut", "avis", "montant_propose", "montant_accorde", "avis_le", "decide_le", "version"
            )
        ),
        "seances": sorted(Seance.objects.values_list("pk", "date", "statut", "closed_at", "cree_le")),
        "points": sorted(PointOrdreDuJour.objects.values_list("seance_id", "demande_id", "ordre", "ajoute_le")),
        "decisions": sorted(
            DecisionLigne.objects.values_list("seance_id", "ligne_id", "decision", "montant", "pilier_id")
        ),
        "journal": TransitionLog.objects.count(),
        "dates_journal": sorted(str(d) for d in TransitionLog.objects.values_list("date", flat=True)),
    }


def _stats(*args) -> dict:
    """The demandes' and comités' figures (the documents' are checked in tests/conventions/test_demo_marseille.py)."""
    sortie = io.StringIO()
    call_command("stats", *args, "--json", stdout=sortie)
    return {cle: valeur for cle, valeur in json.loads(sortie.getvalue()).items() if cle in LIBELLES_DEMANDES}


def _attendu(campagne, code=None) -> dict:
    """The stats recomputed in Python from the rows, independently of the stats module."""
    lignes = defaultdict(list)
    for lf in LigneFinancement.objects.select_related("financeur").filter(demande__campagne=campagne):
        lignes[lf.demande_id].append(lf)
    deposees = [d for d in Demande.objects.filter(campagne=campagne) if d.numero]
    if code:
        deposees = [d for d in deposees if any(lf.financeur.code == code and lf.montant_demande > 0
                                                for lf in lignes[d.pk])]  # fmt: skip
    siennes = [lf for d in deposees for lf in lignes[d.pk] if code is None or lf.financeur.code == code]
    validees = [
        d
        for d in deposees
        if d.statut in VALIDEES
        and (code is None or any(lf.financeur.code == code and lf.statut == "accordee" for lf in lignes[d.pk]))
    ]
    ids_validees = {d.pk for d in validees}
    comites = []
    for seance in Seance.objects.filter(campagne=campagne, statut="close").order_by("date"):
        # From the ordre du jour and the log this time: validated demandes on the séance's agenda.
        au_programme = set(seance.points.values_list("demande_id", flat=True))
        comites.append({"date": seance.date.isoformat(), "actions_validees": len(au_programme & ids_validees)})
    taux = (Decimal(len(validees)) / Decimal(len(deposees))).quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)
    return {
        "campagne": campagne.exercice,
        "financeur": code,
        "actions_deposees": len(deposees),
        "porteurs": len({d.porteur_id for d in deposees}),
        "actions_validees": len(validees),
        "taux_validation": str(taux),
        "comites": comites,
        "montant_demande": f"{sum((lf.montant_demande for lf in siennes), Decimal(0)):.2f}",
        "montant_accorde": f"{sum((lf.montant_accorde for lf in siennes if lf.statut == 'accordee'), Decimal(0)):.2f}",
    }


@pytest.mark.django_db
def test_marseille_2015_two_comites_667_actions_279_porteurs(capsys):
    debut = time.perf_counter()
    call_command("seed_demo", "--scale", "marseille")
    duree = time.perf_counter() - debut
    with capsys.disabled():
        print(f"\nseed_demo --scale marseille (dépôts, instruction, comités) : {duree:.1f} s")

    campagne = Campagne.objects.get(exercice=2015)
    demandes = {d.pk: d for d in Demande.objects.filter(campagne=campagne)}
    statuts = Counter(d.statut for d in demandes.values())
    assert (
        statuts["validee"] + statuts["conventionnee"] + statuts["bilan_depose"] == 667
    )  # a third of the État's conventions are signed
    assert statuts["refusee"] > 0 and statuts["irrecevable"] > 0
    assert statuts["refusee"] + statuts["irrecevable"] == 53
    assert sum(statuts.values()) == 720
    porteurs = {d.porteur_id for d in demandes.values()}
    valides = {d.porteur_id for d in demandes.values() if d.statut in VALIDEES}
    assert len(valides) == 279 and len(porteurs - valides) == 21

    # Two closed séances: 29 April (fragile associations) and 9 June 2015, closed at 18:00 in Paris.
    seances = list(Seance.objects.filter(campagne=campagne).order_by("date"))
    assert [s.date for s in seances] == [date(2015, 4, 29), date(2015, 6, 9)]
    assert all(s.statut == "close" and s.closed_by.email == "comite@demo.test" for s in seances)
    assert [s.closed_at for s in seances] == [
        datetime(2015, 4, 29, 18, tzinfo=PARIS),
        datetime(2015, 6, 9, 18, tzinfo=PARIS),
    ]
    validees_par_seance = [
        sum(1 for p in s.points.all() if demandes[p.demande_id].statut in VALIDEES) for s in seances
    ]
    assert validees_par_seance == [123, 544]
    assert not PointOrdreDuJour.objects.filter(seance_ouverte=True).exists()
    assert PointOrdreDuJour.objects.count() == 720 - statuts["irrecevable"]
    budgets = {p.pk: p.budget_annee_courante for p in {d.porteur for d in demandes.values() if d.statut in VALIDEES}}
    premiere = {demandes[p.demande_id].porteur_id for p in seances[0].points.all()}
    seconde = {demandes[p.demande_id].porteur_id for p in seances[1].points.all()}
    # The first comité's associations are the smaller ones (fragile): its median budget is below the second's.
    mediane = lambda ids: sorted(budgets[i] for i in ids if i in budgets)[len(ids & budgets.keys()) // 2]  # noqa: E731
    assert mediane(premiere) < mediane(seconde)

    # Lines: every validated demande has its État line granted; decisions ≤ asked and ≤ part_max of the budget.
    charges = defaultdict(Decimal)
    for demande_id, montant in LigneBudget.objects.filter(sens="charge").values_list("demande_id", "montant"):
        charges[demande_id] += montant
    lignes = list(LigneFinancement.objects.select_related("financeur").filter(demande__campagne=campagne))
    par_demande = defaultdict(dict)
    for lf in lignes:
        par_demande[lf.demande_id][lf.financeur.code] = lf
    for d in demandes.values():
        etat = par_demande[d.pk]["etat"]
        if d.statut in VALIDEES:
            assert etat.statut == "accordee" and etat.montant_accorde > 0, d.numero
        elif d.statut == "refusee":
            assert all(lf.statut == "refusee" for lf in par_demande[d.pk].values() if lf.montant_demande > 0)
        else:
            assert all(lf.statut == "demandee" for lf in par_demande[d.pk].values())
    cofinancees = 0
    for lf in lignes:
        if lf.statut == "accordee":
            plafond = (charges[lf.demande_id] * lf.financeur.part_max / 100).quantize(Decimal("0.01"), ROUND_DOWN)
            assert Decimal(0) < lf.montant_accorde <= min(lf.montant_demande, plafond), lf.pk
            assert lf.montant_accorde == lf.montant_propose and lf.avis in ("favorable", "reserve")
            cofinancees += lf.financeur.code != "etat"
        elif lf.statut == "refusee":
            assert lf.avis == "defavorable" and lf.montant_accorde is None and lf.motivation
        if lf.statut in ("accordee", "refusee"):
            assert lf.avis_par is not None and lf.avis_le < lf.decide_le
    assert cofinancees > 100
    assert any(lf.statut == "refusee" and demandes[lf.demande_id].statut in VALIDEES for lf in lignes)

    # No enveloppe is exceeded: the global one of each financeur, and the État's per pilier.
    accorde = defaultdict(Decimal)
    for decision in DecisionLigne.objects.filter(decision="accordee"):
        accorde[(decision.financeur_id, None)] += decision.montant
        accorde[(decision.financeur_id, decision.pilier_id)] += decision.montant
    enveloppes = {(e.financeur_id, e.pilier_id): e.montant for e in Enveloppe.objects.filter(campagne=campagne)}
    for (financeur_id, pilier_id), montant in enveloppes.items():
        assert accorde[(financeur_id, pilier_id)] <= montant, (financeur_id, pilier_id)
    etat_id = campagne.financeurs.get(code="etat").pk
    assert accorde[(etat_id, None)] <= Decimal("6500000.00")
    assert accorde[(etat_id, None)] > Decimal("5000000.00")  # the État spent most of its enveloppe

    # The frozen decisions: one per decided line, matching the line.
    decisions = {d.ligne_id: d for d in DecisionLigne.objects.all()}
    decidees = [lf for lf in lignes if lf.statut in ("accordee", "refusee")]
    assert len(decisions) == len(decidees) == DecisionLigne.objects.count()
    for lf in decidees:
        assert decisions[lf.pk].decision == lf.statut and decisions[lf.pk].montant == lf.montant_accorde

    # The log: one row per state change, in the order of the workflow, by the demo instructeur and comité.
    journal = defaultdict(list)
    for log in TransitionLog.objects.filter(content_type__model="demande").select_related("acteur"):
        journal[log.object_id].append(log)
    for d in demandes.values():
        etapes = [(log.transition, log.cible) for log in sorted(journal[d.pk], key=lambda log: (log.date, log.pk))]
        if d.statut == "irrecevable":
            assert etapes == [("deposer", "deposee"), ("declarer_irrecevable", "irrecevable")]
        else:
            decision = ("refuser", "refusee") if d.statut == "refusee" else ("valider", "validee")
            # Signed conventions (demo_conventions) made a third of the validated demandes conventionnées.
            suite = {
                "conventionnee": [("conventionner", "conventionnee")],
                "bilan_depose": [("conventionner", "conventionnee"), ("enregistrer_bilan", "bilan_depose")],
            }.get(d.statut, [])
            assert etapes == [
                ("deposer", "deposee"),
                ("declarer_recevable", "en_instruction"),
                ("terminer_instruction", "instruite"),
                ("inscrire", "inscrite"),
                decision,
                *suite,
            ], d.numero
            assert journal[d.pk][4].acteur.email == "comite@demo.test"
    assert TransitionLog.objects.filter(content_type__model="lignefinancement").count() == 3 * len(decidees)
    assert TransitionLog.objects.filter(content_type__model="seance", transition="cloturer").count() == 2
    assert not TransitionLog.objects.filter(date__year__gt=2015).exists()

    # No PDF for the bulk decisions: no procès-verbal, no letter.
    assert not Document.objects.filter(nature__in=["proces_verbal", "lettre_decision"]).exists()
    assert not LettreDecision.objects.exists()

    # Figures: `stats` gives what the rows say.
    chiffres = _stats("--campagne", "2015")
    assert chiffres == _attendu(campagne)
    assert chiffres["actions_validees"] == 667 and chiffres["taux_validation"] == "0.93"
    assert chiffres["comites"] == [
        {"date": "2015-04-29", "actions_validees": 123},
        {"date": "2015-06-09", "actions_validees": 544},
    ]
    for code in ("etat", "ville-marseille", "caf13"):
        assert _stats("--campagne", "2015", "--financeur", code) == _attendu(campagne, code), code

    # Idempotent: a second run changes nothing.
    avant = _etat_de_la_base()
    call_command("seed_demo", "--scale", "marseille")
    assert _etat_de_la_base() == avant
    assert _stats("--campagne", "2015") == chiffres


def test_issues_exact_counts_and_deterministic():
    rng = random.Random(5)
    par_porteur = {p: list(range(p * 100, p * 100 + rng.choice([1, 1, 1, 2, 3, 5]))) for p in range(1, 61)}
    total = sum(len(v) for v in par_porteur.values())
    validees, non_validees = _issues(random.Random(1), par_porteur, total - 12, 55)
    assert (validees, non_validees) == _issues(random.Random(1), par_porteur, total - 12, 55)
    assert len(validees) == total - 12 and len(non_validees) == 12
    assert sum(1 for v in par_porteur.values() if set(v) & validees) == 55
    with pytest.raises(ValueError):
        _issues(random.Random(1), par_porteur, total - 2, 55)  # 5 porteurs with nothing: at least 5 demandes left
