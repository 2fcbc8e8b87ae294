"""The demo data set: the Marseille contrat de ville of 2015 (seeds/003), its financeurs, QPV, campagnes and users.

Deterministic and idempotent: every row is found by a stable natural key and updated in place, so running the
seed twice leaves the same database. Later stages (demandes, comités, conventions) add to the `marseille` scale.
"""

from __future__ import annotations

import base64
import hashlib
import random
from dataclasses import dataclass
from datetime import date, datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from subventions.campagnes.models import Campagne, Enveloppe
from subventions.comptes.enums import Role
from subventions.comptes.models import Habilitation, User
from subventions.demo_comites import seed_instruction_et_comites
from subventions.demo_conventions import financeurs_completer, seed_conventions
from subventions.demo_demandes import seed_demandes
from subventions.demo_finance import seed_finance
from subventions.demo_national import seed_national
from subventions.referentiel.enums import TypeFinanceur
from subventions.referentiel.models import (
    QPV,
    AxeTransversal,
    ContratDeVille,
    Financeur,
    Objectif,
    Pilier,
    Territoire,
    TypePiece,
)
from workflows.models import journal_reecriture_autorisee

PARIS = ZoneInfo("Europe/Paris")
DOMAINE = "demo.test"
SCALES = ("small", "marseille", "national")

# Public SIREN of each body; the NIC is the first that gives a valid SIRET (demo values, not checked against SIRENE).
FINANCEURS = [
    # code, nom, type, siret, taux d'avance, part max, toujours convention, centre financier, domaine, activité
    (
        "etat",
        "État — Agence nationale de la cohésion des territoires (ANCT)",
        TypeFinanceur.ETAT,
        "13002603200016",
        Decimal("80"),
        Decimal("80"),
        True,
        "0147-CDBU-DR13",
        "0147-01",
        "014701020101",
    ),
    (
        "ville-marseille",
        "Ville de Marseille",
        TypeFinanceur.COMMUNE,
        "21130055300016",
        Decimal("50"),
        Decimal("80"),
        False,
        "",
        "",
        "",
    ),
    (
        "metropole",
        "Métropole Aix-Marseille-Provence",
        TypeFinanceur.EPCI,
        "20005480700017",
        Decimal("50"),
        Decimal("70"),
        False,
        "",
        "",
        "",
    ),
    (
        "caf13",
        "CAF des Bouches-du-Rhône",
        TypeFinanceur.CAF,
        "78285569600012",
        Decimal("70"),
        Decimal("60"),
        False,
        "",
        "",
        "",
    ),
    (
        "region",
        "Région Provence-Alpes-Côte d'Azur",
        TypeFinanceur.REGION,
        "23130002100012",
        Decimal("50"),
        Decimal("50"),
        False,
        "",
        "",
        "",
    ),
]

PILIERS = [
    ("P1", 1, "Cohésion sociale"),
    ("P2", 2, "Cadre de vie et renouvellement urbain"),
    ("P3", 3, "Développement économique et emploi"),
    ("P4", 4, "Citoyenneté et valeurs de la République"),
]

# The contrat de ville's 8 orientations (seeds/003), each attached to the pilier it mostly serves.
OBJECTIFS = [
    (
        "O1",
        "P1",
        "Une vie locale qui s'appuie sur un cadre de vie rénové, des espaces publics réappropriés et l'accès "
        "à une offre de services adaptée (sociale, culturelle, sportive, de santé, associative)",
    ),
    ("O2", "P3", "Des quartiers qui participent, chacun à son niveau, au développement économique et de l'emploi"),
    (
        "O3",
        "P2",
        "Une offre de logements améliorée et diversifiée dans les quartiers prioritaires, qui remet en "
        "mouvement les parcours résidentiels des ménages",
    ),
    (
        "O4",
        "P2",
        "Les moyens d'une résorption significative de l'habitat privé dégradé, dans les quartiers anciens "
        "comme dans les grandes copropriétés",
    ),
    (
        "O5",
        "P2",
        "Le développement de l'offre de transports au bénéfice d'une meilleure mobilité de tous les "
        "habitants et d'une meilleure intégration des quartiers",
    ),
    ("O6", "P1", "Une responsabilité partagée envers l'enfance et la jeunesse"),
    (
        "O7",
        "P1",
        "Une action publique qui s'adapte à la diversité des publics des quartiers prioritaires, tout en "
        "valorisant leurs atouts",
    ),
    (
        "O8",
        "P4",
        "Le retour du droit dans les quartiers prioritaires, symbole de l'investissement de la puissance "
        "publique et condition de rénovation de la vie citoyenne",
    ),
]

