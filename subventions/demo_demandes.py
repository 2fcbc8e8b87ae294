"""The marseille scale's requests: about 720 deposited demandes of campagne 2015 from about 300 porteurs, in bulk.

Two steps: `planifier` draws everything from the seeded random generator (pure Python, no database), then
`seed_demandes` writes it with bulk_create. Same seed, same plan, same rows. Running it again once the demo porteurs
exist does nothing, so the seed stays idempotent. Bulk demandes get no récépissé PDF: documents are rendered only
by a real deposit (services.demande_deposer).
"""

from __future__ import annotations

import hashlib
import io
import random
import re
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.contrib.contenttypes.models import ContentType
from django.core.files.base import ContentFile
from django.db import transaction
from stdnum import luhn

from associations.enums import RoleMembre
from associations.models import Membre, Piece, Porteur
from subventions.campagnes.models import Campagne
from subventions.comptes.models import User
from subventions.demandes.enums import SENS_PAR_COMPTE, StatutDemande, TypeDemande
from subventions.demandes.models import (
    CompteurDossiers,
    Demande,
    Indicateur,
    LigneBudget,
    LigneFinancement,
    PieceDemande,
)
from subventions.demandes.services import contenu_dossier_de, empreinte_contenu, identification_porteur
from subventions.referentiel.models import QPV, Objectif, Territoire
from workflows.models import TransitionLog

PARIS = ZoneInfo("Europe/Paris")
DOMAINE = "demo.test"
NB_PORTEURS = 300
NB_DEMANDES = 720
COMPTE_ASSOCIATION = f"association@{DOMAINE}"
# Every demo row carries this creation time (fixed, so that two runs write the same values).
CREE_LE = datetime(2014, 9, 1, 9, 0, tzinfo=PARIS)
EURO = Decimal("1")
CENTIME = Decimal("0.01")


def _liste(texte: str) -> list[str]:
    """Long lists of names kept compact: "a|b|c" → ["a", "b", "c"]."""
    return texte.split("|")


# --- What the plan draws from -----------------------------------------------------------------------------------

# Titles of actions per pilier, as Marseille's programmes name them.
INTITULES = {
    "P1": [
        "Accompagnement à la scolarité",
        "Ateliers sociolinguistiques (ASL)",
        "Chantier éducatif",
        "Ateliers parents-enfants",
        "Lieu d'accueil enfants-parents",
        "Sport éducatif au pied des immeubles",
        "École ouverte des vacances",
        "Prévention santé et bien-être des jeunes",
        "Ateliers nutrition et santé des familles",
        "Théâtre et expression des jeunes",
        "Éveil musical des tout-petits",
        "Sorties culturelles en famille",
        "Accueil éducatif du mercredi",
        "Soutien à la parentalité",
        "Lecture publique hors les murs",
        "Prévention du décrochage scolaire",
        "Lutte contre l'isolement des seniors",
        "Séjours éducatifs d'été",
        "Atelier radio des collégiens",
        "Danse hip-hop et création chorégraphique",
    ],
    "P2": [
        "Jardins partagés en pied d'immeuble",
        "Médiation de gestion urbaine de proximité",
        "Ateliers d'auto-réhabilitation accompagnée",
        "Propreté et tri : sensibilisation des habitants",
        "Accompagnement des copropriétés en difficulté",
        "Vélo-école et mobilité douce",
        "Embellissement participatif des halls",
        "Diagnostics en marchant avec les habitants",
        "Médiation sociale dans les transports",
        "Fresques murales avec les habitants",
    ],
    "P3": [
        "Chantier d'insertion espaces verts",
        "Parrainage vers l'emploi des jeunes diplômés",
        "Accompagnement à la création d'activité",
        "Permanence emploi de proximité",
        "Savoirs de base et remobilisation vers l'emploi",
        "Forum des métiers du quartier",
        "Atelier numérique et recherche d'emploi",
        "Couveuse d'activités",
        "Auto-école sociale",
        "Accès des femmes à l'emploi",
    ],
    "P4": [
        "Permanence d'accès aux droits",
        "Médiation juridique et aide aux victimes",
        "Formation des membres du conseil citoyen",
        "Éducation aux médias et à l'information",
        "Laïcité et valeurs de la République : ateliers-débats",
        "Mémoire et histoire du quartier",
        "Lutte contre les discriminations à l'embauche",
        "Égalité filles-garçons par le sport",
        "Écrivain public et accès aux services en ligne",
        "Prévention de la délinquance : accompagnement éducatif",
    ],
}
PILIERS_POIDS = {"P1": 60, "P2": 10, "P3": 18, "P4": 12}

