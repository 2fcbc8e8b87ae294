"""The national scale of the demo (`seed_demo --scale national`): a contrat de ville the size of a national programme.

About 25 000 deposited demandes of campagne 2015 from 12 000 porteurs spread over 1 500 QPV in 56 territoires (the
six of Marseille and fifty more, one per large city, about thirty QPV each), five financeurs, two closed séances
that decide every recevable demande, the conventions and arrêtés of what was granted (one per financeur and
porteur, numbered as the product numbers them), and the payments of the executory part (échéanciers, advances
paid, exported or due, one liste per financeur).

Built for benchmarks: everything is decided in Python first (seeded generator: same seed, same rows), then written
with bulk_create in batches, never row by row, without signals, services or PDF rendering; the narrow tables of
plain ids and values (M2M links, budget lines, indicateurs, pièces of the demandes: two thirds of the rows) go
through the cursor's executemany, which skips building a model instance per row. What the bulk leaves out, on
purpose: the transition log, signatures and the PDF documents (the actes are marked `a_generer`: a worker would
render them), decision letters and comptes-rendus. The rules the services enforce still hold: granted ≤ asked and
≤ the financeur's part_max of the action's charges, one document per (financeur, porteur, exercice) holding exactly
the granted lines of that porteur for that financeur, numbers FINANCEUR-EXERCICE-NNNN given per financeur in the
order of the porteurs (as `conventions_batir` does), payments that add up to each executory acte.

`TAILLE` scales everything (the tests set it to a few hundredths). Idempotent: nothing is written when the first
national porteur exists.
"""

from __future__ import annotations

import hashlib
import logging
import random
import time as chrono
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from itertools import islice
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.files.base import ContentFile
from django.db import connection, transaction
from django.db.models import DateTimeField, ExpressionWrapper, F

from associations.enums import RoleMembre
from associations.models import Membre, Piece, Porteur
from subventions.campagnes.models import Campagne, Enveloppe
from subventions.comites.enums import Decision, KindSeance, StatutSeance
from subventions.comites.models import DecisionLigne, PointOrdreDuJour, Seance
from subventions.comptes.models import User
from subventions.conventions.models import ActeAttribution, ActeLigne, CompteurActes, NatureActe, StatutActe
from subventions.conventions.services import nature_pour
from subventions.demandes.enums import SENS_PAR_COMPTE, Avis, StatutDemande, StatutLigne
from subventions.demandes.models import (
    Demande,
    Indicateur,
    LigneBudget,
    LigneFinancement,
    PieceDemande,
)
from subventions.demandes.services import identification_porteur
from subventions.demo_demandes import (
    BANQUES,
    DemandePrevue,
    PorteurPrevu,
    _pdf_demo,
    demande_deposee,
    empreinte_prevue,
    planifier_campagne,
    siret_demo,
)
from subventions.demo_finance import horloge
from subventions.paiements.enums import NaturePaiement, StatutPaiement
from subventions.paiements.models import (
    AcomptePrevu,
    CompteurListes,
    Echeancier,
    LigneListe,
    ListePaiements,
    Paiement,
)
from subventions.paiements.services import _ajouter_mois, echeancier_repartir, reference_paiement
from subventions.referentiel.models import QPV, Objectif, Territoire

logger = logging.getLogger(__name__)

PARIS = ZoneInfo("Europe/Paris")
DOMAINE = "demo.test"

# Full size; TAILLE scales porteurs, demandes and QPV (the tests run the same code at a few hundredths).
NB_PORTEURS = 12_000
NB_DEMANDES = 25_000
NB_QPV = 1_500
TAILLE = 1.0
LOT = 2_000  # batch_size of every bulk write
DUREES: dict[str, float] = {}  # seconds per step of the last run (seed_demo -v 2 prints them)
# National porteurs' ranks are offset: their SIRET and e-mail never meet the Marseille demo's (ranks 1 to 300).
DECALAGE = 100_000
CREE_LE = datetime(2014, 9, 1, 9, 0, tzinfo=PARIS)
COMPTE_ASSOCIATION = f"association@{DOMAINE}"
INSTRUCTEUR = f"instructeur.etat@{DOMAINE}"
INSTRUCTEUR_VILLE = f"instructeur.ville@{DOMAINE}"
COMITE = f"comite@{DOMAINE}"
FINANCE = f"finance.etat@{DOMAINE}"

# Two séances (other dates than the Marseille demo's): date, share of the decided demandes, day the agenda was set.
SEANCES = ((date(2015, 5, 12), 0.3, date(2015, 4, 28)), (date(2015, 6, 23), 0.7, date(2015, 6, 9)))
PART_IRRECEVABLE = 0.06
PART_REFUSEE = 0.2  # of the demandes, refused in comité
PART_COFINANCEMENT_REFUSE = 0.2  # other financeurs' lines refused on validated demandes
PAS = Decimal("50")
CENTIME = Decimal("0.01")
LISTE_LE = datetime(2015, 9, 15, 10, 0, tzinfo=PARIS)
PAYE_LE = date(2015, 10, 5)
MOTIF_DEFAVORABLE = "Action peu articulée avec les objectifs du contrat de ville."
MOTIF_RESERVE = "Montant ajusté à l'enveloppe disponible et au nombre de bénéficiaires."

