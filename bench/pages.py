"""Staff pages through the Django test client (demo agents, TOTP active, force_login), at Marseille or national scale,
against the bare paginated query of the same rows (for the pilotage dashboard: the bare aggregate queries of its
figures); the number of queries of each page is printed as its own line."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, Sum
from django.test import Client

from bench.harness import Figure, QueryCount, Report, interleave, median

PER_PAGE = 50  # the product's PAR_PAGE of the queue and the conventions list
TARGET_MS = 300
TARGET_QUERIES = 15
MARKERS_CHECKED = 200  # floor rows whose marker is looked for in the page (a séance at national scale has 30 000)


@dataclass
class Page:
    name: str
    email: str
    url: str
    floor: Callable[[], list]  # the bare query (or queries) of the rows the page prints; returns them
    marker: Callable[[tuple], str]  # a text each floor row puts on the page (checked once)
    floor_paginated: Callable[[], list] | None = None  # the floor to use instead when the page has a ?page=2 link


def _queue_base(etat_id: int):
    from subventions.demandes.models import Demande, LigneFinancement

    sollicite = LigneFinancement.objects.filter(financeur_id=etat_id, montant_demande__gt=0).values("demande_id")
    return Demande.objects.exclude(statut="brouillon").filter(pk__in=sollicite)


QUEUE_COLUMNS = (
    "pk", "numero", "intitule", "campagne__titre", "territoire__nom", "porteur_id", "porteur__nom", "depose_le",
    "statut", "instructeur__email", "montant",
)  # fmt: skip


def _lignes_demandees(demande_ids: list[int]) -> list:
    """The lines asked of the page's demandes: the queue prints their financeurs (and sums their amounts). Returned
    as a list inside the floor's list, so that they are not taken for rows with a marker."""
    from subventions.demandes.models import LigneFinancement

    return list(
        LigneFinancement.objects.filter(demande_id__in=demande_ids, montant_demande__gt=0)
        .order_by("demande_id", "financeur__nom")
        .values_list("demande_id", "financeur__nom", "montant_demande")
    )


def _queue_floor(etat_id: int, *, page: int, statut: str = "", tri=("-depose_le", "-pk")):
    def floor() -> list:
        qs = _queue_base(etat_id)
        if statut:
            qs = qs.filter(statut=statut)
        total = qs.count()
        debut = (page - 1) * PER_PAGE
        if tri[0].lstrip("-") == "montant":
            # Sorted by amount: the sum of every row of the scope is needed before the order.
            rows = list(
                qs.annotate(
                    montant=Sum(
                        "lignes_financement__montant_demande", filter=Q(lignes_financement__montant_demande__gt=0)
                    )
                )
                .order_by(*tri)
                .values_list(*QUEUE_COLUMNS)[debut : debut + PER_PAGE]
            )
            return [total, *rows, _lignes_demandees([r[0] for r in rows])]
        # Otherwise the page's rows first, then the amounts of those 50 only (what the database must do at least).
        rows = list(qs.order_by(*tri).values_list(*QUEUE_COLUMNS[:-1])[debut : debut + PER_PAGE])
        lignes = _lignes_demandees([r[0] for r in rows])
        sommes: dict[int, Decimal] = {}
        for demande_id, _financeur, montant in lignes:
            sommes[demande_id] = sommes.get(demande_id, Decimal(0)) + montant
        return [total, *((*r, sommes.get(r[0])) for r in rows), lignes]

    return floor


def _conventions_floor(etat_id: int, *, page: int):
    from subventions.conventions.models import ActeAttribution, ActeLigne

    def floor() -> list:
        qs = ActeAttribution.objects.filter(financeur_id__in=[etat_id])
        total = qs.count()
        debut = (page - 1) * PER_PAGE
        # The page's documents, then the number of lines of those only.
        rows = list(
            qs.order_by("financeur__nom", "-exercice", "numero")
            .values_list(
                "pk", "numero", "nature", "est_avenant", "parent__numero", "porteur__nom", "financeur__nom",
                "exercice", "annee_fin", "montant_total", "statut", "motif_blocage",
            )[debut : debut + PER_PAGE]
        )  # fmt: skip
        nb = dict(
            ActeLigne.objects.filter(acte_id__in=[r[0] for r in rows])
            .order_by()
            .values("acte_id")
            .annotate(n=Count("pk"))
            .values_list("acte_id", "n")
        )
        return [total, *((*r, nb.get(r[0], 0)) for r in rows)]

    return floor


