"""Builders for the bilans tests: actions with a forecast budget and indicators, granted by an executory acte (the
paiements receiver gives it its échéancier, advance due), its comptes-rendus opened; the advance paid; a
compte-rendu filled at a given fraction of the forecast."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from associations.models import Membre
from subventions.bilans import services
from subventions.bilans.models import CompteRendu
from subventions.comptes.enums import Role
from subventions.conventions.models import ActeAttribution, ActeLigne
from subventions.demandes.models import Demande, Indicateur, LigneBudget, LigneFinancement
from subventions.paiements.models import Paiement
from subventions.paiements.services import Criteres, liste_creer, paiement_payer
from tests.factories import CampagneFactory, MembreFactory, PorteurFactory, UserFactory, agent
from tests.paiements.aides import etat, finance, rendre_executoire

_numeros = itertools.count(1)
CENTIME = Decimal("0.01")

# A forecast budget: charges 60 + 64 = 10 000 € of cost, 86 in kind; produits 74 (the financeur) + 75 + 87.
CHARGES = {"60": "2000.00", "64": "8000.00", "86": "1000.00"}
PRODUITS = {"75": "2000.00", "87": "1000.00"}


@dataclass
class Monde:
    financeur: object
    campagne: object
    porteur: object
    representant: object
    gestionnaire: object
    lecteur: object
    instructeur: object
    finance: object


def monde(**champs_financeur) -> Monde:
    financeur = etat(**champs_financeur)
    porteur = PorteurFactory()
    return Monde(
        financeur=financeur,
        campagne=CampagneFactory(exercice=2015, financeurs=[financeur], close=True),
        porteur=porteur,
        representant=MembreFactory(porteur=porteur).user,
        gestionnaire=MembreFactory(porteur=porteur, role="gestionnaire").user,
        lecteur=MembreFactory(porteur=porteur, role="lecteur").user,
        instructeur=agent(Role.INSTRUCTEUR, financeurs=[financeur]),
        finance=finance(financeur),
    )


def action(
    m: Monde,
    *,
    accorde: str = "8000.00",
    charges: dict | None = None,
    produits: dict | None = None,
    intitule: str = "Ateliers d'écriture",
    indicateurs=(("Participants réguliers", "30"), ("Restitution publique", "oui")),
) -> LigneFinancement:
    """A conventionnée demande of the porteur with its budget, indicators, and its financeur line accordée."""
    numero = next(_numeros)
    demande = Demande.objects.create(
        campagne=m.campagne,
        porteur=m.porteur,
        cree_par=UserFactory(),
        intitule=intitule,
        date_debut=date(2015, 1, 15),
        date_fin=date(2015, 11, 30),
    )
    Demande.objects.filter(pk=demande.pk).update(statut="conventionnee", numero=f"2015-{numero:06d}")
    budget = {**(CHARGES if charges is None else charges), **(PRODUITS if produits is None else produits)}
    for compte, montant in budget.items():
        LigneBudget.objects.create(demande=demande, compte=compte, montant=Decimal(montant))
    for i, (nom, cible) in enumerate(indicateurs):
        Indicateur.objects.create(demande=demande, nom=nom, cible=cible, ordre=i)
    ligne = LigneFinancement.objects.create(demande=demande, financeur=m.financeur, montant_demande=Decimal(accorde))
    LigneFinancement.objects.filter(pk=ligne.pk).update(statut="accordee", montant_accorde=Decimal(accorde))
    return LigneFinancement.objects.select_related("demande").get(pk=ligne.pk)


def acte(m: Monde, *lignes: LigneFinancement, executoire: bool = True, exercice: int = 2015) -> ActeAttribution:
    """The convention granting `lignes`, signed (échéancier: advance due), its comptes-rendus opened. One acte per
    financeur, porteur and exercice: a second acte of the same porteur takes another `exercice`."""
    objet = ActeAttribution.objects.create(
        financeur=m.financeur,
        porteur=m.porteur,
        campagne=m.campagne,
        exercice=exercice,
        nature="convention",
        numero=f"{m.financeur.code.upper()}-{exercice}-{next(_numeros):04d}",
        montant_total=sum((lf.montant_accorde for lf in lignes), Decimal("0.00")),
    )
    for lf in lignes:
        ActeLigne.objects.create(acte=objet, ligne=lf, montant=lf.montant_accorde)
    if executoire:
        rendre_executoire(objet)
        services.comptes_rendus_ouvrir(acte=objet)
    return ActeAttribution.objects.get(pk=objet.pk)


def payer_avance(m: Monde, objet: ActeAttribution) -> Paiement:
    avance = Paiement.objects.get(echeancier__acte=objet, nature="avance")
    liste_creer(criteres=Criteres(financeur=m.financeur, paiement_ids=[avance.pk]), acteur=m.finance)
    avance = Paiement.objects.get(pk=avance.pk)
    return paiement_payer(paiement=avance, acteur=m.finance, reference="VIR-AV", date=timezone.localdate())


def compte_rendu(objet: ActeAttribution, lf: LigneFinancement | None = None) -> CompteRendu:
    qs = CompteRendu.objects.filter(acte=objet)
    if lf is not None:
        qs = qs.filter(demande_id=lf.demande_id)
    return qs.get()


def saisie(cr: CompteRendu, *, facteur: str = "1", produits: str | None = None, **champs) -> services.Saisie:
    """Every charge at `facteur` × its forecast, every produit at `produits` × (default: the same factor); the
    indicators reached; the text filled."""
    f = Decimal(facteur)
    fp = Decimal(produits) if produits is not None else f
    realises = {
        lg.pk: (lg.prevu * (f if lg.sens == "charge" else fp)).quantize(CENTIME, rounding=ROUND_HALF_UP)
        for lg in cr.lignes.all()
    }
    valeurs = {
        "actions_realisees": "Trente ateliers au centre social, restitution le 20 novembre.",
        "public_touche": "Collégiens du quartier, 85 % en QPV.",
        "beneficiaires": 32,
        "ecarts_expliques": "Une intervenante absente deux mois.",
    }
    valeurs.update(champs)
    return services.Saisie(
        champs=valeurs,
        realises=realises,
        indicateurs={i.pk: (i.nom, i.cible or "12") for i in cr.indicateurs.all()},
    )


def deposer(cr: CompteRendu, user, *, facteur: str = "1", **kw) -> CompteRendu:
    cr = services.compte_rendu_enregistrer(compte_rendu=cr, user=user, saisie=saisie(cr, facteur=facteur, **kw))
    return services.compte_rendu_deposer(compte_rendu=cr, user=user)


def recharger(cr: CompteRendu) -> CompteRendu:
    return CompteRendu.objects.get(pk=cr.pk)


def membre(porteur, role: str):
    return Membre.objects.filter(porteur=porteur, role=role).select_related("user").first().user
