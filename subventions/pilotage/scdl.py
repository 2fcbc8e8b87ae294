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
from itertools import chain, islice
from operator import itemgetter
from typing import Any

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.db.models import Count, Exists, Max, Min, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.db.models.sql.compiler import cursor_iter
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
UN = Decimal("1.00")
RNA = re.compile(r"^W\d{9}$")
# Comptes that value volunteers' time: not a cost of the action (same rule as the compte-rendu financier).
COMPTES_EN_NATURE = ("86", "87")
# Distinct values remembered per converted column (moments, dates, advance rates) while the file is written.
MEMOIRE = 4096


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
    pk, shared by the three streams of `lignes_scdl`. A timestamp, never a text column subject to a collation: Python
    compares the keys as the driver returns them (datetimes, or SQLite's ISO text) in the order the database sorts
    them."""
    return Coalesce(executoire, cree)


# What a row needs of its document (with `le`, the moment it became executory), read as plain values: building
# model instances (django-fsm, related descriptors) cost ten times the formatting itself (pyinstrument,
# bench/scdl.py). In this order: `lignes_scdl` unpacks them.
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


class _Brutes:
    """The rows of a values() queryset as the database driver returns them, read through a cursor `taille` rows at a
    time as `QuerySet.iterator()` does, but without Django's converter calls on every cell: parsing and making aware
    a moment, building a Decimal, cost as much as the rest of a row (pyinstrument, bench/scdl.py). The caller converts
    what it uses: `memo` once per distinct value, `convertisseur` on each row; columns of integers and text need no
    conversion, and booleans are only tested for truth."""

    def __init__(self, valeurs: QuerySet, taille: int) -> None:
        requete = valeurs.query
        compilateur = requete.get_compiler(using=valeurs.db)
        connexion = self.connexion = compilateur.connection
        self.lignes: Iterator[tuple] = iter(())
        try:
            sql, params = compilateur.as_sql()
        except EmptyResultSet:
            sql = ""
        if sql:  # as SQLCompiler.execute_sql(MULTI, chunked_fetch=…) does, with the cursor's loaders set first
            if connexion.settings_dict.get("DISABLE_SERVER_SIDE_CURSORS"):
                curseur = connexion.cursor()
            else:
                curseur = connexion.chunked_cursor()
            _horodatages_psycopg(curseur)
            try:
                curseur.execute(sql, params)
            except Exception:
                curseur.close()
                raise
            colonnes = compilateur.col_count if compilateur.has_extra_select else None
            vide = connexion.features.empty_fetchmany_value
            self.lignes = chain.from_iterable(cursor_iter(curseur, vide, colonnes, taille))
        # The columns in the order values() gives them (as ValuesIterable names them).
        if requete.selected:
            noms = list(requete.selected)
        else:
            noms = [*requete.extra_select, *requete.values_select, *requete.annotation_select]
        self.rang = {nom: i for i, nom in enumerate(noms)}
        self.convertisseurs = compilateur.get_converters([s[0] for s in (compilateur.select or [])][: len(noms)])

    def colonnes(self, *noms: str) -> Iterator[tuple]:
        """The rows with these columns, in this order."""
        rangs = [self.rang[nom] for nom in noms]
        if rangs == list(range(len(self.rang))):
            return self.lignes
        return map(itemgetter(*rangs), self.lignes)

    def convertisseur(self, nom: str) -> Callable[[Any], Any] | None:
        """raw value → the value Django gives for the column; None when the column needs no conversion."""
        if (rang := self.rang[nom]) not in self.convertisseurs:
            return None
        convertisseurs, expression = self.convertisseurs[rang]
        connexion = self.connexion

        def convertir(valeur: Any) -> Any:
            for convertisseur in convertisseurs:
                valeur = convertisseur(valeur, expression, connexion)
            return valeur

        return convertir

    def memo(self, nom: str, ensuite: Callable[[Any], Any]) -> _Memo:
        """raw value → `ensuite` of the value Django gives for the column, computed once per distinct value: for the
        columns whose values repeat (moments, dates, the financeur's)."""
        convertir = self.convertisseur(nom)
        return _Memo(ensuite if convertir is None else lambda brute: ensuite(convertir(brute)))


def _horodatages_psycopg(curseur: Any) -> None:
    """On PostgreSQL with psycopg 3, this cursor loads timestamps with psycopg's own loader (in C with
    psycopg-binary) instead of Django's, a Python subclass that only sets the connection's time zone again: it cost
    more than the rest of the row (pyinstrument, bench/scdl.py). The moments are the same aware datetimes (the
    session's time zone is the connection's); without USE_TZ Django's naive ones are kept."""
    brut = getattr(curseur, "cursor", None)
    if not settings.USE_TZ or not hasattr(brut, "adapters"):
        return
    import psycopg

    oid = psycopg.adapters.types["timestamptz"].oid
    brut.adapters.register_loader(oid, psycopg.adapters.get_loader(oid, psycopg.pq.Format.TEXT))


class _Memo(dict):
    """`memo[cle]` is `fonction(cle)`, computed on the first look-up (a plain dict look-up afterwards); no more than
    MEMOIRE keys are kept."""

    def __init__(self, fonction: Callable[[Any], Any]) -> None:
        super().__init__()
        self.fonction = fonction

    def __missing__(self, cle: Any) -> Any:
        if len(self) >= MEMOIRE:
            self.clear()
        valeur = self[cle] = self.fonction(cle)
        return valeur


def lignes_scdl(actes: QuerySet[ActeAttribution], *, taille: int = 500) -> Iterator[list[str]]:
    """The rows of `actes_scdl`, streamed in bounded memory: three queries read through cursors `taille` rows at a
    time, in the file's order, and merged here — the documents (plain values), their actions with each action's
    charges, and their payments' count and dates. Whatever the number of rows: three queries, and no more than
    `taille` rows of each in memory (correlated subqueries and per-batch `IN (…)` lookups cost more than the rows
    themselves: bench/scdl.py).

    Each row (one document):
    - dateConvention: the local date of the moment it became executory (of its creation if not recorded);
    - referenceDecision: its number, and the one of the convention it amends;
    - rnaBeneficiaire: the porteur's RNA when it is one (W and 9 digits);
    - objet: its actions' titles, after « Avenant à … » or « Convention pluriannuelle d'objectifs … », spaces
      collapsed, cut at OBJET_MAX characters;
    - nature: from its actions' natures (en nature, en numéraire or both);
    - conditionsVersement and datesPeriodeVersement from the échéancier: one payment is "unique" on its date (paid,
      else due); several are "échelonné" over the period from the first to the last. A document without
      échéancier (imported history) follows the financeur's rule: all at once when its advance is 100 %, otherwise
      an advance at signature and the solde by 30 June of the next year;
    - pourcentageSubvention: the share of the actions' budget (their charges, contributions en nature aside) the
      subsidy funds, between 0.01 and 1 as the schema requires; 1.00 when the budget is unknown (imported history).

    The rows of the three streams are merged on (moment, pk) compared as the driver returns them, i.e. as the
    database orders them; a document's actions or payments the main stream does not hold (made executory between
    the queries) are skipped, so that they never shift the others."""
    fuseau = timezone.get_current_timezone()
    publies = actes.order_by().values("pk")
    charge = Q(ligne__demande__lignes_budget__sens="charge") & ~Q(
        ligne__demande__lignes_budget__compte__in=COMPTES_EN_NATURE
    )
    actions = _Brutes(
        ActeLigne.objects.filter(acte__in=publies)
        .annotate(le_acte=_moment("acte__executoire_le", "acte__cree_le"))
        .values_list("acte_id", "le_acte", "ligne__demande__intitule", "ligne__demande__nature")
        .annotate(charges=Sum("ligne__demande__lignes_budget__montant", filter=charge))
        .order_by("le_acte", "acte_id", "ligne__demande__numero", "pk"),
        taille,
    )
    date_paiement = Coalesce("reglement_date", "echeance")
    versements = _Brutes(
        Paiement.objects.filter(echeancier__acte__in=publies)
        .exclude(statut=StatutPaiement.ANNULE)
        .annotate(le_acte=_moment("echeancier__acte__executoire_le", "echeancier__acte__cree_le"))
        .values("echeancier__acte_id", "le_acte")
        .annotate(n=Count("pk"), premier=Min(date_paiement), dernier=Max(date_paiement))
        .order_by("le_acte", "echeancier__acte_id")
        .values_list("echeancier__acte_id", "le_acte", "n", "premier", "dernier"),
        taille,
    )
    documents = _Brutes(actes.values(*CHAMPS, "le"), taille)

    def jour_et_texte(moment: datetime) -> tuple[date, str]:
        jour = moment.astimezone(fuseau).date()
        return jour, jour.isoformat()

    # Documents are made executory in batches and paid on a few dates: a few distinct moments and dates for many
    # rows, each converted once.
    jours = documents.memo("le", jour_et_texte)
    taux = documents.memo("financeur__taux_avance", lambda taux: taux)
    premiers = versements.memo("premier", lambda jour: jour.isoformat())
    derniers = versements.memo("dernier", lambda jour: jour.isoformat())
    # Amounts hardly repeat: converted on each row when the driver does not give Decimals (SQLite).
    montant_de = documents.convertisseur("montant_total")
    charges_de = actions.convertisseur("charges")
    soldes = _Memo(lambda cle: f"{cle[1].isoformat()}/{max(date(cle[0] + 1, 6, 30), cle[1]).isoformat()}")
    rna_valide = RNA.match
    en_nature = NatureAide.EN_NATURE.value

    lignes_actions = actions.colonnes(
        "acte_id", "le_acte", "ligne__demande__intitule", "ligne__demande__nature", "charges"
    )
    lignes_versements = versements.colonnes("echeancier__acte_id", "le_acte", "n", "premier", "dernier")
    action = next(lignes_actions, None)
    versement = next(lignes_versements, None)
    for (
        pk,
        numero,
        exercice,
        annee_fin,
        est_avenant,
        parent,
        montant,
        financeur,
        siret_financeur,
        taux_avance,
        nom,
        siret,
        rna,
        le,
    ) in documents.colonnes(*CHAMPS, "le"):
        # Its actions, in dossier order.
        intitules = []
        couts = None
        avec_nature = avec_numeraire = False
        while action is not None:
            if action[0] == pk and action[1] == le:
                intitules.append(action[2])
                if action[3] == en_nature:
                    avec_nature = True
                else:
                    avec_numeraire = True
                if (charges := action[4]) is not None:
                    if charges_de is not None:
                        charges = charges_de(charges)
                    couts = charges if couts is None else couts + charges
            elif (action[1], action[0]) > (le, pk):
                break
            action = next(lignes_actions, None)
        # Its payments (one row: their count, first and last dates).
        nb = 0
        while versement is not None:
            if versement[0] == pk and versement[1] == le:
                if not nb:
                    _pk, _le, nb, premier, dernier = versement
            elif (versement[1], versement[0]) > (le, pk):
                break
            versement = next(lignes_versements, None)

        jour, jour_texte = jours[le]
        if nb == 1:
            conditions, periode = UNIQUE, premiers[premier]
        elif nb > 1:
            conditions, periode = ECHELONNE, f"{premiers[premier]}/{derniers[dernier]}"
        elif taux[taux_avance] >= 100:
            conditions, periode = UNIQUE, jour_texte
        else:
            conditions, periode = ECHELONNE, soldes[exercice, jour]

        if est_avenant:
            reference = f"{numero} (avenant à {parent})" if parent else numero
            prefixe = f"Avenant à {parent}" if parent else "Avenant"
        else:
            reference = numero
            prefixe = f"Convention pluriannuelle d'objectifs {exercice}-{annee_fin}" if annee_fin else ""
        if len(intitules) == 1:
            corps = intitules[0]
        elif intitules:
            corps = f"{len(intitules)} actions : " + " ; ".join(intitules)
        else:
            corps = "Subvention"
        objet = " ".join((f"{prefixe} : {corps}" if prefixe else corps).split())
        if len(objet) > OBJET_MAX:
            objet = objet[: OBJET_MAX - 1].rstrip() + "…"

        rna = (rna or "").strip().upper()
        if montant_de is not None:
            montant = montant_de(montant)
        if not couts or couts <= 0:
            pourcentage = "1.00"
        else:
            part = (montant / couts).quantize(CENTIEME, rounding=ROUND_HALF_UP)
            pourcentage = str(min(UN, max(CENTIEME, part)))
        yield [
            financeur,
            siret_financeur,
            jour_texte,
            reference,
            nom,
            siret,
            rna if rna_valide(rna) else "",
            objet,
            f"{montant.quantize(CENTIEME):f}",
            (f"{NUMERAIRE};{EN_NATURE}" if avec_numeraire else EN_NATURE) if avec_nature else NUMERAIRE,
            conditions,
            periode,
            "",
            "non",
            pourcentage,
            "",
        ]


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
