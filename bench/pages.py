"""Staff pages at Marseille scale through the Django test client (demo agents, TOTP active, force_login), against the
bare paginated query of the same rows; the number of queries of each page is printed as its own line."""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass

from django.db import connection
from django.db.models import Count, Q, Sum
from django.test import Client

from bench.harness import Figure, QueryCount, Report, interleave, median

PER_PAGE = 50  # the product's PAR_PAGE of the queue and the conventions list
TARGET_MS = 300
TARGET_QUERIES = 15


@dataclass
class Page:
    name: str
    email: str
    url: str
    floor: Callable[[], list]  # the bare query (or queries) of the rows the page prints; returns them
    marker: Callable[[tuple], str]  # a text each floor row puts on the page (checked once)


def _queue_base(etat_id: int):
    from subventions.demandes.models import Demande, LigneFinancement

    sollicite = LigneFinancement.objects.filter(financeur_id=etat_id, montant_demande__gt=0).values("demande_id")
    return Demande.objects.exclude(statut="brouillon").filter(pk__in=sollicite)


QUEUE_COLUMNS = (
    "pk", "numero", "intitule", "campagne__titre", "territoire__nom", "porteur_id", "porteur__nom", "depose_le",
    "statut", "instructeur__email", "montant",
)  # fmt: skip


def _queue_floor(etat_id: int, *, page: int, statut: str = "", tri=("-depose_le", "-pk")):
    def floor() -> list:
        qs = _queue_base(etat_id)
        if statut:
            qs = qs.filter(statut=statut)
        total = qs.count()
        debut = (page - 1) * PER_PAGE
        rows = list(
            qs.annotate(
                montant=Sum("lignes_financement__montant_demande", filter=Q(lignes_financement__montant_demande__gt=0))
            )
            .order_by(*tri)
            .values_list(*QUEUE_COLUMNS)[debut : debut + PER_PAGE]
        )
        return [total, *rows]

    return floor


def _conventions_floor(etat_id: int, *, page: int):
    from subventions.conventions.models import ActeAttribution

    def floor() -> list:
        qs = ActeAttribution.objects.filter(financeur_id__in=[etat_id])
        total = qs.count()
        debut = (page - 1) * PER_PAGE
        rows = list(
            qs.annotate(nb=Count("lignes"))
            .order_by("financeur__nom", "-exercice", "numero")
            .values_list(
                "pk", "numero", "nature", "est_avenant", "parent__numero", "porteur__nom", "financeur__nom",
                "exercice", "annee_fin", "nb", "montant_total", "statut", "motif_blocage",
            )[debut : debut + PER_PAGE]
        )  # fmt: skip
        return [total, *rows]

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


def _paiements_floor(etat_id: int):
    from subventions.paiements.models import ListePaiements, Paiement

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
        listes = list(
            ListePaiements.objects.filter(financeur_id__in=[etat_id])
            .order_by("-cree_le", "-pk")
            .values_list("numero", "cree_le", "nb_paiements", "montant_total")[:10]
        )
        return [*tableau, *dus, *listes]

    return floor


def pages() -> list[Page]:
    from subventions.comites.models import Seance
    from subventions.referentiel.models import Financeur

    etat = Financeur.objects.get(code="etat").pk
    derniere = max(1, -(-_queue_base(etat).count() // PER_PAGE))
    from subventions.conventions.models import ActeAttribution

    derniere_conv = max(1, -(-ActeAttribution.objects.filter(financeur_id=etat).count() // PER_PAGE))
    seance = Seance.objects.annotate(n=Count("points")).order_by("-n", "pk").first()
    instructeur, comite, finance = "instructeur.etat@demo.test", "comite@demo.test", "finance.etat@demo.test"
    numero = lambda row: row[1]  # noqa: E731
    return [
        Page("pages.queue", instructeur, "/instruction/", _queue_floor(etat, page=1), numero),
        Page(
            "pages.queue_filtered",
            instructeur,
            f"/instruction/?statut=validee&financeur={etat}&tri=-montant",
            _queue_floor(etat, page=1, statut="validee", tri=("-montant", "-pk")),
            numero,
        ),
        Page(
            f"pages.queue_page{derniere}",
            instructeur,
            f"/instruction/?page={derniere}",
            _queue_floor(etat, page=derniere),
            numero,
        ),
        Page("pages.conventions", instructeur, "/conventions/", _conventions_floor(etat, page=1), numero),
        Page(
            f"pages.conventions_page{derniere_conv}",
            instructeur,
            f"/conventions/?page={derniere_conv}",
            _conventions_floor(etat, page=derniere_conv),
            numero,
        ),
        Page(
            f"pages.seance_{seance.n}_points", comite, f"/comites/seance/{seance.pk}/", _seance_floor(seance.pk),
            lambda row: row[0],
        ),
        Page("pages.paiements", finance, "/paiements/", _paiements_floor(etat), lambda row: ""),
    ]  # fmt: skip


def run(report: Report, *, repeat: int, budget: float) -> None:
    from subventions.comptes.models import User

    clients: dict[str, Client] = {}
    for page in pages():
        client = clients.get(page.email)
        if client is None:
            client = clients[page.email] = Client()
            client.force_login(User.objects.get(email=page.email))
        reponse = client.get(page.url)
        if reponse.status_code != 200:
            raise RuntimeError(f"{page.url} answered {reponse.status_code} for {page.email}")
        texte = html.unescape(reponse.content.decode())
        lignes = page.floor()
        rows = [r for r in lignes if isinstance(r, tuple)]
        absents = [page.marker(r) for r in rows if page.marker(r) not in texte]
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