AXES = [
    ("jeunesse", "Jeunesse"),
    ("egalite-fh", "Égalité entre les femmes et les hommes"),
    ("discriminations", "Lutte contre les discriminations"),
]

# Six territoires de projet and 35 QPV (names of real Marseille neighbourhoods; the codes are demo codes).
TERRITOIRES = [
    (
        "grand-centre-ville",
        "Grand Centre-Ville",
        [
            "Belsunce",
            "Noailles",
            "Belle de Mai",
            "Saint-Mauront",
            "Centre-Ville Canet Arnavaux Jean Jaurès",
            "La Joliette",
        ],
    ),
    (
        "grand-saint-barthelemy",
        "Grand Saint-Barthélemy — Grand Malpassé",
        [
            "Malpassé Corot",
            "Frais Vallon",
            "Le Clos La Rose",
            "Saint-Barthélemy Picon Busserine",
            "Les Lilas Oliviers",
            "Saint-Just La Solidarité",
            "Font-Vert",
        ],
    ),
    (
        "littoral-seon",
        "Littoral Séon",
        [
            "La Castellane",
            "La Bricarde",
            "Plan d'Aou",
            "Saint-Antoine Est",
            "Les Aygalades",
            "La Savine",
            "Notre-Dame Limite",
        ],
    ),
    (
        "grand-saint-antoine",
        "Grand Saint-Antoine — Grand Nord",
        ["Consolat Ruisseau Mirabeau", "Kallisté Granière", "La Solidarité", "Bassens", "Campagne Lévêque"],
    ),
    (
        "vallee-huveaune",
        "Vallée de l'Huveaune",
        ["La Valbarelle", "Air Bel", "La Rouguière", "Saint-Marcel", "Les Néréides Bosquet"],
    ),
    (
        "marseille-sud",
        "Marseille Sud",
        ["La Cayolle", "Sormiou", "Le Baou de Sormiou", "La Soude", "Les Hauts de Mazargues"],
    ),
]

TYPES_PIECES = [
    ("statuts", "Statuts régulièrement déclarés", None, 1),
    ("liste-dirigeants", "Liste des dirigeants (bureau, conseil d'administration)", 12, 2),
    ("rib", "Relevé d'identité bancaire (RIB)", None, 3),
    ("comptes-approuves", "Derniers comptes annuels approuvés", 18, 4),
    ("rapport-activite", "Dernier rapport d'activité approuvé", 18, 5),
    ("autre", "Autre pièce", None, 9),
]
PIECES_REQUISES = ["statuts", "liste-dirigeants", "rib", "comptes-approuves", "rapport-activite"]

ENVELOPPES_2015 = {
    "etat": Decimal("6500000.00"),
    "ville-marseille": Decimal("3000000.00"),
    "metropole": Decimal("1200000.00"),
    "caf13": Decimal("800000.00"),
    "region": Decimal("900000.00"),
}
REPARTITION_ETAT_2015 = {
    "P1": Decimal("3900000.00"),
    "P2": Decimal("650000.00"),
    "P3": Decimal("1300000.00"),
    "P4": Decimal("650000.00"),
}


@dataclass(frozen=True)
class CompteDemo:
    email: str
    prenom: str
    nom: str
    role: str | None
    financeurs: tuple[str, ...]  # codes; () with tous=True for transversal roles
    tous: bool = False
    territoires: tuple[str, ...] = ()

    @property
    def espace(self) -> str:
        return {
            None: "/espace/association/",
            Role.INSTRUCTEUR: "/espace/instruction/",
            Role.COMITE: "/espace/comite/",
            Role.CONSEIL_CITOYEN: "/espace/comite/",
            Role.SIGNATAIRE: "/espace/signature/",
            Role.FINANCE: "/espace/finance/",
            Role.ADMINISTRATEUR: "/espace/administration/",
        }[self.role]


COMPTES = [
    CompteDemo(f"association@{DOMAINE}", "Amina", "Benali", None, ()),
    CompteDemo(f"instructeur.etat@{DOMAINE}", "Julien", "Martin", Role.INSTRUCTEUR, ("etat",)),
    CompteDemo(
        f"instructeur.ville@{DOMAINE}",
        "Sophie",
        "Roux",
        Role.INSTRUCTEUR,
        ("ville-marseille",),
        territoires=("grand-centre-ville", "littoral-seon"),
    ),
    CompteDemo(f"comite@{DOMAINE}", "Karim", "Haddad", Role.COMITE, (), tous=True),
    CompteDemo(f"conseil.citoyen@{DOMAINE}", "Fatou", "Diallo", Role.CONSEIL_CITOYEN, (), tous=True),
    CompteDemo(f"signataire.etat@{DOMAINE}", "Claire", "Bonnet", Role.SIGNATAIRE, ("etat",)),
    CompteDemo(f"finance.etat@{DOMAINE}", "Marc", "Lefèvre", Role.FINANCE, ("etat",)),
    CompteDemo(f"admin@{DOMAINE}", "Nadia", "Girard", Role.ADMINISTRATEUR, (), tous=True),
]


