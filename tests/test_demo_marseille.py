"""`seed_demo --scale marseille`: about 720 deposited requests from about 300 porteurs, valid, balanced, stable."""

from __future__ import annotations

import random
import time
from collections import Counter, defaultdict
from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.test import Client

from associations.models import Membre, Porteur
from subventions.campagnes.models import Campagne
from subventions.comptes.models import User
from subventions.demandes.enums import StatutDemande
from subventions.demandes.etapes import demande_manques
from subventions.demandes.models import CompteurDossiers, Demande, LigneBudget, LigneFinancement
from subventions.demandes.selectors import demandes_des_porteurs_de
from subventions.demandes.services import empreinte_dossier
from subventions.demo_demandes import planifier
from workflows.models import Document, TransitionLog

PARIS = ZoneInfo("Europe/Paris")


def _empreinte_base() -> list[tuple]:
    """What a person browsing the demo would notice changing: numbers, titles, porteurs, amounts, dates."""
    montants = defaultdict(dict)
    for demande_id, code, montant in LigneFinancement.objects.values_list(
        "demande_id", "financeur__code", "montant_demande"
    ):
        montants[demande_id][code] = montant
    return [
        (
            d.numero,
            d.intitule,
            d.porteur.siret,
            d.porteur.nom,
            d.depose_le,
            d.empreinte,
            sorted(montants[d.pk].items()),
        )
        for d in Demande.objects.select_related("porteur").order_by("numero")
    ]