OBJECTIFS_ACTION = {
    "P1": "Favoriser la réussite éducative et l'épanouissement des enfants et des jeunes de {q}, en lien avec "
    "les familles et les établissements scolaires.",
    "P2": "Améliorer le cadre de vie de {q} avec les habitants, et leur redonner prise sur leur environnement.",
    "P3": "Rapprocher de l'emploi les habitants de {q} qui en sont le plus éloignés, jeunes et femmes d'abord.",
    "P4": "Rendre le droit et les services publics accessibles aux habitants de {q} et faire vivre la citoyenneté.",
}
DESCRIPTIONS = [
    "{n} séances hebdomadaires d'octobre à juin, animées par {s} salarié(s) et des bénévoles, au {lieu}.",
    "Un cycle de {n} ateliers par trimestre au {lieu}, avec une restitution publique en fin d'année.",
    "Des permanences deux demi-journées par semaine au {lieu} et {n} sorties ou rencontres dans l'année.",
    "Accueil de groupes de 8 à 12 personnes, {n} rendez-vous dans l'année, au {lieu} et hors les murs.",
]
PUBLICS = {
    "P1": ("Enfants, jeunes et leurs familles", 6, 17),
    "P2": ("Habitants et locataires", 16, 99),
    "P3": ("Demandeurs d'emploi, jeunes et femmes", 16, 64),
    "P4": ("Habitants, en particulier les jeunes adultes", 15, 99),
}
INDICATEURS = {
    "P1": ["Participants réguliers", "Familles associées", "Assiduité moyenne (%)", "Jeunes inscrits en club"],
    "P2": ["Habitants mobilisés", "Ateliers réalisés", "Logements accompagnés", "Signalements traités"],
    "P3": ["Personnes accompagnées", "Sorties vers l'emploi ou la formation", "Entreprises partenaires"],
    "P4": ["Personnes reçues en permanence", "Démarches abouties", "Participants aux débats"],
}
LIEUX = ["centre social", "local associatif", "gymnase", "collège", "groupe scolaire", "bibliothèque", "square"]

# Addresses: postcode(s) and streets of each territoire de projet (real streets of those arrondissements).
ADRESSES = {
    "grand-centre-ville": (
        ("13001", "13003"),
        ["rue d'Aubagne", "cours Belsunce", "rue Nationale", "rue Longue des Capucins", "boulevard National",
         "rue Félix Pyat", "rue de la Belle de Mai", "rue Loubon"],
    ),
    "grand-saint-barthelemy": (
        ("13013", "13014"),
        ["avenue de Frais Vallon", "chemin de Sainte-Marthe", "traverse de la Busserine", "avenue Salvador Allende",
         "boulevard Jourdan", "chemin de la Rose"],
    ),
    "littoral-seon": (
        ("13015", "13016"),
        ["boulevard Henri Barnier", "chemin de la Bigotte", "avenue de la Viste", "rue Condorcet",
         "chemin du Passet", "boulevard Grawitz"],
    ),
    "grand-saint-antoine": (
        ("13015",),
        ["avenue de Saint-Antoine", "chemin de Bernex", "boulevard de la Savine", "traverse de la Granière"],
    ),
    "vallee-huveaune": (
        ("13010", "13011"),
        ["boulevard de la Valbarelle", "avenue de Saint-Menet", "boulevard Saint-Marcel", "chemin de l'Argile",
         "rue Jean Queillau"],
    ),
    "marseille-sud": (
        ("13009",),
        ["boulevard du Baou", "chemin de Sormiou", "boulevard de la Soude", "avenue de Mazargues"],
    ),
}  # fmt: skip

PRENOMS_F = _liste(
    "Fatima|Nadia|Sophie|Karima|Marie|Samia|Claire|Leïla|Anaïs|Houria|Chloé|Malika|Zohra|Hélène|Nathalie|Soraya|"
    "Aïcha|Françoise|Djamila|Céline"
)
PRENOMS_M = _liste(
    "Mohamed|Jean-Pierre|Yacine|Karim|Hervé|Rachid|Thierry|Mehdi|Julien|Saïd|François|Nordine|Stéphane|Ahmed|Éric|"
    "Kamel|Patrick|Ibrahim|Grégory|Lucas"
)
NOMS = _liste(
    "Martin|Benali|Haddad|Rossi|Garcia|Mekki|Durand|Diallo|Nguyen|Ferrari|Boyer|Saïd|Abdallah|Petrossian|Ouali|"
    "Giordano|Bensaïd|Fabre|Mouhoubi|Lopez|Chabane|Santoni|Traoré|Blanc|Amrani|Esposito|Hamidi|Roux|Kaci|Mercier|"
    "Ben Youssef|Arnaud|Madi|Gauthier|Soilihi|Vidal|Zerrouki|Pons|Attoumani|Fontaine"
)