def secret_totp_demo(email: str) -> str:
    """A stable TOTP secret per demo account, so `demo_totp` can print the current code."""
    digest = hashlib.sha256(f"subventions-demo-totp:{email}".encode()).digest()[:20]
    return base64.b32encode(digest).decode("ascii")


def campagne_courante_dates(aujourd_hui: date) -> tuple[int, datetime, datetime]:
    """The demo's current campagne is open on the day the demo runs: 1 Sept of E-1 to 30 Sept of E."""
    exercice = aujourd_hui.year + 1 if aujourd_hui.month >= 9 else aujourd_hui.year
    ouverture = datetime.combine(date(exercice - 1, 9, 1), time(9, 0), tzinfo=PARIS)
    cloture = datetime.combine(date(exercice, 9, 30), time(12, 0), tzinfo=PARIS)
    return exercice, ouverture, cloture


def _upsert(model, lookup: dict, values: dict):
    obj, _created = model.objects.update_or_create(**lookup, defaults=values)
    return obj


@transaction.atomic
def seed(
    *, scale: str = "small", graine: int = 2015, aujourd_hui: date | None = None, taille: float | None = None
) -> dict[str, int]:
    """Load the demo at `scale`. `taille` scales the national data set (tests run it at a few hundredths).

    The demo invents a 2015 programme: its loaders backdate the transition log they write, which the application
    may never do (workflows.models.journal_reecriture_autorisee).
    """
    with journal_reecriture_autorisee():
        return _seed(scale=scale, graine=graine, aujourd_hui=aujourd_hui, taille=taille)