def _seance_floor(seance_id: int):
    from subventions.demandes.models import LigneFinancement

    def floor() -> list:
        # One row per (point, line asked): exactly the rows of the ordre du jour table.
        return list(
            LigneFinancement.objects.filter(demande__points_odj__seance_id=seance_id, montant_demande__gt=0)
            .order_by("demande__points_odj__ordre", "demande__points_odj__pk", "pk")
            .values_list(
                "demande__numero", "demande__porteur__nom", "demande__intitule", "demande__territoire__nom",
                "financeur__nom", "montant_demande", "avis", "montant_propose", "statut", "montant_accorde",
            )
        )  # fmt: skip

    return floor


def _seance_floor_page(seance_id: int):
    """The séance page paginated (PER_PAGE points in agenda order): count the points, then the page's points with
    the main pilier the page prints for each (that of the first objectif by pilier number), then their lines."""
    from django.db.models import OuterRef, Subquery

    from subventions.comites.models import PointOrdreDuJour
    from subventions.demandes.models import Demande, LigneFinancement

    pilier = (
        Demande.objectifs.through.objects.filter(demande_id=OuterRef("demande_id"))
        .order_by("objectif__pilier__numero", "objectif__pilier_id", "objectif_id")
        .values("objectif__pilier__libelle")[:1]
    )

    def floor() -> list:
        points = PointOrdreDuJour.objects.filter(seance_id=seance_id)
        total = points.count()
        page = list(
            points.order_by("ordre", "pk")
            .annotate(pilier=Subquery(pilier))
            .values_list("demande_id", "pilier")[:PER_PAGE]
        )
        ids = [demande_id for demande_id, _ in page]
        rows = list(
            LigneFinancement.objects.filter(demande_id__in=ids, montant_demande__gt=0)
            .order_by("demande_id", "pk")
            .values_list(
                "demande__numero", "demande__porteur__nom", "demande__intitule", "demande__territoire__nom",
                "financeur__nom", "montant_demande", "avis", "montant_propose", "statut", "montant_accorde",
            )
        )  # fmt: skip
        return [total, [libelle for _, libelle in page], *rows]  # the piliers as a list: not rows with a marker

    return floor


def _paiements_floor(etat_id: int):
    from subventions.paiements.models import LigneListe, ListePaiements, Paiement, Reversement

    statuts = ("prevu", "a_payer", "exporte", "paye", "rejete")

    def floor() -> list:
        agregats = {}
        for s in statuts:
            agregats[f"nb_{s}"] = Count("pk", filter=Q(statut=s))
            agregats[f"mt_{s}"] = Sum("montant", filter=Q(statut=s))
        tableau = list(
            Paiement.objects.filter(financeur_id__in=[etat_id])
            .order_by()
            .values("financeur__nom")
            .annotate(**agregats)
            .values_list("financeur__nom", *agregats)
        )
        dus = list(
            Paiement.objects.filter(financeur_id__in=[etat_id], statut__in=["a_payer", "rejete"])
            .order_by("echeance", "reference")
            .values_list("reference", "echeancier__acte__porteur__nom", "echeancier__acte__porteur__iban", "montant")
        )
        # The page also prints the reversements to issue and, for each of the last listes, how many of its payments
        # are paid and rejected.
        reversements = list(
            Reversement.objects.filter(financeur_id__in=[etat_id], statut="a_emettre")
            .order_by()
            .values("financeur_id")
            .annotate(nb=Count("pk"), mt=Sum("montant"))
            .values_list("financeur_id", "nb", "mt")
        )
        listes = list(
            ListePaiements.objects.filter(financeur_id__in=[etat_id])
            .order_by("-cree_le", "-pk")
            .values_list("pk", "numero", "cree_le", "nb_paiements", "montant_total", "statut")[:10]
        )
        avancement = list(
            LigneListe.objects.filter(liste_id__in=[liste[0] for liste in listes], active=True)
            .order_by()
            .values("liste_id")
            .annotate(
                p=Count("pk", filter=Q(paiement__statut="paye")), r=Count("pk", filter=Q(paiement__statut="rejete"))
            )
            .values_list("liste_id", "p", "r")
        )
        return [*tableau, *reversements, *dus, *listes, *avancement]

    return floor