# Kinds of porteur: name pattern ({q}: a neighbourhood, {x}: an invented name), their dominant pilier, weight.
SORTES = [
    ("Centre social {q}", "P1", 10),
    ("Association des habitants de {q}", "P2", 8),
    ("Maison pour tous {q}", "P1", 6),
    ("{x}", "P1", 22),
    ("{x} {q}", "P1", 14),
    ("Compagnie {x}", "P1", 5),
    ("Club sportif {q}", "P1", 6),
    ("Régie de quartier {q}", "P3", 3),
    ("{x} — insertion et emploi", "P3", 8),
    ("Amicale des locataires de {q}", "P2", 4),
    ("Point d'accès au droit {x}", "P4", 5),
    ("{x} — citoyenneté et mémoire", "P4", 4),
]
NOMS_INVENTES = _liste(
    "Horizon Jeunesse|Trait d'Union|Sillages|Les Ateliers du Lien|Cap Avenir|Ensemble pour Demain|Arc-en-Ciel|"
    "Les Mots Passants|Le Fil d'Ariane|Parenthèse|Main Tendue|Grandir Ensemble|La Courte Échelle|Boussole|"
    "Les Cigales|Mistral Solidaire|Le Phare|Tremplin|Rebonds|Escale|Les Jardiniers du Lien|Élan Sportif|"
    "Passerelles|Voix de Femmes|Lire Ensemble|Les Petites Mains|Entre Deux Rives|Calanques Solidaires|Clé de Sol|"
    "Les Bâtisseurs|Quartiers Nord Avenir|Accueil et Partage|Les Semeurs|Regards Croisés|L'Envol|Sud Médiation|"
    "Atout Cœur|Les Compagnons du Savoir|Rue des Arts|Zone d'Expression Libre"
)
MOTS_VIDES = {"de", "des", "du", "la", "le", "les", "et", "pour", "en", "au", "aux", "à", "d", "l", "—"}
BANQUES = [("4255900001", "CCOPFRPPXXX"), ("1130600030", "AGRIFRPP813"), ("2004100008", "PSSTFRPPMAR")]
AGREMENTS = [
    "Agrément jeunesse et éducation populaire (DDCS des Bouches-du-Rhône)",
    "Agrément espace de vie sociale (CAF des Bouches-du-Rhône)",
    "Agrément sport (DDCS des Bouches-du-Rhône)",
    "Agrément association éducative complémentaire de l'enseignement public (rectorat d'Aix-Marseille)",
]
# Probability that a demande asks each financeur besides the État, by pilier.
FINANCEURS_PROBA = {
    "ville-marseille": {"P1": 0.65, "P2": 0.55, "P3": 0.45, "P4": 0.55},
    "metropole": {"P1": 0.05, "P2": 0.35, "P3": 0.3, "P4": 0.05},
    "caf13": {"P1": 0.25, "P2": 0.02, "P3": 0.02, "P4": 0.08},
    "region": {"P1": 0.05, "P2": 0.03, "P3": 0.3, "P4": 0.05},
}


# --- The plan ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PorteurPrevu:
    rang: int
    nom: str
    sigle: str
    pilier: str  # the pilier most of its actions serve
    objet: str
    territoire: str
    adresse: str
    code_postal: str
    telephone: str
    representant_prenom: str
    representant_nom: str
    representant_qualite: str
    benevoles: int
    salaries: int
    etpt: Decimal
    volontaires: int
    adherents: int
    budget_annee_precedente: Decimal
    budget_annee_courante: Decimal
    agrements: str
    utilite_publique: bool
    banque: int

    @property
    def siret(self) -> str:
        return siret_demo(self.rang)

    @property
    def email_membre(self) -> str:
        return email_porteur(self.rang)


@dataclass(frozen=True)
class DemandePrevue:
    porteur: int  # rang
    numero: str
    cree_le: datetime
    depose_le: datetime
    pilier: str
    intitule: str
    type_demande: str
    objectifs_action: str
    description: str
    public_nombre: int
    public_age_min: int
    public_age_max: int
    public_part_qpv: Decimal
    public_description: str
    territoire: str
    qpvs: tuple[str, ...]
    lieu: str
    date_debut: date
    date_fin: date
    moyens_benevoles: int
    moyens_salaries: int
    moyens_etpt: Decimal
    objectifs: tuple[str, ...]
    indicateurs: tuple[tuple[str, str], ...]
    montants: tuple[tuple[str, Decimal], ...]  # financeur code → amount asked (0 for those not asked)
    budget: tuple[tuple[str, Decimal], ...]  # compte → amount


@dataclass(frozen=True)
class Plan:
    porteurs: list[PorteurPrevu]
    demandes: list[DemandePrevue]


def siret_demo(rang: int) -> str:
    """A valid SIRET (Luhn keys computed) that depends only on the porteur's rank, not on the seed."""
    base = f"{(rang * 7_654_321 + 40_000_000) % 100_000_000:08d}"  # a bijection of the rank: never two the same
    siren = base + luhn.calc_check_digit(base)
    nic = f"{1 + rang % 7:04d}"
    return siren + nic + luhn.calc_check_digit(siren + nic)


def email_porteur(rang: int) -> str:
    return f"porteur{rang:03d}@{DOMAINE}"


def _arrondi(valeur: Decimal, pas: Decimal) -> Decimal:
    return ((valeur / pas).quantize(EURO, rounding=ROUND_HALF_UP) * pas).quantize(CENTIME)


def _montant(rng: random.Random, bas: int, haut: int, pas: int) -> Decimal:
    return _arrondi(Decimal(rng.randint(bas, haut)), Decimal(pas))


def _sigle(nom: str) -> str:
    mots = [m for m in re.split(r"[\s'’\-]+", nom) if m and m.lower() not in MOTS_VIDES]
    return "".join(m[0] for m in mots).upper()[:6]


def _repartir(total: Decimal, poids: dict[str, float]) -> dict[str, Decimal]:
    """Split `total` by weights into whole euros; the largest share takes the rounding remainder."""
    somme = sum(poids.values())
    parts = {k: _arrondi(total * Decimal(str(p / somme)), EURO) for k, p in poids.items()}
    plus_gros = max(poids, key=lambda k: (poids[k], k))
    parts[plus_gros] += total - sum(parts.values())
    return {k: v for k, v in parts.items() if v > 0}