@pytest.mark.django_db
def test_marseille_seed_files_about_720_valid_requests_and_is_idempotent(settings, capsys):
    debut = time.perf_counter()
    call_command("seed_demo", "--scale", "marseille", "--seed", "7")
    duree = time.perf_counter() - debut
    with capsys.disabled():
        print(f"\nseed_demo --scale marseille : {duree:.1f} s")

    campagne = Campagne.objects.get(exercice=2015)
    demandes = list(Demande.objects.filter(campagne=campagne).select_related("porteur"))
    assert 700 <= len(demandes) <= 740
    # All deposited, then decided by the comités stage (tests/test_demo_comites.py checks the decisions).
    assert {d.statut for d in demandes} <= {
        StatutDemande.VALIDEE,
        StatutDemande.CONVENTIONNEE,
        StatutDemande.BILAN_DEPOSE,
        StatutDemande.REFUSEE,
        StatutDemande.IRRECEVABLE,
    }

    # Numbers 2015-000001… without gap, given in the order of deposit, all inside the campagne's window.
    par_depot = sorted(demandes, key=lambda d: (d.depose_le, d.numero))
    assert [d.numero for d in par_depot] == [f"2015-{n:06d}" for n in range(1, len(demandes) + 1)]
    assert all(campagne.ouverture <= d.depose_le < campagne.cloture for d in demandes)
    assert all(8 <= d.depose_le.astimezone(PARIS).hour < 20 for d in demandes)
    assert CompteurDossiers.objects.get(campagne=campagne).dernier == len(demandes)

    # Porteurs: about 300, some with one action, a few with ten or more.
    actions = Counter(d.porteur_id for d in demandes)
    assert 280 <= len(actions) <= 320
    assert sum(1 for n in actions.values() if n == 1) >= 80
    assert 2 <= sum(1 for n in actions.values() if n >= 10) <= 15
    porteurs = list(Porteur.objects.filter(pk__in=actions))
    for porteur in porteurs:
        porteur.full_clean()  # SIRET (Luhn), RNA, IBAN and BIC are valid
    assert len({p.siret for p in porteurs}) == len(porteurs)
    assert {p.commune for p in porteurs} == {"Marseille"}
    assert all(p.code_postal.startswith("130") for p in porteurs)

    # One représentant légal per porteur, who can log in with the demo password.
    representants = Membre.objects.filter(
        porteur__in=porteurs, role="representant_legal", user__email__startswith="porteur"
    )
    assert representants.count() == len(porteurs)
    assert EmailAddress.objects.filter(email__startswith="porteur", verified=True).count() == len(porteurs)
    client = Client()
    reponse = client.post(
        "/compte/login/", {"login": "porteur001@demo.test", "password": settings.SUBVENTIONS_DEMO_PASSWORD}
    )
    assert reponse.status_code == 302

    # Budgets: balanced (charges = produits, 86 = 87), Decimal, the État always asked, the Ville often.
    lignes = defaultdict(dict)
    for demande_id, compte, montant in LigneBudget.objects.values_list("demande_id", "compte", "montant"):
        lignes[demande_id][compte] = montant
    finance = defaultdict(dict)
    for demande_id, code, montant in LigneFinancement.objects.values_list(
        "demande_id", "financeur__code", "montant_demande"
    ):
        finance[demande_id][code] = montant
    totaux = []
    for d in demandes:
        charges = sum(m for c, m in lignes[d.pk].items() if c[0] == "6" or c == "86")
        produits = sum(m for c, m in lignes[d.pk].items() if c[0] == "7" or c == "87") + sum(finance[d.pk].values())
        assert charges == produits > 0, d.numero
        assert lignes[d.pk].get("86") == lignes[d.pk].get("87"), d.numero
        assert finance[d.pk]["etat"] > 0, d.numero
        assert all(isinstance(m, Decimal) and m == m.quantize(Decimal("0.01")) for m in finance[d.pk].values())
        assert all(m <= charges * Decimal("0.8") for m in finance[d.pk].values()), d.numero
        totaux.append(sum(finance[d.pk].values()))
    assert sum(1 for t in totaux if Decimal(2000) <= t <= Decimal(20000)) >= 0.8 * len(totaux)
    assert max(totaux) <= Decimal(150000) and sum(1 for t in totaux if t > 20000) >= 10
    avec_ville = sum(1 for d in demandes if finance[d.pk].get("ville-marseille", 0) > 0)
    assert 0.3 * len(demandes) <= avec_ville <= 0.8 * len(demandes)
    assert sum(1 for d in demandes if any(finance[d.pk].get(c, 0) > 0 for c in ("metropole", "caf13", "region"))) > 50

    # What the deposit service would have recorded; no récépissé for bulk demandes (only real deposits render one).
    assert TransitionLog.objects.filter(transition="deposer", cible="deposee").count() == len(demandes)
    assert not Document.objects.filter(nature="recepisse").exists()
    for d in random.Random(3).sample(demandes, 15):
        assert d.empreinte == empreinte_dossier(d)
        assert d.qpvs.exists() and set(d.objectifs.all()) <= set(campagne.objectifs.all())
        # Untouched since the deposit, except by the convention that made it conventionnée (July 2015).
        assert d.cree_le < d.depose_le
        assert d.modifie_le == d.depose_le or (
            d.statut in ("conventionnee", "bilan_depose") and d.modifie_le.year in (2015, 2016)
        )
        # Complete as filed; only the pièces' validity, checked today, has run out since 2014.
        assert {m.etape for m in demande_manques(d)} <= {"pieces"}, d.numero
    intitules = Counter(d.intitule for d in demandes)
    assert any("Accompagnement à la scolarité" in t for t in intitules)
    assert all(len({d.intitule for d in demandes if d.porteur_id == p}) == n for p, n in actions.items())

    # The demo login sees its porteur's deposited requests.
    association = User.objects.get(email="association@demo.test")
    assert Membre.objects.filter(user=association, role="representant_legal", porteur__in=porteurs).count() == 1
    assert demandes_des_porteurs_de(association).exclude(statut=StatutDemande.BROUILLON).count() >= 3

    avant = _empreinte_base()
    utilisateurs = User.objects.count()
    call_command("seed_demo", "--scale", "marseille", "--seed", "7")
    assert _empreinte_base() == avant
    assert User.objects.count() == utilisateurs
    assert Porteur.objects.count() == len(porteurs)


PLAN = {
    "exercice": 2015,
    "ouverture": datetime(2014, 10, 15, 9, tzinfo=PARIS),
    "cloture": datetime(2014, 12, 12, 12, tzinfo=PARIS),
    "territoires": {
        "nord": [("QP013901", "Frais Vallon"), ("QP013902", "Le Clos La Rose")],
        "sud": [("QP013903", "La Cayolle")],
    },
    "objectifs": {"P1": ["O1", "O6"], "P2": ["O3"], "P3": ["O2"], "P4": ["O8"]},
    "financeurs": ["caf13", "etat", "ville-marseille"],
}


def test_same_seed_same_plan_other_seed_other_plan():
    premier = planifier(rng=random.Random(11), **PLAN, nb_porteurs=60, nb_demandes=140)
    assert planifier(rng=random.Random(11), **PLAN, nb_porteurs=60, nb_demandes=140) == premier
    assert planifier(rng=random.Random(12), **PLAN, nb_porteurs=60, nb_demandes=140) != premier
    assert len(premier.porteurs) == 60 and len(premier.demandes) == 140
    assert sorted(d.numero for d in premier.demandes) == [f"2015-{n:06d}" for n in range(1, 141)]
