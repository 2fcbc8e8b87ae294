"""The marseille scale's instruction and comités: the 2015 demandes decided as Marseille decided them, in bulk.

Marseille's 2015 programmation (see /work/shared/DOMAIN.md, "Scale"): a first comité on 29 April 2015 validated 123
actions of fragile associations, a second on 9 June 2015 validated 544 more: 667 actions from 279 porteurs. The
other deposited demandes are refused in comité or declared irrecevable at instruction.

Everything the services would write is written here with bulk operations, without the services themselves (720
demandes one transition at a time would take minutes): the demandes' and lines' states, the avis and amounts, the
closed séances with their ordre du jour and frozen DecisionLigne rows, and one TransitionLog row per state change,
dated as the real workflow would have dated it. No PDF is rendered for the bulk: no procès-verbal, no decision letter
(LettreDecision rows are not created either, since a letter is its PDF). Decisions respect the service rules: granted
≤ asked, ≤ the financeur's part_max of the action's budget, and within each enveloppe (the État's per pilier too).

`seed_instruction_et_comites` draws everything from the seeded generator: same seed, same database. It does nothing
when the campagne already has a séance on one of the two dates (the seed is idempotent).
"""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import date, datetime, time, timedelta
from decimal import ROUND_DOWN, Decimal
from zoneinfo import ZoneInfo

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.db.models import Sum

from associations.models import Porteur
from subventions.campagnes.models import Campagne, Enveloppe
from subventions.comites.enums import Decision, KindSeance, StatutSeance
from subventions.comites.models import DecisionLigne, PointOrdreDuJour, Seance
from subventions.comptes.models import User
from subventions.demandes.enums import Avis, SensLigne, StatutDemande, StatutLigne
from subventions.demandes.models import Demande, LigneBudget, LigneFinancement
from workflows.models import TransitionLog

PARIS = ZoneInfo("Europe/Paris")
DOMAINE = "demo.test"
INSTRUCTEUR = f"instructeur.etat@{DOMAINE}"
INSTRUCTEUR_VILLE = f"instructeur.ville@{DOMAINE}"
COMITE = f"comite@{DOMAINE}"


# date of the séance, demandes it validates, day the ordre du jour was drawn up, the instruction's deadline for it
SEANCES = (
    (date(2015, 4, 29), 123, date(2015, 4, 15), date(2015, 4, 10)),
    (date(2015, 6, 9), 544, date(2015, 5, 27), date(2015, 5, 20)),
)
PORTEURS_VALIDES = 279
PART_IRRECEVABLES = 0.3  # of the demandes not validated; the others are refused in comité
PART_COFINANCEMENT_REFUSE = 0.2  # other financeurs' lines refused on validated demandes
MARGE_ENVELOPPE = Decimal("0.97")  # what the bulk grants leave free in each enveloppe
PAS = Decimal("50")
MEMBRES_PRESENTS = (
    "Préfecture des Bouches-du-Rhône (préfète déléguée à l'égalité des chances), Ville de Marseille (adjointe "
    "déléguée à la politique de la ville), Métropole Aix-Marseille-Provence, CAF des Bouches-du-Rhône, Région "
    "Provence-Alpes-Côte d'Azur, GIP Politique de la ville, conseils citoyens (2 représentants)."
)
MOTIFS_IRRECEVABLE = [
    "Action hors de la géographie prioritaire 2015 : aucun habitant des quartiers prioritaires n'est visé.",
    "Dossier incomplet à la date limite : les comptes du dernier exercice n'ont pas été fournis.",
    "Demande de fonctionnement global : l'appel à projets ne finance que des actions.",
    "Action déjà financée au titre du droit commun pour la même période.",
]
MOTIFS_DEFAVORABLE = [
    "Action peu articulée avec les objectifs du contrat de ville.",
    "Public des quartiers prioritaires insuffisamment identifié.",
    "Budget prévisionnel disproportionné au regard du public visé.",
    "Enveloppe épuisée sur ce pilier : action à représenter en 2016.",
    "Bilan de l'action précédente non produit.",
]
MOTIF_RESERVE = "Montant ajusté à l'enveloppe disponible et au nombre de bénéficiaires."


def _moment(rng: random.Random, debut: date, fin: date) -> datetime:
    """A working-day moment (Paris, 9 h to 18 h) between two dates included."""
    jours = [debut + timedelta(days=n) for n in range((fin - debut).days + 1)]
    ouvres = [j for j in jours if j.weekday() < 5] or jours
    jour = rng.choice(ouvres)
    return datetime.combine(jour, time(rng.randint(9, 17), rng.randint(0, 59)), tzinfo=PARIS)


