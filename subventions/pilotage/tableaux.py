"""The dashboard's tables, as pure functions of the facts (selectors.Faits): one `Tableau` per figure, shown on the
page, drawn as a chart and downloaded as CSV or XLSX from the same object."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from operator import itemgetter

from django.utils.translation import gettext as _

from subventions.conventions.models import NatureActe, StatutActe
from subventions.demandes.enums import StatutDemande, StatutLigne
from subventions.pilotage.selectors import (
    EXECUTOIRES,
    INSTRUITES,
    ZERO,
    DemandeF,
    Faits,
    LigneF,
    Nombre,
    Taux,
    chiffres,
)
from subventions.templatetags.subventions_tags import formater_montant

SANS = None  # the key of "no pilier", "no territoire"…


@dataclass
class Tableau:
    """A table: typed cells (int: a count; Decimal: an amount in €; Taux: a ratio; str: text; None: empty)."""

    cle: str
    titre: str
    colonnes: list[str]
    lignes: list[list] = field(default_factory=list)
    total: list | None = None
    note: str = ""

    def toutes_les_lignes(self) -> list[list]:
        return [*self.lignes, *([self.total] if self.total else [])]

    def affichage(self, limite: int | None = None) -> list[list[str]]:
        lignes = self.lignes if limite is None else self.lignes[:limite]
        return [[afficher(v) for v in ligne] for ligne in lignes]

    def total_affiche(self) -> list[str] | None:
        return [afficher(v) for v in self.total] if self.total else None

    def numeriques(self) -> list[bool]:
        """Which columns hold numbers (right-aligned on the page)."""
        exemples = self.toutes_les_lignes()
        return [
            any(isinstance(ligne[i], int | Decimal) and not isinstance(ligne[i], bool) for ligne in exemples)
            for i in range(len(self.colonnes))
        ]


def afficher(valeur) -> str:
    if valeur is None:
        return ""
    if isinstance(valeur, Nombre):
        return f"{valeur:.2f}".replace(".", ",")
    if isinstance(valeur, Taux):
        pourcentage = (valeur * 100).quantize(Decimal("1"), rounding=ROUND_HALF_UP)
        return f"{pourcentage}\u00a0%"
    if isinstance(valeur, Decimal):
        return formater_montant(valeur)
    if isinstance(valeur, int):
        return f"{valeur:,}".replace(",", "\u00a0")
    return str(valeur)


def _taux(texte: str) -> Taux:
    return Taux(texte)


# --- Building blocks ------------------------------------------------------------------------------------------------


@dataclass
class Groupe:
    actions: set = field(default_factory=set)
    validees: set = field(default_factory=set)
    demande: Decimal = ZERO
    propose: Decimal = ZERO
    accorde: Decimal = ZERO
    paye: Decimal = ZERO

    def ajouter(self, ligne: LigneF, paye: Decimal) -> None:
        self.demande += ligne.demande
        self.propose += ligne.propose
        self.accorde += ligne.accorde
        self.paye += paye

    def valeurs(self) -> list:
        return [len(self.actions), len(self.validees), self.demande, self.propose, self.accorde, self.paye]


def colonnes_montants() -> list[str]:
    return [_("Actions déposées"), _("Actions validées"), _("Demandé (€)"), _("Proposé (€)"), _("Accordé (€)"),
            _("Payé (€)")]  # fmt: skip


def _par_demande(
    faits: Faits, cles: Callable[[DemandeF], Iterable], libelles: dict, ordre: Callable | None = None
) -> list[tuple[object, str, Groupe]]:
    """Groups of actions by a dimension of the demande (one key, or several for objectifs and QPV)."""
    validees, sommes = faits.validees(), faits.sommes()
    rien = (ZERO, ZERO, ZERO, ZERO)
    # The actions of each key first (an action's keys are distinct: a many-to-many link is unique), then each
    # group's figures from its actions with builtins, which at national scale is most of the dashboard's work.
    membres: dict[object, list[int]] = defaultdict(list)
    for demande in faits.demandes.values():
        for cle in cles(demande) or [SANS]:
            membres[cle].append(demande.pk)
    groupes: dict[object, Groupe] = {}
    for cle, actions in membres.items():
        siennes = [sommes.get(pk, rien) for pk in actions]
        groupes[cle] = Groupe(
            set(actions),
            validees.intersection(actions),
            *(sum(map(itemgetter(i), siennes), ZERO) for i in range(4)),
        )
    rang = ordre or (lambda cle: libelles.get(cle, ""))
    return sorted(
        ((cle, libelles.get(cle, _("Non renseigné")) if cle is not SANS else _("Non renseigné"), g)
         for cle, g in groupes.items()),
        key=lambda t: (t[0] is SANS, rang(t[0]) if t[0] is not SANS else 0),
    )  # fmt: skip


def _total(faits: Faits) -> list:
    valeurs = chiffres(faits)
    return [
        _("Total"),
        valeurs["actions_deposees"],
        valeurs["actions_validees"],
        Decimal(valeurs["montant_demande"]),
        Decimal(valeurs["montant_propose"]),
        Decimal(valeurs["montant_accorde"]),
        Decimal(valeurs["montant_paye"]),
    ]


# --- The tables -----------------------------------------------------------------------------------------------------


def synthese(faits: Faits, *, en_retard: int | None = None) -> Tableau:
    valeurs = chiffres(faits)
    lignes = [
        [_("Actions déposées"), valeurs["actions_deposees"]],
        [_("Porteurs ayant déposé"), valeurs["porteurs"]],
        [_("Actions validées"), valeurs["actions_validees"]],
        [_("Taux de validation (validées / déposées)"), _taux(valeurs["taux_validation"])],
        [_("Montant demandé"), Decimal(valeurs["montant_demande"])],
        [_("Montant proposé par l'instruction"), Decimal(valeurs["montant_propose"])],
        [_("Montant accordé"), Decimal(valeurs["montant_accorde"])],
        [_("Montant payé"), Decimal(valeurs["montant_paye"])],
        [_("Porteurs financés"), valeurs["porteurs_finances"]],
        [_("Conventions (hors avenants)"), valeurs["conventions"]],
        [_("Arrêtés attributifs (hors avenants)"), valeurs["arretes"]],
        [_("Avenants"), valeurs["avenants"]],
        [_("Actions par convention (moyenne)"), Nombre(valeurs["actions_par_convention"])],
        [_("Conventions signées"), valeurs["conventions_signees"]],
        [_("Documents bloqués"), valeurs["actes_bloques"]],
        [
            _("Comptes-rendus financiers en retard"),
            en_retard if en_retard is not None else _("non disponible (module des comptes-rendus à venir)"),
        ],
    ]
    return Tableau("synthese", _("Synthèse"), [_("Indicateur"), _("Valeur")], lignes)


def entonnoir(faits: Faits) -> Tableau:
    """From deposit to payment: how many actions reach each stage, and the amount at that stage."""
    validees, sommes = faits.validees(), faits.sommes()
    executoires = {pk for pk, acte in faits.actes.items() if acte.statut in EXECUTOIRES}
    rien = (ZERO, ZERO, ZERO, ZERO)
    conventionne: dict[int, Decimal] = {}  # action → the amount of its lines in an executory document
    paye: set[int] = set()  # actions with a payment
    for ligne in faits.lignes:
        if ligne.acte_id in executoires:
            conventionne[ligne.demande_id] = conventionne.get(ligne.demande_id, ZERO) + ligne.acte_montant
        if faits.paye.get(ligne.pk, ZERO) > 0:
            paye.add(ligne.demande_id)
    # Per stage: the number of actions that reached it and the amount measured there (one pass over the actions).
    deposees, instruites, validees_en_comite, conventionnees, payees = ([0, ZERO] for _etape in range(5))
    for action in faits.demandes.values():
        demande, propose, accorde, verse = sommes.get(action.pk, rien)
        deposees[0] += 1
        deposees[1] += demande
        if action.statut in INSTRUITES:
            instruites[0] += 1
            instruites[1] += propose
        if action.pk in validees:
            validees_en_comite[0] += 1
            validees_en_comite[1] += accorde
        if action.pk in conventionne:
            conventionnees[0] += 1
            conventionnees[1] += conventionne[action.pk]
        if action.pk in paye:
            payees[0] += 1
            payees[1] += verse
    lignes = [
        [_("Déposées"), *deposees, _("demandé")],
        [_("Instruites (avis rendu)"), *instruites, _("proposé")],
        [_("Validées en comité"), *validees_en_comite, _("accordé")],
        [_("Conventionnées (acte exécutoire)"), *conventionnees, _("conventionné")],
        [_("Payées (au moins un versement)"), *payees, _("payé")],
    ]
    return Tableau(
        "entonnoir",
        _("Du dépôt au paiement"),
        [_("Étape"), _("Actions"), _("Montant (€)"), _("Montant mesuré")],
        lignes,
        note=_("Chaque étape compte les actions qui l'ont atteinte, quel que soit leur sort ensuite."),
    )


def _repartition(
    faits: Faits, cle: str, titre: str, entete: str, cles, libelles: dict, *, recouvrement: bool = False, ordre=None
) -> Tableau:
    groupes = _par_demande(faits, cles, libelles, ordre)
    tableau = Tableau(
        cle,
        titre,
        [entete, *colonnes_montants()],
        [[str(libelle), *groupe.valeurs()] for _cle, libelle, groupe in groupes],
    )
    if recouvrement:
        tableau.note = _(
            "Une action rattachée à plusieurs éléments compte dans chacun : les colonnes ne s'additionnent pas."
        )
    else:
        tableau.total = _total(faits)
    tableau.note = " ".join(
        filter(None, [tableau.note, _("Le payé d'un acte est réparti entre ses actions au prorata de leur montant.")])
    )
    return tableau


def par_pilier(faits: Faits) -> Tableau:
    libelles = faits.libelles.get("pilier", {})
    ordre = faits.libelles.get("ordre_pilier", {})
    return _repartition(
        faits,
        "piliers",
        _("Par pilier du contrat de ville"),
        _("Pilier"),
        lambda d: [d.pilier_id] if d.pilier_id else [],
        libelles,
        ordre=lambda cle: ordre.get(cle, 0),
    )


def par_objectif(faits: Faits) -> Tableau:
    libelles = faits.libelles.get("objectif", {})
    ordre = faits.libelles.get("ordre_objectif", {})
    return _repartition(
        faits,
        "objectifs",
        _("Par objectif"),
        _("Objectif"),
        lambda d: faits.objectifs.get(d.pk, []),
        libelles,
        recouvrement=True,
        ordre=lambda cle: ordre.get(cle, (0, 0, "")),
    )


def par_territoire(faits: Faits) -> Tableau:
    return _repartition(
        faits,
        "territoires",
        _("Par territoire de projet"),
        _("Territoire"),
        lambda d: [d.territoire_id] if d.territoire_id else [],
        faits.libelles.get("territoire", {}),
    )


def par_qpv(faits: Faits) -> Tableau:
    return _repartition(
        faits,
        "qpv",
        _("Par quartier prioritaire (QPV)"),
        _("QPV"),
        lambda d: faits.qpvs.get(d.pk, []),
        faits.libelles.get("qpv", {}),
        recouvrement=True,
    )


def par_statut(faits: Faits) -> Tableau:
    libelles = dict(StatutDemande.choices)
    ordre = {valeur: i for i, valeur in enumerate(StatutDemande.values)}
    return _repartition(
        faits,
        "statuts",
        _("Par statut des demandes"),
        _("Statut"),
        lambda d: [d.statut],
        libelles,
        ordre=lambda cle: ordre.get(cle, 99),
    )


def par_financeur(faits: Faits) -> Tableau:
    libelles = faits.libelles.get("financeur", {})
    validees = faits.validees()
    groupes: dict[int, Groupe] = defaultdict(Groupe)
    for ligne in faits.lignes:
        groupe = groupes[ligne.financeur_id]
        groupe.ajouter(ligne, faits.paye.get(ligne.pk, ZERO))
        if ligne.demande > 0 or ligne.accorde > 0:
            groupe.actions.add(ligne.demande_id)
        if ligne.statut == StatutLigne.ACCORDEE and ligne.demande_id in validees:
            groupe.validees.add(ligne.demande_id)
    lignes = [
        [libelles.get(pk, str(pk)), *g.valeurs()]
        for pk, g in sorted(groupes.items(), key=lambda t: libelles.get(t[0], ""))
    ]
    return Tableau(
        "financeurs",
        _("Par financeur"),
        [_("Financeur"), *colonnes_montants()],
        lignes,
        total=_total(faits),
        note=_(
            "Une action financée par plusieurs financeurs compte chez chacun ; une action est validée pour un "
            "financeur quand sa ligne est accordée."
        ),
    )


def conventions(faits: Faits) -> Tableau:
    libelles = faits.libelles.get("financeur", {})
    en_portee: dict[int, int] = defaultdict(int)
    for ligne in faits.lignes:
        if ligne.acte_id is not None:
            en_portee[ligne.acte_id] += 1
    par_financeur: dict[int, list] = defaultdict(list)
    for acte in faits.actes.values():
        par_financeur[acte.financeur_id].append(acte)

    def valeurs(actes) -> list:
        base = [a for a in actes if not a.est_avenant]
        convs = [a for a in base if a.nature == NatureActe.CONVENTION]
        actions = sum(en_portee[a.pk] if faits.portee.partielle else a.nb_lignes for a in convs)
        moyenne = Nombre(
            (Decimal(actions) / len(convs)).quantize(Decimal("0.01"), ROUND_HALF_UP) if convs else Decimal("0.00")
        )
        return [
            len(convs),
            sum(1 for a in base if a.nature == NatureActe.ARRETE),
            sum(1 for a in actes if a.est_avenant),
            moyenne,
            sum(1 for a in convs if a.statut in (StatutActe.SIGNEE, StatutActe.SOLDEE)),
            sum(1 for a in actes if a.statut == StatutActe.BLOQUEE),
            sum((a.montant_total for a in actes), ZERO),
            sum((a.paye for a in actes), ZERO),
        ]

    lignes = [
        [libelles.get(pk, str(pk)), *valeurs(actes)]
        for pk, actes in sorted(par_financeur.items(), key=lambda t: libelles.get(t[0], ""))
    ]
    return Tableau(
        "conventions",
        _("Conventions, arrêtés et avenants par financeur"),
        [
            _("Financeur"),
            _("Conventions"),
            _("Arrêtés"),
            _("Avenants"),
            _("Actions par convention"),
            _("Conventions signées"),
            _("Documents bloqués"),
            _("Montant des actes (€)"),
            _("Payé (€)"),
        ],
        lignes,
        total=[_("Total"), *valeurs(list(faits.actes.values()))],
        note=_("Montants et paiements des actes entiers, y compris leurs actions hors des filtres éventuels."),
    )


def actions_par_convention(faits: Faits) -> Tableau:
    """How many conventions hold 1, 2, 3… actions (avenants and arrêtés aside)."""
    en_portee: dict[int, int] = defaultdict(int)
    for ligne in faits.lignes:
        if ligne.acte_id is not None:
            en_portee[ligne.acte_id] += 1
    repartition: dict[int, int] = defaultdict(int)
    for acte in faits.actes.values():
        if acte.nature == NatureActe.CONVENTION and not acte.est_avenant:
            n = en_portee[acte.pk] if faits.portee.partielle else acte.nb_lignes
            repartition[min(n, 10)] += 1
    lignes = [
        [_("10 actions ou plus") if n == 10 else (_("1 action") if n == 1 else _("%(n)s actions") % {"n": n}), nb]
        for n, nb in sorted(repartition.items())
    ]
    return Tableau(
        "actions_par_convention",
        _("Nombre d'actions par convention"),
        [_("Actions dans la convention"), _("Conventions")],
        lignes,
        total=[_("Total"), sum(repartition.values())],
    )


def porteurs_finances(faits: Faits) -> Tableau:
    par_porteur: dict[int, list] = {}
    for ligne in faits.lignes:
        if ligne.statut != StatutLigne.ACCORDEE or ligne.accorde <= 0:
            continue
        demande = faits.demandes[ligne.demande_id]
        if demande.porteur_id not in par_porteur:
            par_porteur[demande.porteur_id] = [demande.porteur_nom, demande.porteur_siret, set(), ZERO, ZERO]
        ligne_porteur = par_porteur[demande.porteur_id]
        ligne_porteur[2].add(demande.pk)
        ligne_porteur[3] += ligne.accorde
        ligne_porteur[4] += faits.paye.get(ligne.pk, ZERO)
    lignes = sorted(
        ([nom, siret, len(actions), accorde, paye] for nom, siret, actions, accorde, paye in par_porteur.values()),
        key=lambda ligne: (-ligne[3], ligne[0]),
    )
    return Tableau(
        "porteurs",
        _("Porteurs financés"),
        [_("Porteur"), _("SIRET"), _("Actions financées"), _("Accordé (€)"), _("Payé (€)")],
        lignes,
        total=[
            _("Total"),
            "",
            sum(ligne[2] for ligne in lignes),
            sum((ligne[3] for ligne in lignes), ZERO),
            sum((ligne[4] for ligne in lignes), ZERO),
        ],
    )


def comites(faits: Faits) -> Tableau:
    from datetime import date

    lignes = [[date.fromisoformat(c["date"]).strftime("%d/%m/%Y"), c["actions_validees"]] for c in faits.comites]
    return Tableau("comites", _("Actions validées par comité"), [_("Séance"), _("Actions validées")], lignes)


TABLEAUX: dict[str, Callable[[Faits], Tableau]] = {
    "synthese": synthese,
    "entonnoir": entonnoir,
    "piliers": par_pilier,
    "territoires": par_territoire,
    "financeurs": par_financeur,
    "objectifs": par_objectif,
    "qpv": par_qpv,
    "statuts": par_statut,
    "conventions": conventions,
    "actions_par_convention": actions_par_convention,
    "porteurs": porteurs_finances,
    "comites": comites,
}


def tous(faits: Faits, *, en_retard: int | None = None) -> dict[str, Tableau]:
    tableaux = {cle: fabrique(faits) for cle, fabrique in TABLEAUX.items() if cle != "synthese"}
    return {"synthese": synthese(faits, en_retard=en_retard), **tableaux}
