"""The SCDL "subventions" open-data file (Table Schema v2.1.1, OpenDataFrance; décret 2017-779): one row per
convention, arrêté or avenant a financeur made executory for a year, with exactly the schema's columns, order, formats
and enumerations (UTF-8, `,`, ISO dates, `.` decimals). Rows are built from an iterator, so the file is streamed."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Iterator
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db.models import Count, Max, Min, OuterRef, Prefetch, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone
from stdnum.fr import siret as stdnum_siret

from subventions.conventions.models import ActeAttribution, ActeLigne
from subventions.demandes.enums import NatureAide
from subventions.demandes.models import LigneBudget
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


class ExportScdlImpossible(Exception):
    """The financeur's data cannot be published as is (its SIRET is missing…); the message is French."""


def verifier_financeur(financeur: Financeur) -> None:
    if not financeur.siret or not stdnum_siret.is_valid(financeur.siret):
        raise ExportScdlImpossible(
            f"Le financeur « {financeur.nom} » n'a pas de SIRET valide : renseignez-le dans le référentiel, il est "
            "obligatoire dans le fichier SCDL (idAttribuant)."
        )


def actes_scdl(*, financeur: Financeur, annee: int) -> QuerySet[ActeAttribution]:
    """The documents of the financeur for the exercice `annee` that were attributed, i.e. made executory (signed
    convention, notified arrêté, or soldé since); résiliés and unsigned ones are not published. With what each row
    needs: the actions (title, kind of aid), the cost of their budgets, the payments' count and dates."""
    paiements = Paiement.objects.filter(echeancier__acte=OuterRef("pk")).exclude(statut=StatutPaiement.ANNULE)
    date_paiement = Coalesce("reglement_date", "echeance")
    charges = (
        LigneBudget.objects.filter(demande__lignes_financement__acte_ligne__acte=OuterRef("pk"), sens="charge")
        .exclude(compte__in=COMPTES_EN_NATURE)
        .order_by()
        .values("sens")
        .annotate(total=Sum("montant"))
        .values("total")[:1]
    )
    return (
        ActeAttribution.objects.filter(financeur=financeur, exercice=annee, statut__in=EXECUTOIRES)
        .select_related("financeur", "porteur", "parent")
        .annotate(
            nb_versements=Subquery(
                paiements.order_by().values("echeancier__acte").annotate(n=Count("pk")).values("n")[:1]
            ),
            premier_versement=Subquery(
                paiements.order_by().values("echeancier__acte").annotate(d=Min(date_paiement)).values("d")[:1]
            ),
            dernier_versement=Subquery(
                paiements.order_by().values("echeancier__acte").annotate(d=Max(date_paiement)).values("d")[:1]
            ),
            cout_actions=Subquery(charges),
        )
        .prefetch_related(
            Prefetch(
                "lignes",
                queryset=ActeLigne.objects.select_related("ligne__demande").order_by("ligne__demande__numero", "pk"),
            )
        )
        .order_by("executoire_le", "numero", "pk")
    )


def _jour(moment: datetime | None) -> date | None:
    return timezone.localdate(moment) if moment else None


def _objet(acte: ActeAttribution, intitules: list[str]) -> str:
    if acte.est_avenant:
        prefixe = f"Avenant à {acte.parent.numero}" if acte.parent_id else "Avenant"
    elif acte.annee_fin:
        prefixe = f"Convention pluriannuelle d'objectifs {acte.exercice}-{acte.annee_fin}"
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


def _versements(acte: ActeAttribution, jour: date) -> tuple[str, str]:
    """(conditionsVersement, datesPeriodeVersement) from the échéancier: one payment is "unique" on its date
    (paid, else due); several are "échelonné" over the period from the first to the last. A document without
    échéancier (imported history) follows the financeur's rule: all at once when its advance is 100 %, otherwise
    an advance at signature and the solde by 30 June of the next year."""
    nb = acte.nb_versements or 0
    if nb == 1:
        return UNIQUE, acte.premier_versement.isoformat()
    if nb > 1:
        return ECHELONNE, f"{acte.premier_versement.isoformat()}/{acte.dernier_versement.isoformat()}"
    if acte.financeur.taux_avance >= 100:
        return UNIQUE, jour.isoformat()
    fin = max(date(acte.exercice + 1, 6, 30), jour)
    return ECHELONNE, f"{jour.isoformat()}/{fin.isoformat()}"


def _pourcentage(montant: Decimal, cout: Decimal | None) -> str:
    """The share of the actions' budget (their charges, contributions en nature aside) the subsidy funds, between
    0.01 and 1 as the schema requires; 1.00 when the budget is unknown (imported history)."""
    if not cout or cout <= 0:
        return "1.00"
    part = (Decimal(montant) / Decimal(cout)).quantize(CENTIEME, rounding=ROUND_HALF_UP)
    return str(min(Decimal("1.00"), max(CENTIEME, part)))


def ligne_scdl(acte: ActeAttribution) -> list[str]:
    jour = _jour(acte.executoire_le) or _jour(acte.cree_le)
    lignes = list(acte.lignes.all())
    intitules = [al.ligne.demande.intitule for al in lignes]
    conditions, periode = _versements(acte, jour)
    reference = acte.numero + (f" (avenant à {acte.parent.numero})" if acte.est_avenant and acte.parent_id else "")
    rna = (acte.porteur.rna or "").strip().upper()
    return [
        acte.financeur.nom,
        acte.financeur.siret,
        jour.isoformat(),
        reference,
        acte.porteur.nom,
        acte.porteur.siret,
        rna if RNA.match(rna) else "",
        _objet(acte, intitules),
        f"{Decimal(acte.montant_total).quantize(CENTIEME):f}",
        _nature({al.ligne.demande.nature for al in lignes}),
        conditions,
        periode,
        "",
        "non",
        _pourcentage(acte.montant_total, acte.cout_actions),
        "",
    ]


def lignes_scdl(actes: QuerySet[ActeAttribution], *, taille: int = 500) -> Iterator[list[str]]:
    """The rows, read `taille` documents at a time (iterator with prefetch): memory stays bounded."""
    for acte in actes.iterator(chunk_size=taille):
        yield ligne_scdl(acte)


def csv_scdl(lignes: Iterable[list[str]]) -> Iterator[str]:
    """The header then one text chunk per row: `,`-separated, quoted when needed, CRLF line ends."""
    tampon = io.StringIO(newline="")
    writer = csv.writer(tampon, delimiter=",", quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writerow(COLONNES)
    yield tampon.getvalue()
    for ligne in lignes:
        tampon.seek(0)
        tampon.truncate()
        writer.writerow(ligne)
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