# Fifty large cities with quartiers prioritaires (département, city): one territoire de projet each.
VILLES = [
    (1, "Bourg-en-Bresse"), (2, "Saint-Quentin"), (6, "Nice"), (10, "Troyes"), (14, "Caen"), (17, "La Rochelle"),
    (21, "Dijon"), (25, "Besançon"), (26, "Valence"), (29, "Brest"), (30, "Nîmes"), (31, "Toulouse"),
    (33, "Bordeaux"), (34, "Montpellier"), (35, "Rennes"), (37, "Tours"), (38, "Grenoble"), (42, "Saint-Étienne"),
    (44, "Nantes"), (45, "Orléans"), (49, "Angers"), (51, "Reims"), (54, "Nancy"), (57, "Metz"), (59, "Lille"),
    (60, "Beauvais"), (62, "Lens"), (63, "Clermont-Ferrand"), (64, "Pau"), (66, "Perpignan"), (67, "Strasbourg"),
    (68, "Mulhouse"), (69, "Lyon"), (71, "Chalon-sur-Saône"), (72, "Le Mans"), (75, "Paris"), (76, "Rouen"),
    (77, "Meaux"), (78, "Mantes-la-Jolie"), (80, "Amiens"), (83, "Toulon"), (84, "Avignon"), (86, "Poitiers"),
    (87, "Limoges"), (90, "Belfort"), (91, "Évry-Courcouronnes"), (92, "Nanterre"), (93, "Saint-Denis"),
    (94, "Créteil"), (95, "Sarcelles"),
]  # fmt: skip
QUARTIERS = [
    "Les Tilleuls",
    "Le Mail",
    "La Source",
    "Les Églantiers",
    "Le Bois-Joli",
    "Les Peupliers",
    "La Croix-Rouge",
    "Le Clos Fleuri",
    "Les Hautes Rives",
    "Le Plateau",
    "Les Aubépines",
    "La Roseraie",
    "Le Val Fourré",
    "Les Acacias",
    "La Plaine",
    "Les Bleuets",
    "Le Moulin",
    "Les Sablons",
    "La Colline",
    "Les Cèdres",
    "Le Parc",
    "Les Marronniers",
    "La Gare",
    "Les Coteaux",
    "Le Vieux Bourg",
    "Les Glycines",
    "La Forêt",
    "Les Lilas",
    "Le Centre ancien",
    "Les Jardins",
]


def tailles(taille: float | None = None) -> tuple[int, int, int]:
    """(porteurs, demandes, QPV) at `taille` (TAILLE by default)."""
    t = TAILLE if taille is None else taille
    return max(20, round(NB_PORTEURS * t)), max(40, round(NB_DEMANDES * t)), max(60, round(NB_QPV * t))


def email_national(rang: int) -> str:
    return f"porteur.n{rang:05d}@{DOMAINE}"


def _floor(valeur: Decimal) -> Decimal:
    return ((valeur / PAS).to_integral_value(rounding=ROUND_DOWN) * PAS).quantize(CENTIME)


class _Etapes:
    """Durations of the steps, logged (and returned) to see where the seed spends its time."""

    def __init__(self) -> None:
        self.debut = self.precedent = chrono.perf_counter()
        self.durees: dict[str, float] = {}

    def __call__(self, nom: str) -> None:
        maintenant = chrono.perf_counter()
        self.durees[nom] = round(maintenant - self.precedent, 2)
        logger.info("seed national: %s en %.1f s", nom, maintenant - self.precedent)
        self.precedent = maintenant


# --- Référentiel ---------------------------------------------------------------------------------------------------


