"""The SCDL "subventions" open-data file (Table Schema v2.1.1, OpenDataFrance; décret 2017-779): one row per
convention, arrêté or avenant a financeur made executory for a year, with exactly the schema's columns, order, formats
and enumerations (UTF-8, `,`, ISO dates, `.` decimals). Rows are built from an iterator, so the file is streamed."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Iterable, Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from itertools import islice

from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from stdnum.fr import siret as stdnum_siret

from subventions.conventions.models import ActeAttribution, ActeLigne
from subventions.demandes.enums import NatureAide
from subventions.paiements.enums import StatutPaiement
from subventions.paiements.models import Paiement
from subventions.pilotage.selectors import EXECUTOIRES
from subventions.referentiel.models import Financeur

VERSION = "2.1.1"
COLONNES = [
    "nomAttribuant",
    "idAttribuant",
    "dateConvention",
    "referenceDecision",
    "nomBeneficiaire",
    "idBeneficiaire",
    "rnaBeneficiaire",
    "objet",
    "montant",
    "nature",
    "conditionsVersement",
    "datesPeriodeVersement",
    "idRAE",
    "notificationUE",
    "pourcentageSubvention",
    "dispositifAide",
]
NUMERAIRE = "aide en numéraire"
EN_NATURE = "aide en nature"
UNIQUE = "unique"
ECHELONNE = "échelonné"
OBJET_MAX = 256
CENTIEME = Decimal("0.01")
RNA = re.compile(r"^W\d{9}$")
# Comptes that value volunteers' time: not a cost of the action (same rule as the compte-rendu financier).
COMPTES_EN_NATURE = ("86", "87")


def batched(iterable: Iterable, n: int) -> Iterator[tuple]:
    """itertools.batched of Python 3.12."""
    iterateur = iter(iterable)
    while lot := tuple(islice(iterateur, n)):
        yield lot


class ExportScdlImpossible(Exception):
    """The financeur's data cannot be published as is (its SIRET is missing…); the message is French."""


def verifier_financeur(financeur: Financeur) -> None:
    if not financeur.siret or not stdnum_siret.is_valid(financeur.siret):
        raise ExportScdlImpossible(
            f"Le financeur « {financeur.nom} » n'a pas de SIRET valide : renseignez-le dans le référentiel, il est "
            "obligatoire dans le fichier SCDL (idAttribuant)."
        )


def _sans_identifiant() -> Q:
    """Documents whose row the schema refuses: idBeneficiaire (the SIRET) may only be left empty for an aid en
    nature to an association identified by its RNA (the schema's description; its `one-of-required` check asks for
    one of the two). A porteur imported without SIRET has neither until someone completes its file."""
    lignes = ActeLigne.objects.filter(acte=OuterRef("pk"))
    en_nature_seulement = Exists(lignes.filter(ligne__demande__nature=NatureAide.EN_NATURE)) & ~Exists(
        lignes.exclude(ligne__demande__nature=NatureAide.EN_NATURE)
    )
    return Q(porteur__siret="") & ~(Q(porteur__rna__regex=r"^W[0-9]{9}$") & en_nature_seulement)


def _executoires(financeur: Financeur, annee: int) -> QuerySet[ActeAttribution]:
    return ActeAttribution.objects.filter(financeur=financeur, exercice=annee, statut__in=EXECUTOIRES)


def actes_ecartes(*, financeur: Financeur, annee: int) -> QuerySet[ActeAttribution]:
    """The attributed documents left out of the file because their porteur has no SIRET (and the aid is not one en
    nature to an association with an RNA): the command prints their numbers, a page can show them."""
    return _executoires(financeur, annee).filter(_sans_identifiant()).order_by("executoire_le", "numero", "pk")


def ecartes(*, financeur: Financeur, annee: int) -> list[str]:
    """Numbers of the documents `actes_ecartes` leaves out (one query)."""
    return list(actes_ecartes(financeur=financeur, annee=annee).values_list("numero", flat=True))


def actes_scdl(*, financeur: Financeur, annee: int) -> QuerySet[ActeAttribution]:
    """The documents of the financeur for the exercice `annee` that were attributed, i.e. made executory (signed
    convention, notified arrêté, or soldé since); résiliés and unsigned ones are not published, nor those whose
    porteur has no SIRET (`actes_ecartes`). In the file's order; `lignes_scdl` reads what each row needs."""
    return (
        _executoires(financeur, annee)
        .exclude(_sans_identifiant())
        .annotate(le=_moment("executoire_le", "cree_le"))
        .order_by("le", "pk")
    )


def _moment(executoire: str, cree: str) -> Coalesce:
    """The moment a document became executory (its creation if that was not recorded): the file's order, with the
    pk, shared by the three streams of `lignes_scdl`. Never a text column: Python must compare keys as the database
    orders them (a collation would not)."""
    return Coalesce(executoire, cree)


