"""Builders for the comité tests: a campagne with two financeurs and instruite demandes ready for a séance."""

from __future__ import annotations

import datetime
from decimal import Decimal

from subventions.comites import services
from subventions.comites.enums import KindSeance
from subventions.comptes.enums import Role
from subventions.demandes.models import Demande, LigneFinancement
from tests.factories import (
    CampagneFactory,
    EnveloppeFactory,
    FinanceurFactory,
    MembreFactory,
    ObjectifFactory,
    PilierFactory,
    TypePieceFactory,
    agent,
    demande_complete,
)


def campagne_de_test(*, enveloppe_etat: Decimal | None = Decimal("100000.00")):
    etat = FinanceurFactory(code="etat", nom="État")
    ville = FinanceurFactory(code="ville-test", nom="Ville de Test")
    campagne = CampagneFactory(financeurs=[etat, ville], titre="Appel à projets 2015")
    pilier = PilierFactory(contrat=campagne.contrat, libelle="Cohésion sociale", numero=1)
    campagne.objectifs.set([ObjectifFactory(pilier=pilier)])
    campagne.pieces_requises.set([TypePieceFactory(code="statuts", libelle="Statuts")])
    if enveloppe_etat is not None:
        EnveloppeFactory(campagne=campagne, financeur=etat, montant=enveloppe_etat)
    EnveloppeFactory(campagne=campagne, financeur=ville, montant=Decimal("50000.00"))
    return campagne, etat, ville, pilier


def instruite(
    campagne,
    *,
    porteur=None,
    montant: Decimal = Decimal("8000.00"),
    propose: Decimal = Decimal("6000.00"),
    avis: str = "favorable",
    ville: Decimal | None = None,
    intitule: str = "Ateliers d'écriture au centre social",
) -> Demande:
    """An instruite demande asking the État `montant` (and the Ville `ville`), with avis and proposals given."""
    membre = MembreFactory(porteur=porteur) if porteur is not None else MembreFactory()
    demande = demande_complete(membre=membre, campagne=campagne, montant_etat=montant, intitule=intitule)
    Demande.objects.filter(pk=demande.pk).update(statut="instruite", numero=f"{campagne.exercice}-{demande.pk:06d}")
    if ville is not None:
        LigneFinancement.objects.filter(demande=demande, financeur__code="ville-test").update(
            montant_demande=ville, statut="avis_donne", avis="favorable", montant_propose=ville
        )
    LigneFinancement.objects.filter(demande=demande, financeur__code="etat").update(
        statut="avis_donne", avis=avis, montant_propose=Decimal("0") if avis == "defavorable" else propose
    )
    return Demande.objects.get(pk=demande.pk)


def seance_de_test(campagne, user, *, financeurs=None, kind=KindSeance.PROGRAMMATION):
    return services.seance_creer(
        campagne=campagne,
        user=user,
        date=datetime.date(2015, 6, 9),
        kind=kind,
        financeurs=financeurs or list(campagne.financeurs.all()),
        membres_presents="Mme Martin (préfecture), M. Diallo (Ville), Mme Roux (conseil citoyen)",
    )


def ligne(demande: Demande, code: str = "etat") -> LigneFinancement:
    return LigneFinancement.objects.select_related("financeur", "demande").get(demande=demande, financeur__code=code)


def secretaire(*financeurs):
    return agent(Role.COMITE, financeurs=list(financeurs)) if financeurs else agent(Role.COMITE, tous=True)