def _referentiel(campagne: Campagne, nb_qpv: int) -> dict[str, tuple[int, str]]:
    """Fifty territoires with QPV so that the contrat has `nb_qpv` QPV in all. Returns territoire code →
    (département, commune) for every territoire of the contrat."""
    contrat = campagne.contrat
    existants = {t.code: t for t in Territoire.objects.filter(contrat=contrat)}
    lieux = dict.fromkeys(existants, (13, "Marseille"))
    for dep, ville in VILLES:
        lieux[f"nat-{dep:02d}"] = (dep, ville)
    if any(code.startswith("nat-") for code in existants):
        return lieux
    deja = QPV.objects.filter(territoires__contrat=contrat).distinct().count()
    reste = max(0, nb_qpv - deja)
    # About thirty QPV per city at full size; fewer cities when the data set is scaled down (none left empty).
    villes = VILLES[: min(len(VILLES), max(1, reste // 20))] if reste else []
    if not villes:
        return lieux
    crees = Territoire.objects.bulk_create(
        [
            Territoire(contrat=contrat, code=f"nat-{dep:02d}", nom=f"{ville} — quartiers prioritaires")
            for dep, ville in villes
        ],
        batch_size=LOT,
    )
    qpvs, liens = [], []
    for i in range(reste):
        t = crees[i % len(crees)]
        dep, ville = lieux[t.code]
        k = i // len(crees)
        nom = QUARTIERS[k % len(QUARTIERS)] + (f" {k // len(QUARTIERS) + 1}" if k >= len(QUARTIERS) else "")
        qpvs.append(QPV(code=f"QN{dep:02d}{k:03d}M", nom=nom, commune=ville, generation=2015, code_fictif=True))
        liens.append(t)
    qpvs = QPV.objects.bulk_create(qpvs, batch_size=LOT)
    Territoire.qpvs.through.objects.bulk_create(
        [Territoire.qpvs.through(territoire=t, qpv=q) for t, q in zip(liens, qpvs, strict=True)], batch_size=LOT
    )
    return lieux


# --- Decisions (pure Python) ---------------------------------------------------------------------------------------


@dataclass
class LignePrevue:
    financeur: str
    demande: Decimal
    statut: str = StatutLigne.DEMANDEE
    avis: str = ""
    propose: Decimal | None = None
    accorde: Decimal | None = None
    motivation: str = ""
    avis_le: datetime | None = None


@dataclass
class Issue:
    """What happened to one demande: irrecevable, or decided at a séance (validée or refusée), and its lines."""

    statut: str
    seance: int | None
    lignes: list[LignePrevue] = field(default_factory=list)


def decider(rng: random.Random, demandes: list[DemandePrevue], part_max: dict[str, Decimal]) -> list[Issue]:
    """Irrecevable, refused or validated; validated ones get the État's line and most co-financings, at most what
    was asked and the financeur's part_max of the charges, rounded down to 50 €."""
    issues = []
    for d in demandes:
        tirage = rng.random()
        if tirage < PART_IRRECEVABLE:
            issue = Issue(StatutDemande.IRRECEVABLE, None)
        else:
            valide = tirage >= PART_IRRECEVABLE + PART_REFUSEE
            seance = 0 if rng.random() < SEANCES[0][1] else 1
            issue = Issue(StatutDemande.VALIDEE if valide else StatutDemande.REFUSEE, seance)
        charges = sum((m for c, m in d.budget if c.startswith("6")), Decimal(0))
        for code, demande in d.montants:
            ligne = LignePrevue(code, demande)
            issue.lignes.append(ligne)
            if issue.seance is None or demande <= 0:
                continue
            ligne.avis_le = datetime(2015, 2, rng.randint(2, 27), rng.randint(9, 17), tzinfo=PARIS)
            if issue.statut == StatutDemande.VALIDEE and (code == "etat" or rng.random() >= PART_COFINANCEMENT_REFUSE):
                part = Decimal(1) if rng.random() < 0.45 else Decimal(str(round(rng.uniform(0.6, 0.95), 3)))
                plafond = charges * part_max[code] / 100
                montant = _floor(min(demande, plafond) * part)
                if montant <= 0:
                    montant = min(demande, PAS)
                ligne.statut, ligne.propose, ligne.accorde = StatutLigne.ACCORDEE, montant, montant
                ligne.avis = Avis.FAVORABLE if montant >= demande * Decimal("0.9") else Avis.RESERVE
                ligne.motivation = "" if ligne.avis == Avis.FAVORABLE else MOTIF_RESERVE
            else:
                ligne.statut, ligne.propose, ligne.avis = StatutLigne.REFUSEE, Decimal("0.00"), Avis.DEFAVORABLE
                ligne.motivation = MOTIF_DEFAVORABLE
        if issue.statut == StatutDemande.VALIDEE and not any(ligne.accorde for ligne in issue.lignes):
            issue.statut = StatutDemande.REFUSEE
        issues.append(issue)
    return issues


# --- The seed ------------------------------------------------------------------------------------------------------


@transaction.atomic
def seed_national(*, campagne: Campagne, rng: random.Random, taille: float | None = None) -> dict[str, int]:
    """Write the national data set into `campagne` (see the module's docstring). Returns the counts and durations."""
    nb_porteurs, nb_demandes, nb_qpv = tailles(taille)
    if Porteur.objects.filter(siret=siret_demo(DECALAGE + 1)).exists():
        return {"porteurs": 0, "demandes": 0}
    etape = _Etapes()
    lieux = _referentiel(campagne, nb_qpv)
    plan, financeurs, compteur = planifier_campagne(
        campagne, rng=rng, nb_porteurs=nb_porteurs, nb_demandes=nb_demandes
    )
    plan.demandes.sort(key=lambda d: d.numero)
    issues = decider(rng, plan.demandes, {code: f.part_max for code, f in financeurs.items()})
    etape("plan")

    porteurs = _porteurs_ecrire(campagne, plan.porteurs, lieux)
    etape("porteurs, comptes et pièces")
    # --- Documents: grouped per (financeur, porteur), numbered per financeur in the order of the porteurs.
    porteur_de = {p.rang: o for p, o in zip(plan.porteurs, porteurs.objets, strict=True)}
    groupes: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)  # → [(demande index, line index)]
    for i, (d, issue) in enumerate(zip(plan.demandes, issues, strict=True)):
        for j, ligne in enumerate(issue.lignes):
            if ligne.accorde:
                groupes[(financeurs[ligne.financeur].pk, porteur_de[d.porteur].pk)].append((i, j))
    par_financeur: dict[int, list[tuple[int, int]]] = defaultdict(list)
    for cle in sorted(groupes):
        par_financeur[cle[0]].append(cle)
    financeur_pk = {f.pk: f for f in financeurs.values()}
    statut_acte: dict[tuple[int, int], tuple[str, str, int]] = {}  # → (nature, statut, rank in the financeur)
    executoires_demandes: set[int] = set()
    for fpk, cles in par_financeur.items():
        f = financeur_pk[fpk]
        for rang, cle in enumerate(cles):
            total = sum((issues[i].lignes[j].accorde for i, j in groupes[cle]), Decimal(0))
            nature = nature_pour(financeur=f, total=total)
            if nature == NatureActe.CONVENTION:
                statut = (StatutActe.SIGNEE, StatutActe.SIGNEE_PORTEUR, StatutActe.ENVOYEE)[rang % 3]
            else:
                statut = StatutActe.GENEREE if rang % 3 == 2 else StatutActe.NOTIFIEE
            statut_acte[cle] = (nature, statut, rang)
            if statut in (StatutActe.SIGNEE, StatutActe.NOTIFIEE):
                executoires_demandes.update(i for i, _j in groupes[cle])
    for i in executoires_demandes:
        issues[i].statut = StatutDemande.CONVENTIONNEE

    demandes, lignes = _demandes_ecrire(campagne, plan.demandes, issues, porteur_de, porteurs, financeurs)
    etape("demandes")
    seances = _comites_ecrire(campagne, plan.demandes, issues, demandes, lignes, financeurs)
    etape("séances")
    actes = _actes_ecrire(campagne, groupes, par_financeur, statut_acte, issues, lignes, financeur_pk, plan.demandes)
    etape("conventions")
    paiements = _paiements_ecrire(campagne, actes, financeur_pk, porteur_de.values())
    etape("paiements")
    _enveloppes_ajuster(campagne, issues, plan.demandes, financeurs)
    compteur.dernier = max(compteur.dernier, *(int(d.numero.split("-")[1]) for d in plan.demandes))
    compteur.save(update_fields=["dernier"])
    etape("enveloppes et compteurs")
    DUREES.clear()
    DUREES.update(etape.durees)
    return {
        "porteurs": len(porteurs.objets),
        "demandes": len(demandes),
        "séances": len(seances),
        "actes": len(actes),
        "paiements": paiements,
    }


@dataclass
class _Porteurs:
    objets: list[Porteur]
    user_de: dict[int, User]  # porteur pk → représentant légal
    shas: dict[int, dict[int, tuple[Piece, str]]]  # porteur pk → type pk → (pièce, sha256)


def _porteurs_ecrire(campagne: Campagne, prevus: list[PorteurPrevu], lieux) -> _Porteurs:
    from schwifty import IBAN

    mot_de_passe = make_password(settings.SUBVENTIONS_DEMO_PASSWORD, salt="subventionsdemo2015")
    with horloge(CREE_LE):
        users = User.objects.bulk_create(
            [
                User(
                    email=email_national(p.rang),
                    first_name=p.representant_prenom,
                    last_name=p.representant_nom,
                    password=mot_de_passe,
                    date_joined=CREE_LE,
                )
                for p in prevus
            ],
            batch_size=LOT,
        )
        EmailAddress.objects.bulk_create(
            [EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users], batch_size=LOT
        )
        objets = []
        for p in prevus:
            rang = DECALAGE + p.rang
            dep, ville = lieux.get(p.territoire, (13, "Marseille"))
            banque, bic = BANQUES[p.banque]
            objets.append(
                Porteur(
                    nom=p.nom,
                    sigle=p.sigle,
                    siret=siret_demo(rang),
                    siren=siret_demo(rang)[:9],
                    rna=f"W{dep:02d}{rang:07d}",
                    objet=p.objet,
                    adresse=p.adresse,
                    code_postal=f"{dep:02d}000" if dep != 13 else p.code_postal,
                    commune=ville,
                    telephone=p.telephone,
                    email=f"contact.{email_national(p.rang)}",
                    representant_nom=p.representant_nom,
                    representant_prenom=p.representant_prenom,
                    representant_qualite=p.representant_qualite,
                    representant_email=email_national(p.rang),
                    contact_nom=p.representant_nom,
                    contact_prenom=p.representant_prenom,
                    contact_qualite=p.representant_qualite,
                    contact_email=email_national(p.rang),
                    agrements=p.agrements,
                    utilite_publique=p.utilite_publique,
                    benevoles=p.benevoles,
                    salaries=p.salaries,
                    etpt=p.etpt,
                    volontaires=p.volontaires,
                    adherents=p.adherents,
                    budget_annee_precedente=p.budget_annee_precedente,
                    budget_annee_courante=p.budget_annee_courante,
                    iban=str(IBAN.generate("FR", bank_code=banque, account_code=f"{rang:011d}")),
                    bic=bic,
                )
            )
        objets = Porteur.objects.bulk_create(objets, batch_size=LOT)
        user_de = {o.pk: u for o, u in zip(objets, users, strict=True)}
        membres = [Membre(porteur_id=pk, user=u, role=RoleMembre.REPRESENTANT_LEGAL) for pk, u in user_de.items()]
        # The demo login also represents the first national porteur (it sees deposited requests at this scale too).
        demo_user = User.objects.filter(email=COMPTE_ASSOCIATION).first()
        if demo_user is not None:
            membres.append(Membre(porteur=objets[0], user=demo_user, role=RoleMembre.REPRESENTANT_LEGAL))
        Membre.objects.bulk_create(membres, batch_size=LOT)

        # The vault: each required pièce once per porteur; one small PDF per type, shared by every national porteur.
        types = list(campagne.pieces_requises.order_by("ordre", "code"))
        stockage = Piece._meta.get_field("fichier").storage
        fichiers = {}
        for t in types:
            contenu = _pdf_demo(t.libelle)
            nom = f"pieces/demo-national/{t.code}.pdf"
            if not stockage.exists(nom):
                nom = stockage.save(nom, ContentFile(contenu))
            fichiers[t.pk] = (nom, len(contenu), hashlib.sha256(contenu).hexdigest())
        depuis = date(campagne.exercice - 1, 6, 1)
        pieces = [
            Piece(
                porteur=o,
                type=t,
                fichier=fichiers[t.pk][0],
                nom_original=f"{t.code}.pdf",
                type_mime="application/pdf",
                taille=fichiers[t.pk][1],
                sha256=fichiers[t.pk][2],
                valide_du=depuis if t.duree_validite_mois else None,
                valide_au=_fin_validite(depuis, t.duree_validite_mois),
                depose_par=user_de[o.pk],
            )
            for o in objets
            for t in types
        ]
        pieces = Piece.objects.bulk_create(pieces, batch_size=LOT)
    shas: dict[int, dict[int, tuple[Piece, str]]] = defaultdict(dict)
    for pc in pieces:
        shas[pc.porteur_id][pc.type_id] = (pc, pc.sha256)
    return _Porteurs(objets, user_de, shas)


def _fin_validite(depuis: date, mois: int | None) -> date | None:
    if not mois:
        return None
    annee, mois_fin = divmod(depuis.month - 1 + mois, 12)
    return date(depuis.year + annee, mois_fin + 1, 1) - timedelta(days=1)


def _demandes_ecrire(campagne, prevues, issues, porteur_de, porteurs: _Porteurs, financeurs):
    instructeur = User.objects.get(email=INSTRUCTEUR)
    instructeur_ville = User.objects.filter(email=INSTRUCTEUR_VILLE).first() or instructeur
    territoire_de = dict(Territoire.objects.filter(contrat=campagne.contrat).values_list("code", "pk"))
    identifications = {o.pk: identification_porteur(o) for o in porteurs.objets}
    objets = []
    for d, issue in zip(prevues, issues, strict=True):
        porteur = porteur_de[d.porteur]
        user = porteurs.user_de[porteur.pk]
        demande = demande_deposee(
            d,
            campagne=campagne,
            porteur=porteur,
            user=user,
            identification=identifications[porteur.pk],
            territoire_id=territoire_de.get(d.territoire),
            statut=issue.statut,
            instructeur=instructeur,
        )
        shas = [sha for _pc, sha in porteurs.shas[porteur.pk].values()]
        demande.empreinte = empreinte_prevue(demande, d, exercice=campagne.exercice, pieces=shas)
        objets.append(demande)
    with horloge(campagne.cloture):
        objets = Demande.objects.bulk_create(objets, batch_size=LOT)
    # Created a few weeks before the deposit; last changed at the deposit (undecided) or at the séance.
    ids = [o.pk for o in objets]
    bornes = {"pk__gte": min(ids), "pk__lte": max(ids), "campagne": campagne}
    Demande.objects.filter(**bornes).update(
        cree_le=ExpressionWrapper(F("depose_le") - timedelta(days=12), output_field=DateTimeField()),
        modifie_le=F("depose_le"),
    )
    qpv_de = dict(QPV.objects.values_list("code", "pk"))
    objectif_de = dict(Objectif.objects.filter(pilier__contrat=campagne.contrat).values_list("code", "pk"))
    _inserer(
        Demande.qpvs.through,
        ["demande", "qpv"],
        ((o.pk, qpv_de[c]) for o, d in zip(objets, prevues, strict=True) for c in d.qpvs),
    )
    _inserer(
        Demande.objectifs.through,
        ["demande", "objectif"],
        ((o.pk, objectif_de[c]) for o, d in zip(objets, prevues, strict=True) for c in d.objectifs),
    )
    _inserer(
        Indicateur,
        ["demande", "nom", "cible", "ordre"],
        (
            (o.pk, nom, cible, i)
            for o, d in zip(objets, prevues, strict=True)
            for i, (nom, cible) in enumerate(d.indicateurs)
        ),
    )
    _inserer(
        LigneBudget,
        ["demande", "compte", "sens", "montant"],
        (
            (o.pk, compte, SENS_PAR_COMPTE[compte], montant)
            for o, d in zip(objets, prevues, strict=True)
            for compte, montant in d.budget
        ),
    )
    _inserer(
        PieceDemande,
        ["demande", "type", "piece"],
        ((o.pk, type_id, pc.pk) for o in objets for type_id, (pc, _sha) in porteurs.shas[o.porteur_id].items()),
    )
    lignes: list[list[LigneFinancement]] = []
    a_ecrire = []
    for o, issue in zip(objets, issues, strict=True):
        decide_le = _a_heure(SEANCES[issue.seance][0], 10, 30) if issue.seance is not None else None
        rangee = []
        for lp in issue.lignes:
            decidee = lp.statut in (StatutLigne.ACCORDEE, StatutLigne.REFUSEE)
            ligne = LigneFinancement(
                demande=o,
                financeur=financeurs[lp.financeur],
                montant_demande=lp.demande,
                statut=lp.statut,
                avis=lp.avis,
                montant_propose=lp.propose,
                motivation=lp.motivation,
                avis_par=(instructeur_ville if lp.financeur == "ville-marseille" else instructeur)
                if decidee
                else None,
                avis_le=lp.avis_le,
                montant_accorde=lp.accorde,
                decide_le=decide_le if decidee else None,
                version=3 if decidee else 0,
            )
            rangee.append(ligne)
            a_ecrire.append(ligne)
        lignes.append(rangee)
    LigneFinancement.objects.bulk_create(a_ecrire, batch_size=LOT)
    return objets, lignes


def _inserer(model, champs: list[str], rangees) -> None:
    """INSERT plain rows (ids, text, Decimal) into `model`'s table with executemany, LOT rows at a time: for the narrow
    tables that need no model instance (no auto fields, no signals). `champs` are field names; the other fields get
    their model default, as bulk_create would give them."""
    donnes = [model._meta.get_field(nom) for nom in champs]
    autres = [f for f in model._meta.concrete_fields if f not in donnes and not f.primary_key]
    defauts = tuple(f.get_db_prep_save(f.get_default(), connection) for f in autres)
    colonnes = [f.column for f in donnes + autres]
    table = connection.ops.quote_name(model._meta.db_table)
    sql = "INSERT INTO {} ({}) VALUES ({})".format(  # noqa: S608 (table and columns come from the model's _meta)
        table, ", ".join(connection.ops.quote_name(c) for c in colonnes), ", ".join(["%s"] * len(colonnes))
    )
    rangees = iter(rangees)
    with connection.cursor() as curseur:
        while lot := [(*rangee, *defauts) for rangee in islice(rangees, LOT)]:
            curseur.executemany(sql, lot)


def _a_heure(jour: date, heure: int, minute: int = 0) -> datetime:
    return datetime.combine(jour, time(heure, minute), tzinfo=PARIS)


def _comites_ecrire(campagne, prevues, issues, demandes, lignes, financeurs) -> list[Seance]:
    comite = User.objects.get(email=COMITE)
    seances = Seance.objects.bulk_create(
        [
            Seance(
                campagne=campagne,
                date=jour,
                kind=KindSeance.PROGRAMMATION,
                membres_presents="Préfecture, communes et intercommunalités, CAF, Région, conseils citoyens.",
                statut=StatutSeance.CLOSE,
                cree_par=comite,
                closed_at=_a_heure(jour, 18),
                closed_by=comite,
            )
            for jour, _part, _odj in SEANCES
        ]
    )
    Seance.financeurs.through.objects.bulk_create(
        [Seance.financeurs.through(seance=s, financeur=f) for s in seances for f in financeurs.values()]
    )
    pilier_de = {
        code: (numero, pk)
        for code, numero, pk in Objectif.objects.filter(pilier__contrat=campagne.contrat).values_list(
            "code", "pilier__numero", "pilier_id"
        )
    }
    points, decisions = [], []
    rangs: dict[int, int] = defaultdict(int)
    for d, issue, o, rangee in zip(prevues, issues, demandes, lignes, strict=True):
        if issue.seance is None:
            continue
        rangs[issue.seance] += 1
        seance = seances[issue.seance]
        points.append(
            PointOrdreDuJour(
                seance=seance, demande=o, ordre=rangs[issue.seance], seance_ouverte=False, ajoute_par=comite
            )
        )
        pilier = min((pilier_de[c] for c in d.objectifs), default=(0, None))[1]
        for ligne in rangee:
            if ligne.statut not in (StatutLigne.ACCORDEE, StatutLigne.REFUSEE):
                continue
            accordee = ligne.statut == StatutLigne.ACCORDEE
            decisions.append(
                DecisionLigne(
                    seance=seance,
                    ligne=ligne,
                    financeur_id=ligne.financeur_id,
                    pilier_id=pilier,
                    decision=Decision.ACCORDEE if accordee else Decision.REFUSEE,
                    montant=ligne.montant_accorde if accordee else None,
                    montant_propose=ligne.montant_propose,
                )
            )
    PointOrdreDuJour.objects.bulk_create(points, batch_size=LOT)
    DecisionLigne.objects.bulk_create(decisions, batch_size=LOT)
    for s, (jour, _part, odj) in zip(seances, SEANCES, strict=True):
        Seance.objects.filter(pk=s.pk).update(cree_le=_a_heure(odj - timedelta(days=14), 9))
        PointOrdreDuJour.objects.filter(seance=s).update(ajoute_le=_a_heure(odj, 10))
        # The decided demandes last changed when the séance closed.
        Demande.objects.filter(points_odj__seance=s).update(modifie_le=_a_heure(jour, 18))
    return seances


def _actes_ecrire(campagne, groupes, par_financeur, statut_acte, issues, lignes, financeur_pk, prevues):
    exercice = campagne.exercice
    actes, contenus = [], []
    for fpk, cles in par_financeur.items():
        f = financeur_pk[fpk]
        compteur, _cree = CompteurActes.objects.get_or_create(financeur=f, exercice=exercice)
        for cle in cles:
            nature, statut, rang = statut_acte[cle]
            # Lines in the order conventions_batir reads them: by demande number, then line.
            membres = sorted(groupes[cle], key=lambda ij: (prevues[ij[0]].numero, ij[1]))
            a_lier = [lignes[i][j] for i, j in membres]
            envoyee = datetime(2015, 7, 1, 10, 0, tzinfo=PARIS) + timedelta(days=rang % 20)
            executoire = statut in (StatutActe.SIGNEE, StatutActe.NOTIFIEE)
            actes.append(
                ActeAttribution(
                    financeur=f,
                    porteur_id=cle[1],
                    campagne=campagne,
                    exercice=exercice,
                    annee_fin=exercice + f.duree_cpo - 1 if f.mode_cpo else None,
                    nature=nature,
                    statut=statut,
                    numero=f"{f.code.upper()}-{exercice}-{compteur.dernier + rang + 1:04d}",
                    montant_total=sum((ligne.montant_accorde for ligne in a_lier), Decimal("0.00")),
                    a_generer=True,  # no PDF at this scale: a worker would render them
                    envoyee_le=envoyee if nature == NatureActe.CONVENTION else None,
                    executoire_le=envoyee + timedelta(days=2) if executoire else None,
                )
            )
            contenus.append(a_lier)
        compteur.dernier += len(cles)
        compteur.save(update_fields=["dernier"])
    with horloge(datetime(2015, 6, 30, 20, 0, tzinfo=PARIS)):
        actes = ActeAttribution.objects.bulk_create(actes, batch_size=LOT)
    ActeLigne.objects.bulk_create(
        [
            ActeLigne(acte=a, ligne=ligne, montant=ligne.montant_accorde)
            for a, a_lier in zip(actes, contenus, strict=True)
            for ligne in a_lier
        ],
        batch_size=LOT,
    )
    return actes


def _paiements_ecrire(campagne, actes, financeur_pk, porteurs) -> int:
    """Échéanciers of the executory actes; advances paid (half), exported (a quarter) or due; acomptes and soldes
    prévus. One liste per financeur holds the paid and exported advances."""
    finance = User.objects.filter(email=FINANCE).first()
    banque = {p.pk: (p.iban, p.bic) for p in porteurs}
    acomptes = defaultdict(list)
    for a in AcomptePrevu.objects.order_by("financeur_id", "rang"):
        acomptes[a.financeur_id].append(a)
    executoires = [a for a in actes if a.statut in (StatutActe.SIGNEE, StatutActe.NOTIFIEE)]
    with horloge(LISTE_LE):
        echeanciers = Echeancier.objects.bulk_create(
            [Echeancier(acte=a, taux_avance=financeur_pk[a.financeur_id].taux_avance) for a in executoires],
            batch_size=LOT,
        )
    paiements, dans_liste = [], defaultdict(list)
    rangs: dict[int, int] = defaultdict(int)
    for a, ech in zip(executoires, echeanciers, strict=True):
        f = financeur_pk[a.financeur_id]
        depart = a.executoire_le.astimezone(PARIS).date()
        delais = {rang: ac.delai_mois for rang, ac in enumerate(acomptes[f.pk], start=1)}
        k = rangs[f.pk]
        rangs[f.pk] += 1
        for nature, rang, montant in echeancier_repartir(
            montant_total=a.montant_total, taux_avance=f.taux_avance, taux_acomptes=[ac.taux for ac in acomptes[f.pk]]
        ):
            statut, version, reglement = StatutPaiement.PREVU, 0, None
            if nature == NaturePaiement.AVANCE:
                echeance = depart
                statut, version = (
                    (StatutPaiement.PAYE, 3),
                    (StatutPaiement.PAYE, 3),
                    (StatutPaiement.EXPORTE, 2),
                    (StatutPaiement.A_PAYER, 1),
                )[k % 4]
            elif nature == NaturePaiement.ACOMPTE:
                echeance = _ajouter_mois(depart, delais[rang])
            else:
                echeance = date(a.exercice + 1, 6, 30)
            reference = reference_paiement(a, nature, rang)
            if statut == StatutPaiement.PAYE:
                reglement = (f"VIR-{reference}"[:70], PAYE_LE)
            p = Paiement(
                echeancier=ech,
                financeur=f,
                nature=nature,
                rang=rang,
                reference=reference,
                montant=montant,
                echeance=echeance,
                statut=statut,
                version=version,
                reglement_reference=reglement[0] if reglement else "",
                reglement_date=reglement[1] if reglement else None,
            )
            if statut in (StatutPaiement.PAYE, StatutPaiement.EXPORTE):
                dans_liste[f.pk].append((p, a.porteur_id))
            paiements.append(p)
    with horloge(LISTE_LE):
        Paiement.objects.bulk_create(paiements, batch_size=LOT)
        listes, lignes = [], []
        for fpk in sorted(dans_liste):
            f = financeur_pk[fpk]
            compteur, _cree = CompteurListes.objects.get_or_create(financeur=f, annee=LISTE_LE.year)
            compteur.dernier += 1
            compteur.save(update_fields=["dernier"])
            contenu = dans_liste[fpk]
            liste = ListePaiements(
                financeur=f,
                numero=f"LP-{f.code.upper()}-{LISTE_LE.year}-{compteur.dernier:04d}",
                criteres={"financeur": f.pk, "nature": NaturePaiement.AVANCE},
                nb_paiements=len(contenu),
                montant_total=sum((p.montant for p, _por in contenu), Decimal("0.00")),
                date_execution=LISTE_LE.date(),
                cree_par=finance if f.code == "etat" else None,
                cree_le=LISTE_LE,
            )
            listes.append(liste)
            lignes += [(liste, p, porteur_id) for p, porteur_id in contenu]
        ListePaiements.objects.bulk_create(listes)
        LigneListe.objects.bulk_create(
            [
                LigneListe(liste=liste, paiement=p, montant=p.montant, iban=banque[por][0], bic=banque[por][1])
                for liste, p, por in lignes
            ],
            batch_size=LOT,
        )
    return len(paiements)


def _enveloppes_ajuster(campagne, issues, prevues, financeurs) -> None:
    """The enveloppes of the campagne cover what was granted (3 % left free), as a comité would have voted them."""
    pilier_de = {
        code: (numero, pk)
        for code, numero, pk in Objectif.objects.filter(pilier__contrat=campagne.contrat).values_list(
            "code", "pilier__numero", "pilier_id"
        )
    }
    accorde: dict[tuple[int, int | None], Decimal] = defaultdict(Decimal)
    for d, issue in zip(prevues, issues, strict=True):
        pilier = min((pilier_de[c] for c in d.objectifs), default=(0, None))[1]
        for ligne in issue.lignes:
            if ligne.accorde:
                f = financeurs[ligne.financeur].pk
                accorde[(f, None)] += ligne.accorde
                accorde[(f, pilier)] += ligne.accorde
    cent_mille = Decimal("100000")
    for e in Enveloppe.objects.filter(campagne=campagne):
        besoin = accorde.get((e.financeur_id, e.pilier_id), Decimal(0)) / Decimal("0.97")
        besoin = (besoin / cent_mille).to_integral_value(rounding=ROUND_UP) * cent_mille
        if besoin > e.montant:
            Enveloppe.objects.filter(pk=e.pk).update(montant=besoin.quantize(CENTIME))