def _a_heure(jour: date, heure: int, minute: int = 0) -> datetime:
    return datetime.combine(jour, time(heure, minute), tzinfo=PARIS)


def _arrondi_bas(valeur: Decimal) -> Decimal:
    return ((valeur / PAS).to_integral_value(rounding=ROUND_DOWN) * PAS).quantize(Decimal("0.01"))


def _issues(
    rng: random.Random, par_porteur: dict[int, list[int]], nb_validees: int, porteurs_valides: int
) -> tuple[set[int], list[int]]:
    """Which demandes are validated: exactly `nb_validees`, from exactly `porteurs_valides` porteurs.

    The porteurs with nothing validated are drawn among those with the fewest demandes; then enough demandes of
    the others are left out, each porteur keeping at least one validated."""
    porteurs = sorted(par_porteur)
    rng.shuffle(porteurs)
    total = sum(len(v) for v in par_porteur.values())
    nb_non = total - nb_validees
    nb_sans = len(porteurs) - porteurs_valides
    if nb_non < 0 or nb_sans < 0 or porteurs_valides > nb_validees:
        raise ValueError(
            f"Impossible de valider {nb_validees} actions de {porteurs_valides} porteurs parmi {total} demandes "
            f"de {len(porteurs)} porteurs."
        )
    sans = sorted(porteurs, key=lambda p: len(par_porteur[p]))[:nb_sans]  # stable: the shuffle breaks ties
    non_validees = [d for p in sans for d in par_porteur[p]]
    if len(non_validees) > nb_non:
        raise ValueError("Trop de demandes chez les porteurs sans action validée.")
    reserve = []
    for p in sorted(set(porteurs) - set(sans)):
        demandes = sorted(par_porteur[p])
        gardee = rng.choice(demandes)
        reserve += [d for d in demandes if d != gardee]
    non_validees += rng.sample(reserve, nb_non - len(non_validees))
    validees = {d for v in par_porteur.values() for d in v} - set(non_validees)
    return validees, sorted(non_validees)


