"""Reads of the pilotage app, always scoped. The figures of a campagne are loaded for a `Portee` (the campagne, the
financeurs and territoires the user may see, the filters) in a constant number of queries whatever the number of rows,
then every figure, table and chart is computed in Python from the same facts; `manage.py stats` reads them too, so
the dashboard and the command never disagree."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from operator import attrgetter
from typing import Any, NamedTuple

from django.apps import apps
from django.db.models import (
    CharField,
    Count,
    Exists,
    FilteredRelation,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
)
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from subventions.campagnes.models import Campagne
from subventions.campagnes.selectors import campagnes_visibles
from subventions.comites.enums import Decision, StatutSeance
from subventions.comites.models import Seance
from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre, scope_queryset
from subventions.conventions.models import ActeAttribution, ActeLigne, NatureActe, StatutActe
from subventions.conventions.stats import LIBELLES_CONVENTIONS
from subventions.demandes.enums import StatutDemande, StatutLigne
from subventions.demandes.models import Demande, LigneFinancement
from subventions.demandes.stats import LIBELLES as LIBELLES_DEMANDES
from subventions.demandes.stats import VALIDEES, taux
from subventions.paiements.enums import StatutPaiement
from subventions.paiements.models import Paiement
from subventions.pilotage.models import CampagneHistorique, ImportSubventions
from subventions.referentiel.models import Financeur, Pilier, Territoire

# Staff who read the dashboards, each for the financeurs (and, instructeurs, territoires) of their habilitations.
ROLES_PILOTAGE = (Role.INSTRUCTEUR, Role.COMITE, Role.SIGNATAIRE, Role.FINANCE, Role.ADMINISTRATEUR)
ROLES_IMPORT = (Role.ADMINISTRATEUR,)
ZERO = Decimal("0.00")
CENTIME = Decimal("0.01")
EXECUTOIRES = (StatutActe.SIGNEE, StatutActe.NOTIFIEE, StatutActe.SOLDEE)
# A demande whose instruction is over (an avis was given on each line), whatever was decided since.
INSTRUITES = (
    StatutDemande.INSTRUITE,
    StatutDemande.INSCRITE,
    StatutDemande.AJOURNEE,
    StatutDemande.REFUSEE,
    *VALIDEES,
)

# Every key of `manage.py stats`, in order, with its French label (the earlier issues' keys keep their meaning).
LIBELLES: dict[str, str] = {
    "campagne": LIBELLES_DEMANDES["campagne"],
    "financeur": LIBELLES_DEMANDES["financeur"],
    "actions_deposees": LIBELLES_DEMANDES["actions_deposees"],
    "porteurs": LIBELLES_DEMANDES["porteurs"],
    "actions_validees": LIBELLES_DEMANDES["actions_validees"],
    "taux_validation": LIBELLES_DEMANDES["taux_validation"],
    "comites": LIBELLES_DEMANDES["comites"],
    "montant_demande": LIBELLES_DEMANDES["montant_demande"],
    "montant_propose": "Montant total proposé par l'instruction (€)",
    "montant_accorde": LIBELLES_DEMANDES["montant_accorde"],
    "montant_paye": "Montant total payé (€)",
    "porteurs_finances": "Porteurs financés",
    **LIBELLES_CONVENTIONS,
}


class Taux(Decimal):
    """A ratio (0.93), shown as a percentage; a Decimal so that files keep it as a number."""


class Nombre(Decimal):
    """A plain decimal number (an average), not an amount in euros."""


@dataclass(frozen=True)
class Portee:
    """What the figures cover: a campagne; the financeurs (None: all) and territoires (None: all) of the perimeter;
    the filters chosen on the page (a territoire, a pilier: actions with an objectif of that pilier)."""

    campagne: Campagne
    financeur_ids: frozenset[int] | None = None
    territoire_ids: frozenset[int] | None = None
    territoire: int | None = None
    pilier: int | None = None

    @property
    def partielle(self) -> bool:
        """True when some actions of a document may fall outside: its payments are then shared pro rata."""
        return self.territoire_ids is not None or bool(self.territoire) or bool(self.pilier)


# --- Perimeter of a user --------------------------------------------------------------------------------------------


def financeurs_pilotage(user, *, roles=ROLES_PILOTAGE) -> QuerySet[Financeur]:
    return scope_queryset(Financeur.objects.all(), user, roles=roles, financeur_field="pk").order_by("nom")


def campagnes_pilotage(user) -> QuerySet[Campagne]:
    return campagnes_visibles(user, roles=ROLES_PILOTAGE)


def campagnes_du_tableau(user) -> list[Campagne]:
    """The campagnes of the dashboard's selector in one query, each with `a_des_depots` (a deposited demande) and
    `est_historique` (an imported past programme), what the page needs to choose the campagne shown by default."""
    return list(
        campagnes_pilotage(user)
        .prefetch_related(None)
        .annotate(
            a_des_depots=Exists(Demande.objects.filter(campagne=OuterRef("pk")).exclude(numero="")),
            est_historique=Exists(CampagneHistorique.objects.filter(campagne=OuterRef("pk"))),
        )
    )


def financeurs_du_tableau(user, campagne: Campagne) -> list[Financeur]:
    """The financeurs of the user's perimeter (the SCDL form lists them) in one query, each with `dans_campagne`
    (the dashboard's financeur filter lists those taking part in `campagne`)."""
    return list(
        financeurs_pilotage(user).annotate(
            dans_campagne=Exists(
                Campagne.financeurs.through.objects.filter(campagne_id=campagne.pk, financeur_id=OuterRef("pk"))
            )
        )
    )


def portee_de(
    user,
    *,
    campagne: Campagne,
    financeur: int | None = None,
    territoire: int | None = None,
    pilier: int | None = None,
) -> Portee:
    """The user's Portee on `campagne`. A financeur outside the perimeter is a 404, like any foreign object."""
    p = perimetre(user, ROLES_PILOTAGE)
    if p.vide:
        raise Http404
    financeurs = None if p.tous_financeurs else frozenset(p.financeur_ids)
    if financeur is not None:
        if financeurs is not None and financeur not in financeurs:
            raise Http404("Financeur introuvable.")
        financeurs = frozenset({financeur})
    territoires = None if p.tous_territoires else frozenset(p.territoire_ids)
    if territoire is not None and territoires is not None and territoire not in territoires:
        raise Http404("Territoire introuvable.")
    return Portee(campagne, financeurs, territoires, territoire, pilier)


# --- The querysets of a Portee ---------------------------------------------------------------------------------------


def demandes_portee(portee: Portee) -> QuerySet[Demande]:
    """Deposited demandes (they have a dossier number) of the campagne; with financeurs, those asking one of them a
    positive amount; within the territoires and pilier asked."""
    qs = Demande.objects.filter(campagne=portee.campagne).exclude(numero="")
    if portee.financeur_ids is not None:
        qs = qs.filter(
            Exists(
                LigneFinancement.objects.filter(
                    demande=OuterRef("pk"), financeur_id__in=portee.financeur_ids, montant_demande__gt=0
                )
            )
        )
    if portee.territoire_ids is not None:
        qs = qs.filter(territoire_id__in=portee.territoire_ids)
    if portee.territoire:
        qs = qs.filter(territoire_id=portee.territoire)
    if portee.pilier:
        qs = qs.filter(
            Exists(
                Demande.objectifs.through.objects.filter(demande_id=OuterRef("pk"), objectif__pilier_id=portee.pilier)
            )
        )
    return qs


def _paye_par_acte():
    return Subquery(
        Paiement.objects.filter(echeancier__acte=OuterRef("pk"), statut=StatutPaiement.PAYE)
        .order_by()
        .values("echeancier__acte")
        .annotate(total=Sum("montant"))
        .values("total")[:1]
    )


def _lignes_par_acte():
    return Subquery(
        ActeLigne.objects.filter(acte=OuterRef("pk"))
        .order_by()
        .values("acte")
        .annotate(n=Count("pk"))
        .values("n")[:1],
        output_field=IntegerField(),
    )


# --- Facts ---------------------------------------------------------------------------------------------------------


class DemandeF(NamedTuple):
    pk: int
    porteur_id: int
    porteur_nom: str
    porteur_siret: str
    statut: str
    territoire_id: int | None
    pilier_id: int | None  # the main pilier, read with the dimensions (None without them)


class LigneF(NamedTuple):
    pk: int
    demande_id: int
    financeur_id: int
    statut: str
    demande: Decimal
    propose: Decimal
    accorde: Decimal  # 0 unless the line is accordée
    acte_id: int | None
    acte_montant: Decimal


class ActeF(NamedTuple):
    pk: int
    financeur_id: int
    nature: str
    est_avenant: bool
    statut: str
    montant_total: Decimal
    nb_lignes: int
    paye: Decimal


@dataclass
class Faits:
    portee: Portee
    demandes: dict[int, DemandeF]
    lignes: list[LigneF]
    actes: dict[int, ActeF]
    comites: list[dict[str, Any]]
    paye: dict[int, Decimal] = field(default_factory=dict)  # line → its share of the payments of its document
    objectifs: dict[int, list[int]] = field(default_factory=dict)  # demande → objectifs
    qpvs: dict[int, list[int]] = field(default_factory=dict)  # demande → QPV
    libelles: dict[str, dict] = field(default_factory=dict)  # "pilier" / "objectif" / … → {pk: label}
    # What is derived from the facts once and read by every table of the dashboard (lines per demande, figures).
    calculs: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def lignes_de(self) -> dict[int, list[LigneF]]:
        """The lines of each demande (computed once; callers only read it)."""
        par_demande = self.calculs.get("lignes_de")
        if par_demande is None:
            par_demande = self.calculs["lignes_de"] = defaultdict(list)
            for ligne in self.lignes:
                par_demande[ligne.demande_id].append(ligne)
        return par_demande

    def validees(self) -> set[int]:
        """The demandes validated in the Portee, computed once: validated (or later); with financeurs, one of their
        lines accordée."""
        resultat = self.calculs.get("validees")
        if resultat is None:
            resultat = {d.pk for d in self.demandes.values() if d.statut in VALIDEES}
            if self.portee.financeur_ids is not None:
                resultat &= {ligne.demande_id for ligne in self.lignes if ligne.statut == StatutLigne.ACCORDEE}
            self.calculs["validees"] = resultat
        return resultat

    def sommes(self) -> dict[int, tuple[Decimal, Decimal, Decimal, Decimal]]:
        """What each demande's lines add up to (demandé, proposé, accordé, payé), computed once: a table by dimension
        then adds one tuple per demande and key instead of every line (the same sums: decimals add exactly)."""
        resultat = self.calculs.get("sommes")
        if resultat is None:
            resultat = self.calculs["sommes"] = {}
            for demande_id, lignes in self.lignes_de().items():
                demande = propose = accorde = paye = ZERO
                for ligne in lignes:
                    demande += ligne.demande
                    propose += ligne.propose
                    accorde += ligne.accorde
                    paye += self.paye.get(ligne.pk, ZERO)
                resultat[demande_id] = (demande, propose, accorde, paye)
        return resultat


def faits_charger(portee: Portee, *, dimensions: bool = False) -> Faits:
    """The facts of a Portee: 3 queries (demandes with their lines, documents with their payments, comités); with
    `dimensions`, 4 more (objectifs and QPV of each action, the labels of piliers and objectifs, of territoires, of
    financeurs) for the tables by dimension. Never more, whatever the number of rows.

    The queries read the campagne's demandes by plain filters and joins, and the financeurs' condition of
    `demandes_portee` (a line of theirs asking a positive amount) is applied here on the rows read: a semi-join
    repeated in each query cost more than the rows it spared, and its plan depended on the planner's estimates."""
    demandes, lignes = _demandes_et_lignes(portee)
    actes = _actes(portee, lignes)
    faits = Faits(portee, demandes, lignes, actes, _comites(portee, demandes))
    faits.paye = _repartir_paiements(lignes, actes)
    if dimensions:
        _dimensions_charger(faits)
    return faits


def _demandes_campagne(portee: Portee) -> QuerySet[Demande]:
    """`demandes_portee` without the financeurs' condition (checked on the rows read, see `faits_charger`)."""
    return demandes_portee(replace(portee, financeur_ids=None))


def _demandes_et_lignes(portee: Portee) -> tuple[dict[int, DemandeF], list[LigneF]]:
    """The demandes of the Portee and their lines (those of its financeurs), with the document line of each, in one
    query: one row per line, or one for a demande without line. `pilier_id` is filled with the dimensions."""
    financeurs = portee.financeur_ids
    qs = _demandes_campagne(portee)
    if financeurs is None:
        ligne = "lignes_financement"
    else:
        # The lines of the Portee's financeurs only, in the join (a demande without one still gives a row).
        ligne = "ligne_portee"
        qs = qs.annotate(
            ligne_portee=FilteredRelation(
                "lignes_financement", condition=Q(lignes_financement__financeur_id__in=financeurs)
            )
        )
    rows = qs.order_by().values_list(
        "pk",
        "porteur_id",
        "porteur__nom",
        "porteur__siret",
        "statut",
        "territoire_id",
        f"{ligne}__pk",
        f"{ligne}__financeur_id",
        f"{ligne}__statut",
        f"{ligne}__montant_demande",
        f"{ligne}__montant_propose",
        f"{ligne}__montant_accorde",
        f"{ligne}__acte_ligne__acte_id",
        f"{ligne}__acte_ligne__montant",
    )
    demandes: dict[int, DemandeF] = {}
    lignes: list[LigneF] = []
    sollicitees: set[int] = set()  # demandes asking one of the financeurs a positive amount
    for pk, porteur_id, nom, siret, statut_demande, territoire_id, ligne_pk, *reste in rows:
        if pk not in demandes:
            demandes[pk] = DemandeF(pk, porteur_id, nom, siret, statut_demande, territoire_id, None)
        if ligne_pk is None:
            continue
        financeur_id, statut, demande, propose, accorde, acte_id, acte_montant = reste
        if demande > 0:
            sollicitees.add(pk)
        lignes.append(
            LigneF(
                ligne_pk,
                pk,
                financeur_id,
                statut,
                demande or ZERO,
                propose or ZERO,
                (accorde or ZERO) if statut == StatutLigne.ACCORDEE else ZERO,
                acte_id,
                acte_montant or ZERO,
            )
        )
    if financeurs is not None:
        demandes = {pk: d for pk, d in demandes.items() if pk in sollicitees}
        lignes = [ligne for ligne in lignes if ligne.demande_id in sollicitees]
    lignes.sort(key=attrgetter("pk"))
    return dict(sorted(demandes.items())), lignes


def _actes(portee: Portee, lignes: list[LigneF]) -> dict[int, ActeF]:
    """Documents of the campagne (of the financeurs), each with its number of lines and what was paid on it; under a
    filter (`Portee.partielle`), those with at least one action in it, i.e. a line among `lignes`."""
    qs = ActeAttribution.objects.filter(campagne=portee.campagne)
    if portee.financeur_ids is not None:
        qs = qs.filter(financeur_id__in=portee.financeur_ids)
    rows = (
        qs.annotate(nb=Coalesce(_lignes_par_acte(), Value(0)), paye=_paye_par_acte())
        .order_by()
        .values_list("pk", "financeur_id", "nature", "est_avenant", "statut", "montant_total", "nb", "paye")
    )
    en_portee = {ligne.acte_id for ligne in lignes} if portee.partielle else None
    return {
        row[0]: ActeF(*row[:-2], row[-2] or 0, row[-1] or ZERO)
        for row in rows
        if en_portee is None or row[0] in en_portee
    }


def _arrondi(valeur: Decimal) -> Decimal:
    return valeur.quantize(CENTIME, rounding=ROUND_HALF_UP)


def _repartir_paiements(lignes: list[LigneF], actes: dict[int, ActeF]) -> dict[int, Decimal]:
    """What was paid on a document, shared among its actions pro rata of their amounts. When every action of the
    document is in the scope, the shares are rounded cumulatively so that they add up to the payments exactly."""
    par_acte: dict[int, list[LigneF]] = defaultdict(list)
    for ligne in lignes:
        if ligne.acte_id in actes:
            par_acte[ligne.acte_id].append(ligne)
    parts: dict[int, Decimal] = {}
    for acte_id, siennes in par_acte.items():
        acte = actes[acte_id]
        if not acte.paye or not acte.montant_total:
            continue
        if len(siennes) == acte.nb_lignes:
            cumul, deja = ZERO, ZERO
            for ligne in siennes:
                cumul += ligne.acte_montant
                total = _arrondi(acte.paye * cumul / acte.montant_total)
                parts[ligne.pk] = total - deja
                deja = total
        else:
            for ligne in siennes:
                parts[ligne.pk] = _arrondi(acte.paye * ligne.acte_montant / acte.montant_total)
    return parts


def _dimensions_charger(faits: Faits) -> None:
    """Objectifs and QPV of each action (one UNION ALL query, the objectifs with their pilier to find each action's
    main one, the QPV with their labels), the piliers of the contrat with their objectifs (one query: a pilier
    without objectif is listed too), territoires and financeurs."""
    portee = faits.portee
    demandes = _demandes_campagne(portee)  # the rows of demandes outside the Portee are skipped below
    rien = Value("", output_field=CharField())
    zero = Value(0, output_field=IntegerField())
    liens = (
        Demande.objectifs.through.objects.filter(demande__in=demandes)
        .order_by()
        .values_list(
            Value("o", output_field=CharField()),
            "demande_id",
            "objectif_id",
            rien,
            rien,
            "objectif__pilier__numero",
            "objectif__pilier_id",
        )
        .union(
            Demande.qpvs.through.objects.filter(demande__in=demandes)
            .order_by()
            .values_list(
                Value("q", output_field=CharField()), "demande_id", "qpv_id", "qpv__code", "qpv__nom", zero, zero
            ),
            all=True,
        )
    )
    qpvs = {}
    # The main pilier of an action, as the comités count it: that of its first objectif by pilier number.
    principal: dict[int, tuple[int, int, int]] = {}
    for nature, demande_id, cible, code, nom, numero, pilier_id in liens:
        if demande_id not in faits.demandes:
            continue
        if nature == "o":
            faits.objectifs.setdefault(demande_id, []).append(cible)
            rang = (numero, pilier_id, cible)
            if demande_id not in principal or rang < principal[demande_id]:
                principal[demande_id] = rang
        else:
            faits.qpvs.setdefault(demande_id, []).append(cible)
            if cible not in qpvs:
                qpvs[cible] = f"{code} — {nom}"
    for demande_id, (_numero, pilier_id, _objectif) in principal.items():
        faits.demandes[demande_id] = DemandeF(*faits.demandes[demande_id][:-1], pilier_id)
    contrat_id = portee.campagne.contrat_id
    objectifs, piliers = {}, {}
    ordre_objectifs, ordre_piliers = {}, {}
    for pilier_id, numero, pilier_libelle, pk, code, libelle, ordre in (
        Pilier.objects.filter(contrat_id=contrat_id)
        .order_by("numero", "pk", "objectifs__ordre", "objectifs__code")
        .values_list(
            "pk", "numero", "libelle", "objectifs__pk", "objectifs__code", "objectifs__libelle", "objectifs__ordre"
        )
    ):
        piliers[pilier_id] = f"{numero}. {pilier_libelle}"
        ordre_piliers[pilier_id] = numero
        if pk is not None:
            objectifs[pk] = f"{code} — {libelle}"
            ordre_objectifs[pk] = (numero, ordre, code)
    territoires = dict(Territoire.objects.filter(contrat_id=contrat_id).order_by("nom").values_list("pk", "nom"))
    ids_financeurs = {ligne.financeur_id for ligne in faits.lignes} | {a.financeur_id for a in faits.actes.values()}
    financeurs = dict(Financeur.objects.filter(pk__in=ids_financeurs).order_by("nom").values_list("pk", "nom"))
    faits.libelles = {
        "pilier": piliers,
        "objectif": objectifs,
        "territoire": territoires,
        "qpv": qpvs,
        "financeur": financeurs,
        "ordre_pilier": ordre_piliers,
        "ordre_objectif": ordre_objectifs,
    }


def _comites(portee: Portee, demandes: dict[int, DemandeF]) -> list[dict[str, Any]]:
    """Per closed séance of the campagne (by date): the demandes validated at it, i.e. validated demandes of the
    Portee with a line granted in that séance's frozen decisions (DecisionLigne); with financeurs, a decision of
    theirs. One row per granted decision is read, checked against the demandes already read."""
    accordees = Q(decisions__decision=Decision.ACCORDEE)
    if portee.financeur_ids is not None:
        accordees &= Q(decisions__financeur_id__in=portee.financeur_ids)
    rows = (
        Seance.objects.filter(campagne=portee.campagne, statut=StatutSeance.CLOSE)
        .annotate(accordee=FilteredRelation("decisions", condition=accordees))
        .order_by("date", "pk")
        .values_list("pk", "date", "accordee__ligne__demande_id")
    )
    seances: dict[int, tuple[date, set[int]]] = {}
    for pk, jour, demande_id in rows:
        _jour, validees = seances.setdefault(pk, (jour, set()))
        demande = demandes.get(demande_id)
        if demande is not None and demande.statut in VALIDEES:
            validees.add(demande_id)
    return [{"date": jour.isoformat(), "actions_validees": len(validees)} for jour, validees in seances.values()]


# --- Figures ---------------------------------------------------------------------------------------------------------


def _montant(valeur: Decimal) -> str:
    return str(Decimal(valeur).quantize(CENTIME))


def chiffres(faits: Faits, *, financeur: Financeur | None = None) -> dict[str, Any]:
    """The figures of `manage.py stats` (JSON values: amounts and ratios as strings with two decimals). Computed once
    per facts (the dashboard's tables each print the total): a copy is returned."""
    cle = ("chiffres", financeur.pk if financeur else None)
    if cle not in faits.calculs:
        faits.calculs[cle] = _chiffres(faits, financeur=financeur)
    return dict(faits.calculs[cle])


def _chiffres(faits: Faits, *, financeur: Financeur | None = None) -> dict[str, Any]:
    portee = faits.portee
    validees = faits.validees()
    accordees = [ligne for ligne in faits.lignes if ligne.statut == StatutLigne.ACCORDEE]
    finances = {faits.demandes[ligne.demande_id].porteur_id for ligne in accordees if ligne.accorde > 0}
    base = [a for a in faits.actes.values() if not a.est_avenant]
    conventions = [a for a in base if a.nature == NatureActe.CONVENTION]
    if portee.partielle:
        en_portee = defaultdict(int)
        for ligne in faits.lignes:
            if ligne.acte_id is not None:
                en_portee[ligne.acte_id] += 1
        actions = sum(en_portee[a.pk] for a in conventions)
    else:
        actions = sum(a.nb_lignes for a in conventions)
    moyenne = (
        (Decimal(actions) / Decimal(len(conventions))).quantize(CENTIME, rounding=ROUND_HALF_UP)
        if conventions
        else Decimal("0.00")
    )
    return {
        "campagne": portee.campagne.exercice,
        "financeur": financeur.code if financeur else None,
        "actions_deposees": len(faits.demandes),
        "porteurs": len({d.porteur_id for d in faits.demandes.values()}),
        "actions_validees": len(validees),
        "taux_validation": taux(len(validees), len(faits.demandes)),
        "comites": faits.comites,
        "montant_demande": _montant(sum(map(attrgetter("demande"), faits.lignes), ZERO)),
        "montant_propose": _montant(sum(map(attrgetter("propose"), faits.lignes), ZERO)),
        "montant_accorde": _montant(sum(map(attrgetter("accorde"), accordees), ZERO)),
        "montant_paye": _montant(sum(faits.paye.values(), ZERO)),
        "porteurs_finances": len(finances),
        "conventions": len(conventions),
        "arretes": sum(1 for a in base if a.nature == NatureActe.ARRETE),
        "avenants": sum(1 for a in faits.actes.values() if a.est_avenant),
        "actions_par_convention": str(moyenne),
        "conventions_signees": sum(1 for a in conventions if a.statut in (StatutActe.SIGNEE, StatutActe.SOLDEE)),
        "actes_bloques": sum(1 for a in faits.actes.values() if a.statut == StatutActe.BLOQUEE),
    }


def statistiques_campagne(*, campagne: Campagne, financeur: Financeur | None = None) -> dict[str, Any]:
    """Every figure of `manage.py stats` for a campagne (and a financeur), keys in the order of LIBELLES. Three
    queries."""
    portee = Portee(campagne, frozenset({financeur.pk}) if financeur else None)
    valeurs = chiffres(faits_charger(portee), financeur=financeur)
    return {cle: valeurs[cle] for cle in LIBELLES}


def comptes_rendus_en_retard(portee: Portee) -> int | None:
    """Comptes-rendus financiers still to file past their due date (as the bilans app says "en retard"), for the
    actions and financeurs of the Portee; None when the bilans app has no CompteRendu model. One query."""
    try:
        compte_rendu = apps.get_model("bilans", "CompteRendu")
    except LookupError:
        return None
    qs = compte_rendu.objects.filter(
        demande__in=demandes_portee(portee), statut="a_deposer", echeance__lt=timezone.localdate()
    )
    if portee.financeur_ids is not None:
        qs = qs.filter(acte__financeur_id__in=portee.financeur_ids)
    return qs.count()


# --- Campagnes, imports, SCDL --------------------------------------------------------------------------------------


def campagnes_historiques_ids() -> set[int]:
    return set(CampagneHistorique.objects.values_list("campagne_id", flat=True))


def imports_visibles(user) -> QuerySet[ImportSubventions]:
    """Imports of the administrateur's financeurs; imports that read the financeurs from the file (possibly
    creating some) are for administrateurs of every financeur only."""
    p = perimetre(user, ROLES_IMPORT)
    qs = ImportSubventions.objects.select_related("financeur", "par").order_by("-cree_le", "-pk")
    if p.vide:
        return qs.none()
    if p.tous_financeurs:
        return qs
    return qs.filter(financeur_id__in=p.financeur_ids)


def import_visible(user, pk: int) -> ImportSubventions:
    objet = imports_visibles(user).filter(pk=pk).first()
    if objet is None:
        raise Http404("Import introuvable.")
    return objet


def financeur_pilotage(user, pk: int) -> Financeur:
    financeur = financeurs_pilotage(user).filter(pk=pk).first()
    if financeur is None:
        raise Http404("Financeur introuvable.")
    return financeur


def piliers_de(campagne: Campagne) -> QuerySet[Pilier]:
    return Pilier.objects.filter(contrat_id=campagne.contrat_id).order_by("numero")
