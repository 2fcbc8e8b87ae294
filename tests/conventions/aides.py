"""Builders for the conventions tests: granted lines without going through a whole séance."""

from __future__ import annotations

from decimal import Decimal

from subventions.demandes.models import Demande, LigneFinancement
from tests.factories import CampagneFactory, FinanceurFactory, PorteurFactory, UserFactory


def monde_de_test():
    etat = FinanceurFactory(code="etat", nom="État")
    ville = FinanceurFactory(code="ville-test", nom="Ville de Test")
    campagne = CampagneFactory(exercice=2015, financeurs=[etat, ville])
    return campagne, etat, ville


def accordee(campagne, financeur, montant: str, *, porteur=None, statut_demande: str = "validee") -> LigneFinancement:
    """A decided demande of `porteur` whose `financeur` line is accordée for `montant`."""
    porteur = porteur or PorteurFactory()
    demande = Demande.objects.create(
        campagne=campagne, porteur=porteur, cree_par=UserFactory(), intitule="Ateliers d'écriture"
    )
    Demande.objects.filter(pk=demande.pk).update(statut=statut_demande, numero=f"2015-{demande.pk:06d}")
    ligne = LigneFinancement.objects.create(demande=demande, financeur=financeur, montant_demande=Decimal(montant))
    LigneFinancement.objects.filter(pk=ligne.pk).update(statut="accordee", montant_accorde=Decimal(montant))
    return LigneFinancement.objects.get(pk=ligne.pk)