# What a row needs of its document (with `le`, the moment it became executory), read as plain values: building
# model instances (django-fsm, related descriptors) cost ten times the formatting itself (pyinstrument,
# bench/scdl.py).
CHAMPS = (
    "pk",
    "numero",
    "exercice",
    "annee_fin",
    "est_avenant",
    "parent__numero",
    "montant_total",
    "financeur__nom",
    "financeur__siret",
    "financeur__taux_avance",
    "porteur__nom",
    "porteur__siret",
    "porteur__rna",
)


def _objet(acte: dict, intitules: list[str]) -> str:
    if acte["est_avenant"]:
        prefixe = f"Avenant à {acte['parent__numero']}" if acte["parent__numero"] else "Avenant"
    elif acte["annee_fin"]:
        prefixe = f"Convention pluriannuelle d'objectifs {acte['exercice']}-{acte['annee_fin']}"
    else:
        prefixe = ""
    if len(intitules) == 1:
        corps = intitules[0]
    elif intitules:
        corps = f"{len(intitules)} actions : " + " ; ".join(intitules)
    else:
        corps = "Subvention"
    texte = f"{prefixe} : {corps}" if prefixe else corps
    texte = " ".join(texte.split())
    return texte if len(texte) <= OBJET_MAX else texte[: OBJET_MAX - 1].rstrip() + "…"


def _nature(natures: set[str]) -> str:
    if natures == {NatureAide.EN_NATURE}:
        return EN_NATURE
    if NatureAide.EN_NATURE in natures:
        return f"{NUMERAIRE};{EN_NATURE}"
    return NUMERAIRE


def _versements(acte: dict, jour: date) -> tuple[str, str]:
    """(conditionsVersement, datesPeriodeVersement) from the échéancier: one payment is "unique" on its date
    (paid, else due); several are "échelonné" over the period from the first to the last. A document without
    échéancier (imported history) follows the financeur's rule: all at once when its advance is 100 %, otherwise
    an advance at signature and the solde by 30 June of the next year."""
    nb = acte["nb_versements"] or 0
    if nb == 1:
        return UNIQUE, acte["premier_versement"].isoformat()
    if nb > 1:
        return ECHELONNE, f"{acte['premier_versement'].isoformat()}/{acte['dernier_versement'].isoformat()}"
    if acte["financeur__taux_avance"] >= 100:
        return UNIQUE, jour.isoformat()
    fin = max(date(acte["exercice"] + 1, 6, 30), jour)
    return ECHELONNE, f"{jour.isoformat()}/{fin.isoformat()}"


def _pourcentage(montant: Decimal, cout: Decimal | None) -> str:
    """The share of the actions' budget (their charges, contributions en nature aside) the subsidy funds, between
    0.01 and 1 as the schema requires; 1.00 when the budget is unknown (imported history)."""
    if not cout or cout <= 0:
        return "1.00"
    part = (Decimal(montant) / Decimal(cout)).quantize(CENTIEME, rounding=ROUND_HALF_UP)
    return str(min(Decimal("1.00"), max(CENTIEME, part)))


def ligne_scdl(acte: dict, actions: list[tuple[str, str]], jour_de: Callable[[datetime], date]) -> list[str]:
    """One row from a document's values (CHAMPS: `le`, the moment it became executory, else of its creation) and its
    actions, (intitulé, nature) in dossier order; `jour_de` gives a moment's local date."""
    jour = jour_de(acte["le"])
    intitules = [intitule for intitule, _nature_aide in actions]
    conditions, periode = _versements(acte, jour)
    reference = acte["numero"]
    if acte["est_avenant"] and acte["parent__numero"]:
        reference += f" (avenant à {acte['parent__numero']})"
    rna = (acte["porteur__rna"] or "").strip().upper()
    return [
        acte["financeur__nom"],
        acte["financeur__siret"],
        jour.isoformat(),
        reference,
        acte["porteur__nom"],
        acte["porteur__siret"],
        rna if RNA.match(rna) else "",
        _objet(acte, intitules),
        f"{Decimal(acte['montant_total']).quantize(CENTIEME):f}",
        _nature({nature for _intitule, nature in actions}),
        conditions,
        periode,
        "",
        "non",
        _pourcentage(acte["montant_total"], acte["cout_actions"]),
        "",
    ]


class _Flux:
    """Rows of a query in the file's order, starting with the document's pk and moment: `pour(cle)` returns the
    rows of that document, cle = (moment, pk). Rows of a document the main stream does not hold (made executory
    between the queries) are skipped, so that they never shift the others."""

    def __init__(self, lignes: Iterator[tuple]) -> None:
        self.lignes = lignes
        self.tete = next(lignes, None)

    def pour(self, cle: tuple[datetime, int]) -> list[tuple]:
        while self.tete is not None and (self.tete[1], self.tete[0]) < cle:
            self.tete = next(self.lignes, None)
        trouvees = []
        while self.tete is not None and (self.tete[1], self.tete[0]) == cle:
            trouvees.append(self.tete)
            self.tete = next(self.lignes, None)
        return trouvees