@transaction.atomic
def seed_instruction_et_comites(
    *,
    campagne: Campagne,
    rng: random.Random,
    seances: tuple[tuple[date, int, date, date], ...] = SEANCES,
    porteurs_valides: int = PORTEURS_VALIDES,
) -> dict[str, int]:
    """Instruct the campagne's deposited demandes and decide them in closed séances (see the module's docstring).

    Returns the counts written: séances, demandes validées, refusées, irrecevables."""
    vide = {"seances": 0, "validees": 0, "refusees": 0, "irrecevables": 0}
    if Seance.objects.filter(campagne=campagne, date__in=[s[0] for s in seances]).exists():
        return vide
    lignes_demande = list(
        Demande.objects.filter(campagne=campagne, statut=StatutDemande.DEPOSEE)
        .order_by("numero")
        .values_list("pk", "porteur_id", "depose_le")
    )
    if not lignes_demande:
        return vide
    instructeur = User.objects.get(email=INSTRUCTEUR)
    instructeur_ville = User.objects.filter(email=INSTRUCTEUR_VILLE).first() or instructeur
    comite = User.objects.get(email=COMITE)
    financeurs = {f.pk: f for f in campagne.financeurs.all()}
    code_de = {pk: f.code for pk, f in financeurs.items()}
    etat_id = next(pk for pk, code in code_de.items() if code == "etat")

    # --- What the rows say: porteurs, pilier, budget (for part_max), asked lines.
    par_porteur: dict[int, list[int]] = defaultdict(list)
    depose_le = {}
    for pk, porteur_id, depose in lignes_demande:
        par_porteur[porteur_id].append(pk)
        depose_le[pk] = depose
    ids = list(depose_le)
    fragilite = {
        pk: (budget or Decimal(0), salaries or 0, pk)
        for pk, budget, salaries in Porteur.objects.filter(pk__in=par_porteur).values_list(
            "pk", "budget_annee_courante", "salaries"
        )
    }
    pilier_de: dict[int, tuple[int, int]] = {}  # demande → (pilier number, pilier pk), as comites.services.pilier_de
    for demande_id, numero, pilier_id in Demande.objectifs.through.objects.filter(demande_id__in=ids).values_list(
        "demande_id", "objectif__pilier__numero", "objectif__pilier_id"
    ):
        pilier_de[demande_id] = min(pilier_de.get(demande_id, (numero, pilier_id)), (numero, pilier_id))
    charges = dict(
        LigneBudget.objects.filter(demande_id__in=ids, sens=SensLigne.CHARGE)
        .values("demande_id")
        .annotate(total=Sum("montant"))
        .values_list("demande_id", "total")
        .order_by()
    )
    lignes: dict[int, list[tuple[int, int, Decimal]]] = defaultdict(list)  # demande → (ligne, financeur, asked)
    for pk, demande_id, financeur_id, montant in (
        LigneFinancement.objects.filter(demande_id__in=ids, montant_demande__gt=0)
        .order_by("demande_id", "financeur_id")
        .values_list("pk", "demande_id", "financeur_id", "montant_demande")
    ):
        lignes[demande_id].append((pk, financeur_id, montant))
    if any(etat_id not in {f for _l, f, _m in lignes[d]} for d in ids):
        raise ValueError("Chaque demande de la démonstration sollicite l'État.")

    # --- Who gets what: validated demandes, then the séance of each (fragile associations first).
    nb_validees = sum(s[1] for s in seances)
    validees, non_validees = _issues(rng, par_porteur, nb_validees, porteurs_valides)
    nb_irrecevables = max(1, round(len(non_validees) * PART_IRRECEVABLES)) if len(non_validees) > 1 else 0
    irrecevables = set(rng.sample(non_validees, nb_irrecevables))
    refusees = [d for d in non_validees if d not in irrecevables]
    porteur_de = {d: p for p, v in par_porteur.items() for d in v}
    ordre = sorted(validees, key=lambda d: (fragilite[porteur_de[d]], d))
    seance_de: dict[int, int] = {}  # demande → index of its séance
    debut = 0
    for i, (_jour, nombre, _odj, _limite) in enumerate(seances):
        for d in ordre[debut : debut + nombre]:
            seance_de[d] = i
        debut += nombre
    porteurs_premiere = {porteur_de[d] for d, i in seance_de.items() if i == 0}
    for d in refusees:
        seance_de[d] = 0 if porteur_de[d] in porteurs_premiere else len(seances) - 1

    # --- Instruction: recevabilité, then one avis per asked line; the demande is instruite at the last avis.
    recevable_le = {}
    irrecevable_le = {}
    for d in ids:
        if d in irrecevables:
            irrecevable_le[d] = _moment(rng, date(2015, 1, 5), date(2015, 2, 13))
        else:
            recevable_le[d] = _moment(rng, date(2015, 1, 5), date(2015, 2, 27))
    avis: dict[int, tuple[str, Decimal, str, datetime]] = {}  # ligne → (avis, base amount, motivation, when)
    for d in sorted(seance_de):
        limite = seances[seance_de[d]][3]
        for ligne, financeur_id, demande in lignes[d]:
            quand = _moment(rng, recevable_le[d].date() + timedelta(days=1), limite)
            plafond = (charges.get(d, Decimal(0)) * financeurs[financeur_id].part_max / 100).quantize(
                Decimal("0.01"), rounding=ROUND_DOWN
            )
            favorable = d in validees and (financeur_id == etat_id or rng.random() >= PART_COFINANCEMENT_REFUSE)
            if favorable:
                part = Decimal(1) if rng.random() < 0.45 else Decimal(str(round(rng.uniform(0.6, 0.95), 3)))
                avis[ligne] = (Avis.FAVORABLE, min(demande, plafond) * part, "", quand)
            else:
                avis[ligne] = (Avis.DEFAVORABLE, Decimal(0), rng.choice(MOTIFS_DEFAVORABLE), quand)

    # Amounts: scaled into each enveloppe (the État's per pilier when it has pilier enveloppes), rounded down.
    limites = {
        (e.financeur_id, e.pilier_id): e.montant for e in Enveloppe.objects.filter(campagne=campagne).order_by()
    }
    groupe_de = {}
    bruts: dict[tuple[int, int | None], Decimal] = defaultdict(Decimal)
    for d in seance_de:
        pilier_id = pilier_de.get(d, (0, None))[1]
        for ligne, financeur_id, _m in lignes[d]:
            if avis[ligne][0] == Avis.DEFAVORABLE:
                continue
            groupe = (financeur_id, pilier_id) if (financeur_id, pilier_id) in limites else (financeur_id, None)
            groupe_de[ligne] = groupe
            bruts[groupe] += avis[ligne][1]
    facteurs = {g: min(Decimal(1), limites.get(g, Decimal(0)) * MARGE_ENVELOPPE / total) for g, total in bruts.items()}
    propose: dict[int, Decimal] = {}
    for ligne, (sens, base, _m, _q) in avis.items():
        if sens == Avis.DEFAVORABLE:
            propose[ligne] = Decimal("0.00")
            continue
        montant = _arrondi_bas(base * facteurs[groupe_de[ligne]])
        propose[ligne] = montant if montant > 0 else min(base, PAS).quantize(Decimal("0.01"), rounding=ROUND_DOWN)
    demande_de_ligne = {ligne: (d, f, m) for d, v in lignes.items() for ligne, f, m in v}
    for ligne, montant in list(propose.items()):
        sens, base, motif, quand = avis[ligne]
        if montant <= 0 and sens != Avis.DEFAVORABLE:  # nothing left to give: défavorable, unless it is the État
            raise ValueError(f"Montant nul proposé pour la ligne {ligne}.")
        if sens == Avis.FAVORABLE and montant < demande_de_ligne[ligne][2] * Decimal("0.9"):
            avis[ligne] = (Avis.RESERVE, base, MOTIF_RESERVE, quand)

    # --- Enveloppe check on what is about to be granted (the service's rule, enforced once for the bulk).
    accorde: dict[tuple[int, int | None], Decimal] = defaultdict(Decimal)
    for ligne, montant in propose.items():
        if montant > 0:
            f = demande_de_ligne[ligne][1]
            accorde[(f, None)] += montant
            if groupe_de[ligne][1] is not None:
                accorde[groupe_de[ligne]] += montant
    for groupe, total in accorde.items():
        if total > limites.get(groupe, Decimal(0)):
            raise ValueError(f"Enveloppe dépassée pour {code_de[groupe[0]]} : {total} €.")

    # --- Writes. Séances first (closed), with their financeurs.
    seances_creees = Seance.objects.bulk_create(
        [
            Seance(
                campagne=campagne,
                date=jour,
                kind=KindSeance.PROGRAMMATION,
                membres_presents=MEMBRES_PRESENTS,
                statut=StatutSeance.CLOSE,
                cree_par=comite,
                closed_at=_a_heure(jour, 18),
                closed_by=comite,
            )
            for jour, _n, _odj, _l in seances
        ]
    )
    Seance.financeurs.through.objects.bulk_create(
        [Seance.financeurs.through(seance=s, financeur_id=f) for s in seances_creees for f in sorted(financeurs)]
    )
    for s, (_jour, _n, odj, _l) in zip(seances_creees, seances, strict=True):
        Seance.objects.filter(pk=s.pk).update(cree_le=_a_heure(odj - timedelta(days=14), 9))

    type_demande = ContentType.objects.get_for_model(Demande)
    type_ligne = ContentType.objects.get_for_model(LigneFinancement)
    type_seance = ContentType.objects.get_for_model(Seance)
    journal: list[tuple[datetime, dict]] = []

    def noter(quand, ct, pk, transition, source, cible, acteur, commentaire="", **extra):
        journal.append(
            (
                quand,
                {
                    "content_type": ct,
                    "object_id": pk,
                    "transition": transition,
                    "source": source,
                    "cible": cible,
                    "acteur": acteur,
                    "commentaire": commentaire,
                    "extra": {"demo": True, **extra},
                },
            )
        )

    S = StatutDemande
    L = StatutLigne
    demandes_maj = []
    lignes_maj = []
    points = []
    decisions = []
    rangs = defaultdict(int)
    for d in ids:
        if d in irrecevables:
            motif = rng.choice(MOTIFS_IRRECEVABLE)
            noter(irrecevable_le[d], type_demande, d, "declarer_irrecevable", S.DEPOSEE, S.IRRECEVABLE, instructeur,
                  motif)  # fmt: skip
            demandes_maj.append(Demande(pk=d, statut=S.IRRECEVABLE, instructeur=instructeur))
            continue
        i = seance_de[d]
        seance = seances_creees[i]
        jour, _n, odj, _l = seances[i]
        inscrit_le, decide_le, clos_le = _a_heure(odj, 10), _a_heure(jour, 10, 30), _a_heure(jour, 18)
        noter(recevable_le[d], type_demande, d, "declarer_recevable", S.DEPOSEE, S.EN_INSTRUCTION, instructeur)
        for ligne, financeur_id, _m in lignes[d]:
            sens, _b, motif, quand = avis[ligne]
            auteur = instructeur_ville if code_de[financeur_id] == "ville-marseille" else instructeur
            noter(quand, type_ligne, ligne, "donner_avis", L.DEMANDEE, L.AVIS_DONNE, auteur)
        fin_instruction = max(avis[ligne][3] for ligne, _f, _m in lignes[d])
        noter(fin_instruction, type_demande, d, "terminer_instruction", S.EN_INSTRUCTION, S.INSTRUITE, instructeur)
        noter(inscrit_le, type_demande, d, "inscrire", S.INSTRUITE, S.INSCRITE, comite, seance=seance.pk)
        rangs[i] += 1
        points.append(
            PointOrdreDuJour(seance=seance, demande_id=d, ordre=rangs[i], seance_ouverte=False, ajoute_par=comite)
        )
        pilier_id = pilier_de.get(d, (0, None))[1]
        for ligne, financeur_id, _m in lignes[d]:
            sens, _b, motif, quand = avis[ligne]
            montant = propose[ligne]
            decision = Decision.ACCORDEE if montant > 0 else Decision.REFUSEE
            noter(inscrit_le, type_ligne, ligne, "inscrire", L.AVIS_DONNE, L.INSCRITE, comite)
            transition = "accorder" if montant > 0 else "refuser"
            en_clair = str(montant) if montant > 0 else None
            noter(decide_le, type_ligne, ligne, transition, L.INSCRITE, decision, comite,
                  seance=seance.pk, decision=decision, montant=en_clair)  # fmt: skip
            auteur = instructeur_ville if code_de[financeur_id] == "ville-marseille" else instructeur
            lignes_maj.append(
                LigneFinancement(
                    pk=ligne,
                    statut=decision,
                    avis=sens,
                    montant_propose=montant,
                    motivation=motif,
                    avis_par=auteur,
                    avis_le=quand,
                    montant_accorde=montant if montant > 0 else None,
                    decide_le=decide_le,
                    version=3,  # donner_avis, inscrire, decision: what transition_appliquer would have counted
                )
            )
            decisions.append(
                DecisionLigne(
                    seance=seance,
                    ligne_id=ligne,
                    financeur_id=financeur_id,
                    pilier_id=pilier_id,
                    decision=decision,
                    montant=montant if montant > 0 else None,
                    montant_propose=montant,
                )
            )
        if d in validees:
            noter(clos_le, type_demande, d, "valider", S.INSCRITE, S.VALIDEE, comite)
            demandes_maj.append(Demande(pk=d, statut=S.VALIDEE, instructeur=instructeur))
        else:
            noter(clos_le, type_demande, d, "refuser", S.INSCRITE, S.REFUSEE, comite)
            demandes_maj.append(Demande(pk=d, statut=S.REFUSEE, instructeur=instructeur))
    for s, (jour, _n, _odj, _l) in zip(seances_creees, seances, strict=True):
        noter(_a_heure(jour, 18), type_seance, s.pk, "cloturer", StatutSeance.OUVERTE, StatutSeance.CLOSE, comite)

    Demande.objects.bulk_update(demandes_maj, ["statut", "instructeur"], batch_size=500)
    LigneFinancement.objects.bulk_update(
        lignes_maj,
        ["statut", "avis", "montant_propose", "motivation", "avis_par", "avis_le", "montant_accorde", "decide_le",
         "version"],
        batch_size=500,
    )  # fmt: skip
    PointOrdreDuJour.objects.bulk_create(points, batch_size=500)
    for s, (_jour, _n, odj, _l) in zip(seances_creees, seances, strict=True):
        PointOrdreDuJour.objects.filter(seance=s).update(ajoute_le=_a_heure(odj, 10))
    DecisionLigne.objects.bulk_create(decisions, batch_size=500)

    # The log, in time order; auto_now_add dated it today: put back the dates of the story.
    journal.sort(key=lambda entree: (entree[0], entree[1]["content_type"].pk, entree[1]["object_id"]))
    crees = TransitionLog.objects.bulk_create([TransitionLog(**champs) for _q, champs in journal], batch_size=500)
    for (quand, _c), log in zip(journal, crees, strict=True):
        log.date = quand
    TransitionLog.objects.bulk_update(crees, ["date"], batch_size=500)

    return {
        "seances": len(seances_creees),
        "validees": len(validees),
        "refusees": len(refusees),
        "irrecevables": len(irrecevables),
    }