def _nombres_d_actions(rng: random.Random, nb_porteurs: int, nb_demandes: int) -> list[int]:
    """Most porteurs file one to three actions; about one in fifty files ten or more (federations, centres sociaux)."""
    grands = max(1, nb_porteurs // 50)
    nombres = [rng.randint(10, 16) for _ in range(grands)]
    nombres += rng.choices([1, 2, 3, 4, 5, 6, 7], weights=[42, 27, 15, 8, 5, 2, 1], k=nb_porteurs - grands)
    petits = range(grands, nb_porteurs)
    while sum(nombres) < nb_demandes:
        i = rng.choice(petits)
        nombres[i] += nombres[i] < 8
    while sum(nombres) > nb_demandes:
        i = rng.choice(petits)
        nombres[i] -= nombres[i] > 1
    rng.shuffle(nombres)
    return nombres


def _porteur(rng, rang: int, territoires: dict[str, list[tuple[str, str]]], noms_pris: set[str]) -> PorteurPrevu:
    codes = sorted(territoires)
    for _essai in range(30):  # names are drawn again until a new one comes up (porteurs are distinct bodies)
        territoire = rng.choices(codes, weights=[len(territoires[c]) for c in codes])[0]
        quartier = rng.choice(territoires[territoire])[1]
        motif, pilier, _poids = rng.choices(SORTES, weights=[s[2] for s in SORTES])[0]
        nom = motif.format(q=quartier, x=rng.choice(NOMS_INVENTES))
        if nom not in noms_pris:
            break
    else:
        nom = f"{nom} — antenne {rang}"
    noms_pris.add(nom)
    femme = rng.random() < 0.55
    postaux, rues = ADRESSES.get(territoire, (("13001",), ["rue de la République"]))
    salaries = rng.choice([0, 1, 1, 2, 2, 3, 4, 6, 8, 12, 20])
    budget = _montant(rng, 15, 900, 1) * 1000
    return PorteurPrevu(
        rang=rang,
        nom=nom,
        sigle=_sigle(nom),
        pilier=pilier,
        objet=f"Agir avec et pour les habitants de {quartier} et des quartiers voisins : éducation, lien social, "
        "accès aux droits et à la culture.",
        territoire=territoire,
        adresse=f"{rng.randint(1, 180)} {rng.choice(rues)}",
        code_postal=rng.choice(postaux),
        telephone=f"04 91 {rng.randint(10, 99)} {rng.randint(10, 99)} {rng.randint(10, 99)}",
        representant_prenom=rng.choice(PRENOMS_F if femme else PRENOMS_M),
        representant_nom=rng.choice(NOMS),
        representant_qualite=rng.choice(["Présidente", "Présidente", "Co-présidente"] if femme else ["Président"]),
        benevoles=rng.randint(3, 60),
        salaries=salaries,
        etpt=_arrondi(Decimal(salaries) * Decimal(str(rng.uniform(0.5, 0.95))), CENTIME),
        volontaires=rng.choice([0, 0, 0, 1, 2, 3]),
        adherents=rng.randint(15, 600),
        budget_annee_precedente=budget,
        budget_annee_courante=_arrondi(budget * Decimal(str(rng.uniform(0.9, 1.15))), Decimal("100")),
        agrements=rng.choice(AGREMENTS) if rng.random() < 0.35 else "",
        utilite_publique=rng.random() < 0.03,
        banque=rng.randrange(len(BANQUES)),
    )


def _montants(rng: random.Random, pilier: str, financeurs: list[str]) -> dict[str, Decimal]:
    """Amounts asked: mostly 2 to 20 k€ in all, a few large actions up to 150 k€; the État always, others often."""
    tirage = rng.random()
    if tirage < 0.88:
        total = _montant(rng, 2000, 20000, 100)
    elif tirage < 0.97:
        total = _montant(rng, 20000, 60000, 500)
    else:
        total = _montant(rng, 60000, 150000, 1000)
    autres = {}
    for code in financeurs:
        if code != "etat" and rng.random() < FINANCEURS_PROBA.get(code, {}).get(pilier, 0.05):
            part = rng.uniform(0.2, 0.5) if code == "ville-marseille" else rng.uniform(0.1, 0.3)
            autres[code] = max(Decimal("500.00"), _arrondi(total * Decimal(str(part)), Decimal(100)))
    while autres and sum(autres.values()) > total * Decimal("0.6"):
        autres.pop(max(autres, key=lambda c: (autres[c], c)))  # the État keeps at least 40 % of the request
    montants = {code: Decimal("0.00") for code in financeurs}
    montants.update(autres)
    montants["etat"] = total - sum(autres.values())
    return montants


def _budget(rng: random.Random, demande_totale: Decimal) -> dict[str, Decimal]:
    """A balanced budget prévisionnel: other resources on top of the amounts asked, charges = produits, 86 = 87."""
    autres = _arrondi(demande_totale * Decimal(str(rng.uniform(0.25, 0.8))), Decimal(10))
    produits = _repartir(
        autres, {"75": rng.uniform(0.2, 1), "70": rng.choice([0, 0, 0.3, 0.6]), "74-autres": rng.choice([0, 0, 0.5])}
    )
    charges = _repartir(
        demande_totale + autres,
        {
            "64": rng.uniform(0.45, 0.7),
            "60": rng.uniform(0.05, 0.15),
            "61": rng.uniform(0.03, 0.12),
            "62": rng.uniform(0.05, 0.15),
            "63": rng.choice([0, 0.02, 0.03]),
        },
    )
    budget = {**charges, **produits}
    if rng.random() < 0.4:  # volunteers' time valued in the budget (contributions volontaires en nature)
        budget["86"] = budget["87"] = _montant(rng, 500, 8000, 50)
    return dict(sorted(budget.items()))


def _depot(rng: random.Random, ouverture: datetime, cloture: datetime) -> datetime:
    """A deposit time in the window, in office hours (Paris), more of them as the closing date nears."""
    debut, fin = ouverture.astimezone(PARIS), cloture.astimezone(PARIS)
    jours = (fin.date() - debut.date()).days
    jour = debut.date() + timedelta(days=round(jours * rng.random() ** 0.5))
    moment = datetime.combine(jour, time(rng.randint(8, 19), rng.randint(0, 59)), tzinfo=PARIS)
    if moment >= fin:
        moment = fin - timedelta(minutes=rng.randint(1, 240))
    return max(moment, debut + timedelta(minutes=rng.randint(1, 120)))


def planifier(
    *,
    rng: random.Random,
    exercice: int,
    ouverture: datetime,
    cloture: datetime,
    territoires: dict[str, list[tuple[str, str]]],
    objectifs: dict[str, list[str]],
    financeurs: list[str],
    nb_porteurs: int = NB_PORTEURS,
    nb_demandes: int = NB_DEMANDES,
    premier_numero: int = 1,
) -> Plan:
    """Draw the porteurs and demandes (no database). `territoires`: code → [(qpv code, qpv name)];
    `objectifs`: pilier code → objectif codes; `financeurs`: the campagne's financeur codes."""
    noms_pris: set[str] = set()
    porteurs = [_porteur(rng, rang, territoires, noms_pris) for rang in range(1, nb_porteurs + 1)]
    nombres = _nombres_d_actions(rng, nb_porteurs, nb_demandes)
    if nombres[0] < 3:  # the demo login's porteur (the first) shows a few requests: swap with one that has some
        j = next((j for j, n in enumerate(nombres) if 3 <= n <= 5), 0)
        nombres[0], nombres[j] = nombres[j], nombres[0]
    piliers = sorted(PILIERS_POIDS)
    brouillons = []
    for porteur, nombre in zip(porteurs, nombres, strict=True):
        qpv_du_territoire = territoires[porteur.territoire]
        intitules_pris: set[str] = set()
        for _ in range(nombre):
            pilier = (
                porteur.pilier if rng.random() < 0.7 else rng.choices(piliers, [PILIERS_POIDS[p] for p in piliers])[0]
            )
            qpvs = sorted(rng.sample(qpv_du_territoire, k=min(len(qpv_du_territoire), rng.choice([1, 1, 1, 2, 3]))))
            quartier = qpvs[0][1]
            intitule = rng.choice(INTITULES[pilier])
            if intitule in intitules_pris or rng.random() < 0.35:
                intitule = f"{intitule} — {quartier}"
            n = 2
            while intitule in intitules_pris:
                intitule, n = f"{rng.choice(INTITULES[pilier])} — {quartier} ({n}e groupe)", n + 1
            intitules_pris.add(intitule)
            public, age_min, age_max = PUBLICS[pilier]
            nombre_public = rng.choice([12, 15, 20, 25, 30, 40, 50, 60, 80, 120, 200, 350])
            lieu = f"{rng.choice(LIEUX)} de {quartier}"
            montants = _montants(rng, pilier, financeurs)
            depose_le = _depot(rng, ouverture, cloture)
            cree_le = max(ouverture + timedelta(hours=2), depose_le - timedelta(days=rng.randint(2, 45)))
            debut = date(exercice, rng.randint(1, 3), 1)
            brouillons.append(
                DemandePrevue(
                    porteur=porteur.rang,
                    numero="",
                    cree_le=cree_le,
                    depose_le=depose_le,
                    pilier=pilier,
                    intitule=intitule,
                    type_demande=TypeDemande.RENOUVELLEMENT if rng.random() < 0.55 else TypeDemande.PREMIERE,
                    objectifs_action=OBJECTIFS_ACTION[pilier].format(q=quartier),
                    description=rng.choice(DESCRIPTIONS).format(
                        n=rng.randint(6, 40), s=max(1, porteur.salaries // 2), lieu=lieu
                    ),
                    public_nombre=nombre_public,
                    public_age_min=age_min,
                    public_age_max=age_max,
                    public_part_qpv=Decimal(rng.choice([60, 70, 75, 80, 85, 90, 95, 100])).quantize(CENTIME),
                    public_description=f"{public} de {quartier}",
                    territoire=porteur.territoire,
                    qpvs=tuple(code for code, _nom in qpvs),
                    lieu=lieu[0].upper() + lieu[1:],
                    date_debut=debut,
                    date_fin=date(exercice, 12, 31) if rng.random() < 0.6 else date(exercice, rng.randint(6, 11), 30),
                    moyens_benevoles=rng.randint(0, 12),
                    moyens_salaries=max(1, min(porteur.salaries, rng.randint(1, 4))),
                    moyens_etpt=_arrondi(Decimal(str(rng.uniform(0.2, 2.5))), CENTIME),
                    objectifs=tuple(sorted(rng.sample(objectifs[pilier], k=min(len(objectifs[pilier]), 2)))),
                    indicateurs=tuple(
                        (nom, str(max(1, round(nombre_public * rng.uniform(0.3, 1.0)))))
                        for nom in rng.sample(INDICATEURS[pilier], k=rng.randint(1, 3))
                    ),
                    montants=tuple(sorted(montants.items())),
                    budget=tuple(_budget(rng, sum(montants.values())).items()),
                )
            )
    # Numbers follow the order of deposit, as the counter gives them.
    ordre = sorted(range(len(brouillons)), key=lambda i: (brouillons[i].depose_le, i))
    numeros = {i: f"{exercice}-{rang:06d}" for rang, i in enumerate(ordre, start=premier_numero)}
    demandes = [replace(prevue, numero=numeros[i]) for i, prevue in enumerate(brouillons)]
    return Plan(porteurs=porteurs, demandes=demandes)


# --- Writing the plan -------------------------------------------------------------------------------------------


def _pdf_demo(libelle: str) -> bytes:
    from reportlab.pdfgen import canvas

    tampon = io.BytesIO()
    toile = canvas.Canvas(tampon, invariant=1)
    toile.drawString(72, 760, libelle)
    toile.drawString(72, 740, "Document de démonstration (données fictives).")
    toile.showPage()
    toile.save()
    return tampon.getvalue()


def _iban(porteur: PorteurPrevu) -> tuple[str, str]:
    from schwifty import IBAN

    banque, bic = BANQUES[porteur.banque]
    return str(IBAN.generate("FR", bank_code=banque, account_code=f"{porteur.rang:011d}")), bic


def _validite(depuis: date, mois: int | None) -> date | None:
    if not mois:
        return None
    annee, mois_fin = divmod(depuis.month - 1 + mois, 12)
    return date(depuis.year + annee, mois_fin + 1, 1) - timedelta(days=1)


def demande_deposee(
    d: DemandePrevue,
    *,
    campagne: Campagne,
    porteur: Porteur,
    user: User,
    identification: dict,
    territoire_id: int | None,
    statut: str = StatutDemande.DEPOSEE,
    instructeur: User | None = None,
) -> Demande:
    """The Demande of plan entry `d` as demande_deposer leaves it (not saved): number, action, déclaration signed by
    `user` for the porteur's représentant légal, and the porteur's `identification` snapshot. The bulk seeds (Marseille
    and national) build every deposited demande here; `statut` and `instructeur` are what later stages have made of it.
    """
    return Demande(
        campagne=campagne,
        porteur=porteur,
        statut=statut,
        numero=d.numero,
        type_demande=d.type_demande,
        intitule=d.intitule,
        objectifs_action=d.objectifs_action,
        description=d.description,
        public_nombre=d.public_nombre,
        public_age_min=d.public_age_min,
        public_age_max=d.public_age_max,
        public_part_qpv=d.public_part_qpv,
        public_description=d.public_description,
        territoire_id=territoire_id,
        lieu=d.lieu,
        date_debut=d.date_debut,
        date_fin=d.date_fin,
        moyens_benevoles=d.moyens_benevoles,
        moyens_salaries=d.moyens_salaries,
        moyens_etpt=d.moyens_etpt,
        declaration_nom=f"{porteur.representant_prenom} {porteur.representant_nom}",
        declaration_qualite=porteur.representant_qualite,
        declaration_date=d.depose_le.astimezone(PARIS).date(),
        declaration_par=user,
        declaration_engagement_republicain=True,
        declaration_exactitude=True,
        identification=identification,
        cree_par=user,
        depose_le=d.depose_le,
        depose_par=user,
        instructeur=instructeur,
    )


def planifier_campagne(campagne: Campagne, *, rng: random.Random, nb_porteurs: int, nb_demandes: int):
    """The plan of `campagne`'s demo demandes from its referential (territoires with their QPV, objectifs by pilier,
    financeurs), numbered after its dossier counter: shared by the Marseille and national seeds. Returns the plan and
    the campagne's financeurs by code."""
    territoires = {
        t.code: [(q.code, q.nom) for q in t.qpvs.order_by("code")]
        for t in Territoire.objects.filter(contrat=campagne.contrat).prefetch_related("qpvs").order_by("code")
    }
    territoires = {code: qpvs for code, qpvs in territoires.items() if qpvs}
    eligibles = campagne.objectifs.all()
    if not eligibles.exists():
        eligibles = Objectif.objects.filter(pilier__contrat=campagne.contrat)
    objectifs: dict[str, list[str]] = defaultdict(list)
    for code, pilier in eligibles.order_by("code").values_list("code", "pilier__code"):
        objectifs[pilier].append(code)
    for pilier in PILIERS_POIDS:  # a pilier without objectif borrows the first one
        objectifs.setdefault(pilier, objectifs[min(objectifs)])
    financeurs = {f.code: f for f in campagne.financeurs.order_by("code")}
    compteur, _cree = CompteurDossiers.objects.get_or_create(campagne=campagne)
    plan = planifier(
        rng=rng,
        exercice=campagne.exercice,
        ouverture=campagne.ouverture,
        cloture=campagne.cloture,
        territoires=territoires,
        objectifs=dict(objectifs),
        financeurs=list(financeurs),
        nb_porteurs=nb_porteurs,
        nb_demandes=nb_demandes,
        premier_numero=compteur.dernier + 1,
    )
    return plan, financeurs, compteur


def empreinte_prevue(demande: Demande, d: DemandePrevue, *, exercice: int, pieces: Iterable[str]) -> str:
    """The fingerprint `empreinte_dossier` computes for `demande` once plan entry `d` is written with the pièces of
    sha256 `pieces`, from the plan instead of a query per related table (thousands of demandes in bulk)."""
    contenu = contenu_dossier_de(
        demande,
        exercice=exercice,
        qpvs=d.qpvs,
        objectifs=d.objectifs,
        indicateurs=d.indicateurs,
        budget=d.budget,
        financeurs=d.montants,
        pieces=pieces,
    )
    return empreinte_contenu(contenu)


@transaction.atomic
def seed_demandes(
    *,
    campagne: Campagne,
    rng: random.Random,
    nb_porteurs: int = NB_PORTEURS,
    nb_demandes: int = NB_DEMANDES,
    compte_demo: str = COMPTE_ASSOCIATION,
) -> dict[str, int]:
    """Create the demo porteurs (one représentant légal user each) and their deposited demandes of `campagne`.

    Does nothing if the first demo porteur exists already (the seed is idempotent). The demo login `compte_demo`
    becomes a représentant légal of the first porteur, so that it sees deposited requests.
    """
    if Porteur.objects.filter(siret=siret_demo(1)).exists():
        return {"porteurs": 0, "demandes": 0}

    contrat = campagne.contrat
    plan, financeurs, compteur = planifier_campagne(
        campagne, rng=rng, nb_porteurs=nb_porteurs, nb_demandes=nb_demandes
    )

    # Users: one représentant légal per porteur. One hash with a fixed salt for all: the same demo password,
    # rows identical from one run to the next, and no second of PBKDF2 per account.
    mot_de_passe = make_password(settings.SUBVENTIONS_DEMO_PASSWORD, salt="subventionsdemo2015")
    users = User.objects.bulk_create(
        [
            User(
                email=p.email_membre,
                first_name=p.representant_prenom,
                last_name=p.representant_nom,
                password=mot_de_passe,
                date_joined=CREE_LE,
            )
            for p in plan.porteurs
        ]
    )
    EmailAddress.objects.bulk_create([EmailAddress(user=u, email=u.email, verified=True, primary=True) for u in users])
    user_de = {p.rang: u for p, u in zip(plan.porteurs, users, strict=True)}

    porteurs = []
    for p in plan.porteurs:
        iban, bic = _iban(p)
        porteurs.append(
            Porteur(
                nom=p.nom,
                sigle=p.sigle,
                siret=p.siret,
                siren=p.siret[:9],
                rna=f"W13{2_000_000 + p.rang * 37:07d}",
                objet=p.objet,
                adresse=p.adresse,
                code_postal=p.code_postal,
                commune="Marseille",
                telephone=p.telephone,
                email=f"contact.porteur{p.rang:03d}@{DOMAINE}",
                representant_nom=p.representant_nom,
                representant_prenom=p.representant_prenom,
                representant_qualite=p.representant_qualite,
                representant_email=p.email_membre,
                contact_nom=p.representant_nom,
                contact_prenom=p.representant_prenom,
                contact_qualite=p.representant_qualite,
                contact_email=p.email_membre,
                agrements=p.agrements,
                utilite_publique=p.utilite_publique,
                benevoles=p.benevoles,
                salaries=p.salaries,
                etpt=p.etpt,
                volontaires=p.volontaires,
                adherents=p.adherents,
                budget_annee_precedente=p.budget_annee_precedente,
                budget_annee_courante=p.budget_annee_courante,
                iban=iban,
                bic=bic,
            )
        )
    # The demo login represents the first porteur: its name is on the porteur's record and on its deposits.
    demo_user = User.objects.filter(email=compte_demo).first()
    if demo_user is not None:
        porteurs[0].representant_prenom, porteurs[0].representant_nom = demo_user.first_name, demo_user.last_name
        porteurs[0].representant_email = demo_user.email
        user_de[plan.porteurs[0].rang] = demo_user
    porteurs = Porteur.objects.bulk_create(porteurs)
    porteur_de = {p.rang: o for p, o in zip(plan.porteurs, porteurs, strict=True)}
    rang_de = {o.pk: rang for rang, o in porteur_de.items()}
    membres = [
        Membre(porteur=o, user=u, role=RoleMembre.REPRESENTANT_LEGAL) for o, u in zip(porteurs, users, strict=True)
    ]
    if demo_user is not None:
        membres.append(Membre(porteur=porteurs[0], user=demo_user, role=RoleMembre.REPRESENTANT_LEGAL))
    Membre.objects.bulk_create(membres)
    ids_porteurs = [o.pk for o in porteurs]
    Porteur.objects.filter(pk__in=ids_porteurs).update(cree_le=CREE_LE, modifie_le=CREE_LE)
    Membre.objects.filter(porteur_id__in=ids_porteurs).update(cree_le=CREE_LE)

    # The vault: each required pièce once per porteur, a small PDF written under the porteur's folder.
    types = list(campagne.pieces_requises.order_by("ordre", "code"))
    stockage = Piece._meta.get_field("fichier").storage
    contenus = {t.code: _pdf_demo(t.libelle) for t in types}
    pieces = []
    for o in porteurs:
        for t in types:
            contenu = contenus[t.code]
            nom = f"pieces/{o.pk}/demo-{t.code}.pdf"
            if not stockage.exists(nom):
                stockage.save(nom, ContentFile(contenu))
            depuis = date(campagne.exercice - 1, 6, 1)
            pieces.append(
                Piece(
                    porteur=o,
                    type=t,
                    fichier=nom,
                    nom_original=f"{t.code}.pdf",
                    type_mime="application/pdf",
                    taille=len(contenu),
                    sha256=hashlib.sha256(contenu).hexdigest(),
                    valide_du=depuis if t.duree_validite_mois else None,
                    valide_au=_validite(depuis, t.duree_validite_mois),
                    depose_par=user_de[rang_de[o.pk]],
                )
            )
    pieces = Piece.objects.bulk_create(pieces)
    Piece.objects.filter(porteur_id__in=ids_porteurs).update(depose_le=CREE_LE)
    piece_de = {(pc.porteur_id, pc.type_id): pc for pc in pieces}

    # The demandes, deposited: state, number, déclaration and snapshot set as demande_deposer sets them.
    identifications = {o.pk: identification_porteur(o) for o in porteurs}
    territoire_de = dict(Territoire.objects.filter(contrat=contrat).values_list("code", "pk"))
    demandes = []
    for d in plan.demandes:
        porteur = porteur_de[d.porteur]
        demandes.append(
            demande_deposee(
                d,
                campagne=campagne,
                porteur=porteur,
                user=user_de[d.porteur],
                identification=identifications[porteur.pk],
                territoire_id=territoire_de.get(d.territoire),
            )
        )
    demandes = Demande.objects.bulk_create(demandes)
    qpv_de = dict(QPV.objects.values_list("code", "pk"))
    objectif_de = dict(
        Objectif.objects.filter(pilier__contrat=contrat).values_list("code", "pk")
    )  # codes are unique within a contrat in the demo référentiel
    Demande.qpvs.through.objects.bulk_create(
        [
            Demande.qpvs.through(demande=o, qpv_id=qpv_de[c])
            for o, d in zip(demandes, plan.demandes, strict=True)
            for c in d.qpvs
        ]
    )
    Demande.objectifs.through.objects.bulk_create(
        [
            Demande.objectifs.through(demande=o, objectif_id=objectif_de[c])
            for o, d in zip(demandes, plan.demandes, strict=True)
            for c in d.objectifs
        ]
    )
    Indicateur.objects.bulk_create(
        [
            Indicateur(demande=o, nom=nom, cible=cible, ordre=i)
            for o, d in zip(demandes, plan.demandes, strict=True)
            for i, (nom, cible) in enumerate(d.indicateurs)
        ]
    )
    LigneBudget.objects.bulk_create(
        [
            LigneBudget(demande=o, compte=compte, sens=SENS_PAR_COMPTE[compte], montant=montant)
            for o, d in zip(demandes, plan.demandes, strict=True)
            for compte, montant in d.budget
        ]
    )
    LigneFinancement.objects.bulk_create(
        [
            LigneFinancement(demande=o, financeur=financeurs[code], montant_demande=montant)
            for o, d in zip(demandes, plan.demandes, strict=True)
            for code, montant in d.montants
        ]
    )
    PieceDemande.objects.bulk_create(
        [PieceDemande(demande=o, type=t, piece=piece_de[(o.porteur_id, t.pk)]) for o in demandes for t in types]
    )

    # auto_now(_add) fields took the current time on insert: put back the planned ones, then the fingerprint of
    # what was filed (the deposit's own snapshot function, fed from the plan).
    for o, d in zip(demandes, plan.demandes, strict=True):
        o.cree_le, o.modifie_le = d.cree_le, d.depose_le
        shas = [piece_de[(o.porteur_id, t.pk)].sha256 for t in types]
        o.empreinte = empreinte_prevue(o, d, exercice=campagne.exercice, pieces=shas)
    Demande.objects.bulk_update(demandes, ["cree_le", "modifie_le", "empreinte"], batch_size=500)

    # The deposit in the transition log, as the workflow service writes it.
    type_demande = ContentType.objects.get_for_model(Demande)
    journal = TransitionLog.objects.bulk_create(
        [
            TransitionLog(
                content_type=type_demande,
                object_id=o.pk,
                transition="deposer",
                source=StatutDemande.BROUILLON,
                cible=StatutDemande.DEPOSEE,
                acteur=o.depose_par,
                extra={"demo": True},
            )
            for o in demandes
        ]
    )
    for log, o in zip(journal, demandes, strict=True):
        log.date = o.depose_le
    TransitionLog.objects.bulk_update(journal, ["date"], batch_size=500)

    compteur.dernier = max(int(d.numero.split("-")[1]) for d in plan.demandes) if plan.demandes else compteur.dernier
    compteur.save(update_fields=["dernier"])
    return {"porteurs": len(porteurs), "demandes": len(demandes)}