def lignes_scdl(actes: QuerySet[ActeAttribution], *, taille: int = 2000) -> Iterator[list[str]]:
    """The rows of `actes_scdl`, streamed in bounded memory: three queries read through cursors `taille` rows at a
    time, in the file's order, and merged here — the documents (plain values), their actions with each action's
    charges, and their payments' count and dates. Whatever the number of rows: three queries, and no more than
    `taille` rows of each in memory (correlated subqueries and per-batch `IN (…)` lookups cost more than the rows
    themselves: bench/scdl.py)."""
    fuseau = timezone.get_current_timezone()

    @lru_cache(maxsize=4096)  # documents are made executory in batches: a few distinct moments for many rows
    def jour_de(moment: datetime) -> date:
        return moment.astimezone(fuseau).date()

    publies = actes.order_by().values("pk")
    charge = Q(ligne__demande__lignes_budget__sens="charge") & ~Q(
        ligne__demande__lignes_budget__compte__in=COMPTES_EN_NATURE
    )
    actions = _Flux(
        ActeLigne.objects.filter(acte__in=publies)
        .annotate(le_acte=_moment("acte__executoire_le", "acte__cree_le"))
        .values_list("acte_id", "le_acte", "ligne__demande__intitule", "ligne__demande__nature")
        .annotate(charges=Sum("ligne__demande__lignes_budget__montant", filter=charge))
        .order_by("le_acte", "acte_id", "ligne__demande__numero", "pk")
        .iterator(chunk_size=taille)
    )
    date_paiement = Coalesce("reglement_date", "echeance")
    versements = _Flux(
        Paiement.objects.filter(echeancier__acte__in=publies)
        .exclude(statut=StatutPaiement.ANNULE)
        .annotate(le_acte=_moment("echeancier__acte__executoire_le", "echeancier__acte__cree_le"))
        .values("echeancier__acte_id", "le_acte")
        .annotate(n=Count("pk"), premier=Min(date_paiement), dernier=Max(date_paiement))
        .order_by("le_acte", "echeancier__acte_id")
        .values_list("echeancier__acte_id", "le_acte", "n", "premier", "dernier")
        .iterator(chunk_size=taille)
    )
    for acte in actes.values(*CHAMPS, "le").iterator(chunk_size=taille):
        cle = (acte["le"], acte["pk"])
        siennes = actions.pour(cle)
        couts = [c for *_x, c in siennes if c is not None]
        acte["cout_actions"] = sum(couts) if couts else None
        paiements = versements.pour(cle)
        if paiements:
            _pk, _le, acte["nb_versements"], acte["premier_versement"], acte["dernier_versement"] = paiements[0]
        else:
            acte["nb_versements"] = 0
        yield ligne_scdl(acte, [(intitule, nature) for _pk, _le, intitule, nature, _c in siennes], jour_de)


def csv_scdl(lignes: Iterable[list[str]], *, par: int = 100) -> Iterator[str]:
    """The header then the rows, `par` rows per text chunk (a streamed response sends each chunk as it comes):
    `,`-separated, quoted when needed, CRLF line ends."""
    tampon = io.StringIO(newline="")
    writer = csv.writer(tampon, delimiter=",", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLONNES)
    yield tampon.getvalue()
    for lot in batched(lignes, par):
        tampon.seek(0)
        tampon.truncate()
        writer.writerows(lot)
        yield tampon.getvalue()


def nom_fichier(financeur: Financeur, annee: int) -> str:
    return f"{(financeur.siret or financeur.code)[:9]}_subventions_{annee}.csv"


# --- The schema's own checks (custom_checks), which frictionless does not run by itself ----------------------------


def verifications_schema(lignes: Iterable[dict[str, str]], schema: dict) -> list[str]:
    """Errors of the schema's `custom_checks` on rows read as dicts: `french-siret-value` (a valid SIRET, check keys
    included) and `one-of-required` (one of two columns filled). Row numbers count the header as 1."""
    erreurs = []
    verifications = schema.get("custom_checks", [])
    for numero, ligne in enumerate(lignes, start=2):
        for verification in verifications:
            params = verification.get("params", {})
            if verification["name"] == "french-siret-value":
                valeur = (ligne.get(params["column"]) or "").strip()
                if valeur and not stdnum_siret.is_valid(valeur):
                    erreurs.append(f"ligne {numero} : {params['column']} « {valeur} » n'est pas un SIRET valide")
            elif verification["name"] == "one-of-required":
                a, b = params["column1"], params["column2"]
                if not (ligne.get(a) or "").strip() and not (ligne.get(b) or "").strip():
                    erreurs.append(f"ligne {numero} : ni {a} ni {b}")
    return erreurs


def resume(actes: QuerySet[ActeAttribution]) -> dict:
    """How many rows and what total the file will hold (one aggregate query)."""
    return actes.order_by().aggregate(n=Count("pk"), total=Sum("montant_total"))