def _seed(*, scale: str, graine: int, aujourd_hui: date | None, taille: float | None) -> dict[str, int]:
    if scale not in SCALES:
        raise ValueError(f"Échelle inconnue : {scale} (attendu : {', '.join(SCALES)}).")
    rng = random.Random(graine)  # used by the larger scales of later stages; seeded for determinism
    aujourd_hui = aujourd_hui or timezone.localdate()

    types = {}
    for code, libelle, validite, ordre in TYPES_PIECES:
        types[code] = _upsert(
            TypePiece, {"code": code}, {"libelle": libelle, "duree_validite_mois": validite, "ordre": ordre}
        )

    financeurs = {}
    for code, nom, type_, siret, avance, part_max, toujours, cf, df, act in FINANCEURS:
        iban = str(IBAN_DEMO[code])
        f = Financeur(code=code)
        existing = Financeur.objects.filter(code=code).first()
        if existing:
            f = existing
        f.nom, f.type, f.siret = nom, type_, siret
        f.taux_avance, f.part_max, f.toujours_convention = avance, part_max, toujours
        f.seuil_convention = Decimal("23000.00")
        f.sepa_nom, f.sepa_iban, f.sepa_bic = nom[:70], iban, "BDFEFRPPCCT"
        f.chorus_centre_financier, f.chorus_domaine_fonctionnel, f.chorus_activite = cf, df, act
        f.actif = True
        f.full_clean()
        f.save()
        financeurs[code] = f

    contrat = _upsert(
        ContratDeVille,
        {"nom": "Contrat de ville de Marseille Provence Métropole"},
        {"perimetre": "Marseille (Métropole Aix-Marseille-Provence)", "annee_debut": 2015, "annee_fin": 2030},
    )
    piliers = {
        code: _upsert(Pilier, {"contrat": contrat, "code": code}, {"numero": num, "libelle": lib})
        for code, num, lib in PILIERS
    }
    objectifs = []
    for ordre, (code, pilier, libelle) in enumerate(OBJECTIFS, start=1):
        objectifs.append(
            _upsert(Objectif, {"pilier": piliers[pilier], "code": code}, {"libelle": libelle, "ordre": ordre})
        )
    for code, libelle in AXES:
        _upsert(AxeTransversal, {"contrat": contrat, "code": code}, {"libelle": libelle})

    territoires = {}
    numero = 900
    for code, nom, quartiers in TERRITOIRES:
        territoire = _upsert(Territoire, {"contrat": contrat, "code": code}, {"nom": nom})
        qpvs = []
        for quartier in quartiers:
            numero += 1
            qpvs.append(
                _upsert(
                    QPV,
                    {"code": f"QP013{numero:03d}"},
                    {"nom": quartier, "commune": "Marseille", "generation": 2015, "code_fictif": True},
                )
            )
        territoire.qpvs.set(qpvs)
        territoires[code] = territoire

    campagnes = []
    c2015 = _upsert(
        Campagne,
        {"contrat": contrat, "exercice": 2015},
        {
            "titre": "Appel à projets 2015 du contrat de ville de Marseille",
            "description": "Première programmation du nouveau contrat de ville, sur la géographie prioritaire 2015.",
            "ouverture": datetime(2014, 10, 15, 9, 0, tzinfo=PARIS),
            "cloture": datetime(2014, 12, 12, 12, 0, tzinfo=PARIS),
            "date_limite_instruction": date(2015, 3, 31),
            "date_comite": date(2015, 4, 29),
        },
    )
    campagnes.append(c2015)
    exercice, ouverture, cloture = campagne_courante_dates(aujourd_hui)
    courante = _upsert(
        Campagne,
        {"contrat": contrat, "exercice": exercice},
        {
            "titre": f"Appel à projets {exercice} du contrat de ville de Marseille",
            "description": "Campagne de démonstration, ouverte aux dépôts le jour où la démonstration est installée.",
            "ouverture": ouverture,
            "cloture": cloture,
            "date_limite_instruction": date(exercice, 11, 15),
            "date_comite": date(exercice, 12, 10),
        },
    )
    campagnes.append(courante)
    for campagne in campagnes:
        campagne.full_clean()
        campagne.financeurs.set(financeurs.values())
        campagne.objectifs.set(objectifs)
        campagne.pieces_requises.set([types[c] for c in PIECES_REQUISES])

    for code, montant in ENVELOPPES_2015.items():
        _upsert(Enveloppe, {"campagne": c2015, "financeur": financeurs[code], "pilier": None}, {"montant": montant})
        _upsert(Enveloppe, {"campagne": courante, "financeur": financeurs[code], "pilier": None}, {"montant": montant})
    for code, montant in REPARTITION_ETAT_2015.items():
        _upsert(
            Enveloppe,
            {"campagne": c2015, "financeur": financeurs["etat"], "pilier": piliers[code]},
            {"montant": montant},
        )

    for compte in COMPTES:
        _seed_compte(compte, financeurs, territoires)
    financeurs_completer()  # signataires, addresses, the Région in CPO mode

    if scale == "marseille":
        seed_demandes(campagne=c2015, rng=rng)  # ~720 deposited requests from ~300 porteurs
        seed_instruction_et_comites(campagne=c2015, rng=rng)  # instruction, then the comités of 29/04 and 9/06/2015
        seed_conventions(campagne=c2015, domaine=DOMAINE)  # 279 État conventions, some signed, some awaiting
        seed_finance(campagne=c2015, domaine=DOMAINE)  # advances paid, comptes rendus, a reduced solde, a reversement
    elif scale == "national":
        # ~25 000 requests from 12 000 porteurs over 1 500 QPV, decided, conventionned and partly paid, in bulk.
        seed_national(campagne=c2015, rng=rng, taille=taille)
    return {
        "financeurs": Financeur.objects.count(),
        "qpv": QPV.objects.count(),
        "territoires": Territoire.objects.count(),
        "campagnes": Campagne.objects.count(),
        "utilisateurs": User.objects.count(),
    }


def _seed_compte(compte: CompteDemo, financeurs, territoires) -> User:
    user = User.objects.filter(email=compte.email).first()
    if user is None:
        user = User.objects.create_user(compte.email, settings.SUBVENTIONS_DEMO_PASSWORD)
    user.first_name, user.last_name = compte.prenom, compte.nom
    user.is_superuser = False
    user.is_staff = False
    user.save()
    EmailAddress.objects.update_or_create(user=user, email=compte.email, defaults={"verified": True, "primary": True})
    if compte.role:
        hab = _upsert(
            Habilitation, {"user": user, "role": compte.role}, {"tous_financeurs": compte.tous, "actif": True}
        )
        hab.financeurs.set([financeurs[c] for c in compte.financeurs])
        hab.territoires.set([territoires[c] for c in compte.territoires])
        if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
            TOTP.activate(user, secret_totp_demo(compte.email))
    return user


def _iban_demo(compte: str):
    from schwifty import IBAN

    return IBAN.generate("FR", bank_code="3000100000", account_code=compte)


# Accounts at the Banque de France / Trésor (bank 30001): demo values with valid check digits.
IBAN_DEMO = {
    "etat": _iban_demo("C0130000"),
    "ville-marseille": _iban_demo("C1300553"),
    "metropole": _iban_demo("C2005480"),
    "caf13": _iban_demo("C7828556"),
    "region": _iban_demo("C2313000"),
}