def _pilotage_floor(etat_id: int, campagne_id: int):
    """The bare aggregate queries behind the dashboard's figures for an État instructeur's scope: 10 GROUP BY or
    aggregate queries, the database doing the sums (no row fetched per demande or line)."""
    from collections import Counter

    from subventions.comites.models import Seance
    from subventions.conventions.models import ActeAttribution
    from subventions.demandes.models import Demande, LigneFinancement
    from subventions.paiements.models import Paiement

    def floor() -> list:
        sollicite = LigneFinancement.objects.filter(financeur_id=etat_id, montant_demande__gt=0).values("demande_id")
        demandes = Demande.objects.filter(campagne_id=campagne_id, pk__in=sollicite).exclude(numero="")
        lignes = LigneFinancement.objects.filter(financeur_id=etat_id, demande__in=demandes).order_by()
        sommes = {
            "n": Count("pk"),
            "demande": Sum("montant_demande"),
            "propose": Sum("montant_propose"),
            "accorde": Sum("montant_accorde", filter=Q(statut="accordee")),
        }
        actes = ActeAttribution.objects.filter(campagne_id=campagne_id, financeur_id=etat_id).order_by()
        rows: list = []
        rows += demandes.order_by().values("statut").annotate(n=Count("pk"), p=Count("porteur_id", distinct=True))
        rows += lignes.values("statut").annotate(**sommes)
        rows += lignes.values("demande__territoire__nom").annotate(**sommes)
        rows += lignes.values("demande__objectifs__code", "demande__objectifs__pilier__code").annotate(**sommes)
        rows += (
            lignes.values("demande__qpvs__code", "demande__qpvs__nom")
            .annotate(**sommes)
            .order_by("-accorde")[: PER_PAGE // 2]
        )
        rows += (
            lignes.values("demande__porteur__nom", "demande__porteur__siret")
            .annotate(**sommes)
            .order_by("-accorde")[: PER_PAGE // 2]
        )
        rows += actes.values("nature", "est_avenant", "statut").annotate(n=Count("pk"), m=Sum("montant_total"))
        rows += list(Counter(actes.annotate(nb=Count("lignes")).values_list("nb", flat=True)).items())
        rows.append(
            Paiement.objects.filter(
                financeur_id=etat_id, statut="paye", echeancier__acte__campagne_id=campagne_id
            ).aggregate(paye=Sum("montant"))
        )
        rows += (
            Seance.objects.filter(campagne_id=campagne_id, statut="close")
            .annotate(
                n=Count(
                    "decisions__ligne__demande",
                    filter=Q(decisions__decision="accordee", decisions__financeur_id=etat_id),
                    distinct=True,
                )
            )
            .order_by("date", "pk")
            .values_list("date", "n")
        )
        return rows

    return floor


def pages(prefix: str = "pages") -> list[Page]:
    from subventions.comites.models import Seance
    from subventions.referentiel.models import Financeur

    etat = Financeur.objects.get(code="etat").pk
    derniere = max(1, -(-_queue_base(etat).count() // PER_PAGE))
    from subventions.conventions.models import ActeAttribution

    derniere_conv = max(1, -(-ActeAttribution.objects.filter(financeur_id=etat).count() // PER_PAGE))
    seance = Seance.objects.annotate(n=Count("points")).order_by("-n", "pk").first()
    from subventions.demandes.models import Demande

    # The dashboard's campagne by default: the most recent with deposits (the demo's 2015).
    campagne = Demande.objects.exclude(numero="").order_by("-campagne__exercice").values_list("campagne_id").first()
    instructeur, comite, finance = "instructeur.etat@demo.test", "comite@demo.test", "finance.etat@demo.test"
    numero = lambda row: row[1]  # noqa: E731
    liste = [
        Page(f"{prefix}.queue", instructeur, "/instruction/", _queue_floor(etat, page=1), numero),
        Page(
            f"{prefix}.queue_filtered",
            instructeur,
            f"/instruction/?statut=validee&financeur={etat}&tri=-montant",
            _queue_floor(etat, page=1, statut="validee", tri=("-montant", "-pk")),
            numero,
        ),
        Page(
            f"{prefix}.queue_page{derniere}",
            instructeur,
            f"/instruction/?page={derniere}",
            _queue_floor(etat, page=derniere),
            numero,
        ),
        Page(f"{prefix}.conventions", instructeur, "/conventions/", _conventions_floor(etat, page=1), numero),
        Page(
            f"{prefix}.conventions_page{derniere_conv}",
            instructeur,
            f"/conventions/?page={derniere_conv}",
            _conventions_floor(etat, page=derniere_conv),
            numero,
        ),
        Page(
            f"{prefix}.seance_{seance.n}_points", comite, f"/comites/seance/{seance.pk}/", _seance_floor(seance.pk),
            lambda row: row[0], _seance_floor_page(seance.pk),
        ),
        Page(f"{prefix}.paiements", finance, "/paiements/", _paiements_floor(etat), lambda row: ""),
    ]  # fmt: skip
    if campagne is not None:
        liste.append(
            Page(f"{prefix}.pilotage", instructeur, "/pilotage/", _pilotage_floor(etat, campagne[0]), lambda row: "")
        )
    return liste


def run(report: Report, *, repeat: int, budget: float, prefix: str = "pages") -> None:
    """Measure every page; `prefix` names the figures (pages.… at Marseille scale, pages_national.… at national)."""
    from subventions.comptes.models import User

    clients: dict[str, Client] = {}
    for page in pages(prefix):
        client = clients.get(page.email)
        if client is None:
            client = clients[page.email] = Client(raise_request_exception=False)
            client.force_login(User.objects.get(email=page.email))
        reponse = client.get(page.url)
        if reponse.status_code != 200:
            # A broken page is reported and the others measured (the product is being changed under the bench).
            report.note(f"error: {page.name}: {page.url} answered {reponse.status_code} for {page.email}")
            report.miss(f"{page.name} answered {reponse.status_code}")
            continue
        texte = html.unescape(reponse.content.decode())
        if page.floor_paginated is not None and "page=2" in texte:
            page.floor = page.floor_paginated
            report.note(f"{page.name}: the page is paginated; floor: the count and the rows of its first page")
        lignes = page.floor()
        rows = [r for r in lignes if isinstance(r, (tuple, dict))]
        absents = [page.marker(r) for r in rows[:MARKERS_CHECKED] if page.marker(r) not in texte]
        if absents:
            report.note(f"warning: {page.name}: {len(absents)} floor rows not on the page, e.g. {absents[:3]}")
        with QueryCount(connection) as compte:
            client.get(page.url)
        n = compte.n
        with QueryCount(connection) as compte:
            page.floor()
        n_floor = compte.n
        t_p, t_f = interleave(lambda: client.get(page.url), page.floor, repeat=repeat, budget=budget)  # noqa: B023
        fig = report.figure(Figure(page.name, median(t_p) * 1000, median(t_f) * 1000, "ms"))
        report.fact(
            f"{page.name}.queries: {n} queries, floor {n_floor} "
            f"({page.url}, {len(rows)} rows, {len(reponse.content) // 1024} KiB of HTML)"
        )
        if fig.value > TARGET_MS:
            report.miss(f"{page.name} median {fig.value:.0f} ms > {TARGET_MS} ms")
        if n > TARGET_QUERIES:
            report.miss(f"{page.name} {n} queries > {TARGET_QUERIES}")
        if fig.ratio > 2:
            report.miss(f"{page.name} ratio {fig.ratio:.2f} > 2.0")
