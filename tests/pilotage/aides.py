"""Builders for the pilotage tests: a small programme decided, conventioned and partly paid (without going through
every service: states are set in bulk as the demo does), copied `copies` times to grow the data."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

from subventions.comites.models import DecisionLigne, Seance
from subventions.conventions.models import ActeAttribution
from subventions.conventions.services import conventions_batir
from subventions.conventions.signals import acte_executoire
from subventions.demandes.models import Demande, LigneBudget, LigneFinancement
from subventions.paiements.models import Paiement
from tests.factories import (
    CampagneFactory,
    ContratFactory,
    FinanceurFactory,
    ObjectifFactory,
    PilierFactory,
    PorteurFactory,
    QPVFactory,
    TerritoireFactory,
    UserFactory,
)

DONNEES = Path(__file__).resolve().parent / "donnees"
SCHEMA = DONNEES / "scdl-subventions-schema-2.1.1.json"
_numeros = itertools.count(1)


def schema_scdl() -> dict:
    return json.loads(SCHEMA.read_text(encoding="utf-8"))


@dataclass
class Monde:
    campagne: object
    etat: object
    ville: object
    piliers: list
    objectifs: list
    territoires: list
    qpvs: list
    seance: object = None
    auteur: object = None
    porteurs: list = field(default_factory=list)
    demandes: list = field(default_factory=list)


def monde_pilotage(*, copies: int = 1) -> Monde:
    """A 2015 campagne with the État (always a convention, 50 % advance) and a Ville (arrêtés, 80 % advance), two
    piliers, two territoires with a QPV each, a comité closed on 9 June 2015, then `copies` times the same programme
    (see `programme`)."""
    etat = FinanceurFactory(code="etat", nom="État", toujours_convention=True, taux_avance=Decimal("50"))
    ville = FinanceurFactory(code="ville-test", nom="Ville de Test", taux_avance=Decimal("80"))
    contrat = ContratFactory()
    p1 = PilierFactory(contrat=contrat, numero=1, code="P1", libelle="Cohésion sociale")
    p2 = PilierFactory(contrat=contrat, numero=2, code="P2", libelle="Cadre de vie")
    o1, o2 = ObjectifFactory(pilier=p1, code="O1"), ObjectifFactory(pilier=p2, code="O2")
    q1, q2 = QPVFactory(), QPVFactory()
    t1 = TerritoireFactory(contrat=contrat, nom="Nord", qpvs=[q1])
    t2 = TerritoireFactory(contrat=contrat, nom="Sud", qpvs=[q2])
    campagne = CampagneFactory(contrat=contrat, close=True, financeurs=[etat, ville])
    campagne.objectifs.set([o1, o2])
    auteur = UserFactory()
    seance = Seance.objects.create(
        campagne=campagne, date=date(2015, 6, 9), kind="programmation", statut="close", cree_par=auteur
    )
    seance.financeurs.set([etat, ville])
    monde = Monde(campagne, etat, ville, [p1, p2], [o1, o2], [t1, t2], [q1, q2], seance, auteur)
    for _ in range(copies):
        programme(monde)
    return monde


def action(
    monde: Monde,
    porteur,
    *,
    statut: str,
    territoire,
    objectifs,
    qpvs,
    lignes: dict,
    charges: str = "20000",
) -> Demande:
    """A demande in `statut` (deposited, with a number, unless brouillon); `lignes`: financeur → (asked, proposed,
    granted or None, line state)."""
    demande = Demande.objects.create(
        campagne=monde.campagne,
        porteur=porteur,
        cree_par=monde.auteur,
        intitule=f"Action {next(_numeros)} de {porteur.nom}",
        territoire=territoire,
    )
    numero = "" if statut == "brouillon" else f"2015-{next(_numeros):06d}"
    Demande.objects.filter(pk=demande.pk).update(statut=statut, numero=numero)
    demande.objectifs.set(objectifs)
    demande.qpvs.set(qpvs)
    for financeur, (demande_montant, propose, accorde, statut_ligne) in lignes.items():
        ligne = LigneFinancement.objects.create(
            demande=demande,
            financeur=financeur,
            montant_demande=Decimal(demande_montant),
            statut=statut_ligne,
            montant_propose=Decimal(propose) if propose is not None else None,
            montant_accorde=Decimal(accorde) if accorde is not None else None,
        )
        if statut_ligne in ("accordee", "refusee"):  # decided at the comité of 9 June
            DecisionLigne.objects.create(
                seance=monde.seance,
                ligne=ligne,
                financeur=financeur,
                decision=statut_ligne,
                montant=ligne.montant_accorde if statut_ligne == "accordee" else None,
                montant_propose=ligne.montant_propose,
            )
    LigneBudget.objects.create(demande=demande, compte="64", montant=Decimal(charges))
    LigneBudget.objects.create(demande=demande, compte="86", montant=Decimal("1000"))  # not a cost
    monde.demandes.append(demande)
    return Demande.objects.get(pk=demande.pk)


def programme(monde: Monde) -> None:
    """Porteur A (Nord): d1 conventionnée (État 10 000 asked, 8 000 granted; Ville 2 000 asked, 1 500 granted; budget
    20 000 €), d2 validée (État 5 000 asked, 4 000 granted, pilier 2, budget 10 000 €). Porteur B (Sud): d3 refused
    (État 7 000), d4 still deposited (État 3 000), d5 a brouillon, d6 validée (Ville only: 6 000 asked, 5 000 granted;
    objectifs of both piliers). The État's convention for A (12 000 €) is signed and its advance (6 000 €) paid; the
    Ville's arrêté for A (1 500 €) is notified and its advance (1 200 €) paid; its arrêté for B is only built."""
    etat, ville = monde.etat, monde.ville
    (o1, o2), (t1, t2), (q1, q2) = monde.objectifs, monde.territoires, monde.qpvs
    a, b = PorteurFactory(), PorteurFactory()
    monde.porteurs += [a, b]
    action(
        monde,
        a,
        statut="validee",
        territoire=t1,
        objectifs=[o1],
        qpvs=[q1],
        lignes={etat: ("10000", "8000", "8000", "accordee"), ville: ("2000", "1500", "1500", "accordee")},
    )
    action(
        monde,
        a,
        statut="validee",
        territoire=t1,
        objectifs=[o2],
        qpvs=[q1],
        lignes={etat: ("5000", "4000", "4000", "accordee")},
        charges="10000",
    )
    action(
        monde,
        b,
        statut="refusee",
        territoire=t2,
        objectifs=[o1],
        qpvs=[q2],
        lignes={etat: ("7000", "0", None, "refusee")},
    )
    action(
        monde,
        b,
        statut="deposee",
        territoire=t2,
        objectifs=[o1],
        qpvs=[q2],
        lignes={etat: ("3000", None, None, "demandee")},
    )
    action(
        monde,
        b,
        statut="brouillon",
        territoire=t2,
        objectifs=[o1],
        qpvs=[q2],
        lignes={etat: ("9000", None, None, "demandee")},
    )
    action(monde, b, statut="validee", territoire=t2, objectifs=[o2, o1], qpvs=[q2, q1],
           lignes={ville: ("6000", "5000", "5000", "accordee")})  # fmt: skip
    conventions_batir(campagne=monde.campagne, generer=False)
    convention = ActeAttribution.objects.get(financeur=etat, porteur=a, campagne=monde.campagne)
    arrete = ActeAttribution.objects.get(financeur=ville, porteur=a, campagne=monde.campagne)
    for acte, statut in ((convention, "signee"), (arrete, "notifiee")):
        rendre_executoire(acte, statut=statut, le=datetime(2015, 7, 1, 10, tzinfo=UTC))
        payer(Paiement.objects.get(echeancier__acte=acte, nature="avance"), date(2015, 7, 20))
    Demande.objects.filter(lignes_financement__acte_ligne__acte=convention).update(statut="conventionnee")


def rendre_executoire(acte: ActeAttribution, *, statut: str, le: datetime) -> None:
    """As a signature does: executory, then the signal (the finance app builds the échéancier)."""
    ActeAttribution.objects.filter(pk=acte.pk).update(statut=statut, executoire_le=le)
    acte_executoire.send(sender=ActeAttribution, acte=ActeAttribution.objects.get(pk=acte.pk))


def payer(paiement: Paiement, jour: date) -> Paiement:
    Paiement.objects.filter(pk=paiement.pk).update(
        statut="paye", reglement_reference=f"VIR-{paiement.pk}", reglement_date=jour, maj_le=timezone.now()
    )
    return Paiement.objects.get(pk=paiement.pk)
