"""Builders for the finance tests: executory actes (made executory the way the conventions app will: statut set, then
the `acte_executoire` signal), financeurs with a SEPA account, finance staff."""

from __future__ import annotations

import itertools
from decimal import Decimal

from subventions.comptes.enums import Role
from subventions.conventions.models import ActeAttribution
from subventions.conventions.signals import acte_executoire
from subventions.paiements.models import Paiement
from tests.factories import CampagneFactory, FinanceurFactory, PorteurFactory, agent

IBAN_ETAT = "FR7630001007940000000000148"
BIC_ETAT = "BDFEFRPPCCT"
IBAN_PORTEUR_2 = "FR7610071000010000000000140"
_numeros = itertools.count(1)


def etat(**champs):
    """The État, paying by SEPA transfer from the DDFiP's account, with its Chorus imputation."""
    valeurs = {
        "code": "etat",
        "nom": "État",
        "taux_avance": Decimal("50"),
        "sepa_nom": "DDFIP des Bouches-du-Rhône",
        "sepa_iban": IBAN_ETAT,
        "sepa_bic": BIC_ETAT,
        "chorus_centre_financier": "0147-CDV-DR13",
        "chorus_domaine_fonctionnel": "0147-01",
        "chorus_activite": "014701011301",
    }
    valeurs.update(champs)
    return FinanceurFactory(**valeurs)


def ville(**champs):
    """A commune with no SEPA account: its listes go to the comptable public as CSV/XLSX."""
    valeurs = {"code": "ville-test", "nom": "Ville de Test", "taux_avance": Decimal("80")}
    valeurs.update(champs)
    return FinanceurFactory(**valeurs)


def finance(*financeurs):
    return agent(Role.FINANCE, financeurs=list(financeurs))


def acte(
    financeur,
    montant: str = "10000.00",
    *,
    porteur=None,
    campagne=None,
    exercice: int = 2015,
    nature: str = "convention",
    statut: str = "signee",
    executoire: bool = True,
) -> ActeAttribution:
    """An acte of `financeur` for `porteur`; executory (statut set, signal sent) unless executoire=False."""
    campagne = campagne or CampagneFactory(exercice=exercice, financeurs=[financeur])
    objet = ActeAttribution.objects.create(
        financeur=financeur,
        porteur=porteur or PorteurFactory(),
        campagne=campagne,
        exercice=campagne.exercice,
        nature=nature,
        numero=f"{financeur.code.upper()}-{campagne.exercice}-{next(_numeros):04d}",
        montant_total=Decimal(montant),
    )
    if executoire:
        rendre_executoire(objet, statut=statut)
    return ActeAttribution.objects.get(pk=objet.pk)


def rendre_executoire(objet: ActeAttribution, *, statut: str = "signee") -> None:
    ActeAttribution.objects.filter(pk=objet.pk).update(statut=statut)
    acte_executoire.send(sender=ActeAttribution, acte=ActeAttribution.objects.get(pk=objet.pk))


def paiements(objet: ActeAttribution) -> list[Paiement]:
    return list(Paiement.objects.filter(echeancier__acte=objet).order_by("pk"))


def avance(objet: ActeAttribution) -> Paiement:
    return Paiement.objects.get(echeancier__acte=objet, nature="avance")


def recharger(paiement: Paiement) -> Paiement:
    return Paiement.objects.get(pk=paiement.pk)


def forcer_statut(paiement: Paiement, statut: str, **champs) -> Paiement:
    Paiement.objects.filter(pk=paiement.pk).update(statut=statut, **champs)
    return recharger(paiement)
