"""The SCDL "subventions" export at 100 000 rows, streamed from the database by the product's command (`export_scdl`),
against csv writing the same rows from plain tuples, with time, resident-set and tracemalloc peaks of each.

Run by bench/run.py inside the database it sets up, or alone: `python bench/scdl.py [--quick] [--rows N]` (a temporary
SQLite database, or PostgreSQL next to DATABASE_URL's as run.py does)."""

from __future__ import annotations

import csv
import datetime
import io
import os
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

if __package__ in (None, ""):  # run as a script: the project root first, as bench/run.py does
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.harness import Figure, Report, interleave_forked, median, run_forked

ANNEE = 2031  # a year no demo campagne uses: the rows are the benchmark's own
CODE = "bench-scdl"
LOT = 2000


def _siret(n: int) -> str:
    """A valid SIRET for n (Luhn keys of the SIREN and of the SIRET)."""
    from stdnum import luhn

    base = f"{(n * 7919 + 30000000) % 100000000:08d}"
    siren = base + luhn.calc_check_digit(base)
    nic = f"{n % 10000:04d}"
    return siren + nic + luhn.calc_check_digit(siren + nic)


def build_rows(n: int):
    """`n` executory documents of one financeur for ANNEE, written with bulk_create (and committed: the timed runs
    are forked children with their own connection): n/2 porteurs, each with a convention (two actions for one in
    three, else one) and an avenant to it (one action); action titles with accents, commas and guillemets (CSV
    quoting), one in ten en nature; a budget per action (charges 64, and 86 — not a cost — for one in four); half of
    the conventions with an échéancier of two payments (the advance paid, the solde due), the others without (history
    rule). Returns the financeur."""
    from django.db import transaction

    from associations.models import Porteur
    from subventions.campagnes.models import Campagne
    from subventions.comptes.models import User
    from subventions.conventions.models import ActeAttribution, ActeLigne, NatureActe, StatutActe
    from subventions.demandes.enums import SENS_PAR_COMPTE, NatureAide, StatutDemande, StatutLigne
    from subventions.demandes.models import Demande, LigneBudget, LigneFinancement
    from subventions.paiements.enums import NaturePaiement, StatutPaiement
    from subventions.paiements.models import Echeancier, Paiement
    from subventions.referentiel.enums import TypeFinanceur
    from subventions.referentiel.models import ContratDeVille, Financeur
    from subventions.referentiel.validators import siren_de

    paris = datetime.timezone(datetime.timedelta(hours=2))
    with transaction.atomic():
        financeur = Financeur.objects.create(
            code=CODE,
            nom="Région « Bench » — Politique de la ville",
            type=TypeFinanceur.REGION,
            siret=_siret(987_654),
            taux_avance=Decimal("50"),
        )
        contrat = ContratDeVille.objects.create(
            nom="Contrat du banc d'essai SCDL", perimetre="Bench", annee_debut=ANNEE, annee_fin=ANNEE
        )
        campagne = Campagne.objects.create(
            contrat=contrat,
            exercice=ANNEE,
            titre=f"Banc d'essai SCDL {ANNEE}",
            ouverture=datetime.datetime(ANNEE - 1, 10, 1, 9, 0, tzinfo=paris),
            cloture=datetime.datetime(ANNEE - 1, 12, 31, 12, 0, tzinfo=paris),
        )
        campagne.financeurs.add(financeur)
        auteur = User.objects.create_user("bench-scdl@subventions.invalid", None, first_name="Bench", last_name="SCDL")

        nb_porteurs = (n + 1) // 2
        porteurs = Porteur.objects.bulk_create(
            [
                Porteur(
                    nom=f"Association « Vivre ensemble », quartier n° {p}",
                    siret=(siret := _siret(200_000 + p)),
                    siren=siren_de(siret),
                    rna=f"W13{p:07d}" if p % 5 else "",
                    adresse="1 place de la Mairie",
                    code_postal="13001",
                    commune="Marseille",
                    representant_nom="Durand",
                    representant_prenom="Aïcha",
                )
                for p in range(nb_porteurs)
            ],
            batch_size=LOT,
        )
        # Actions per document: i even is the convention of porteur i // 2, i odd its avenant.
        actions = [2 if i % 2 == 0 and (i // 2) % 3 == 0 else 1 for i in range(n)]
        demandes = []
        for i in range(n):
            for k in range(actions[i]):
                numero = len(demandes) + 1
                demandes.append(
                    Demande(
                        campagne=campagne,
                        porteur=porteurs[i // 2],
                        statut=StatutDemande.CONVENTIONNEE,
                        numero=f"{ANNEE}-{numero:06d}",
                        intitule=f"Action {k + 1} « Réussite éducative », accompagnement n° {numero}",
                        nature=NatureAide.EN_NATURE if numero % 10 == 0 else NatureAide.NUMERAIRE,
                        cree_par=auteur,
                    )
                )
        demandes = Demande.objects.bulk_create(demandes, batch_size=LOT)
        montants = [Decimal(1500 + (j * 7919) % 48000) + Decimal(j % 100) / 100 for j in range(len(demandes))]
        lignes = LigneFinancement.objects.bulk_create(
            [
                LigneFinancement(
                    demande=d,
                    financeur=financeur,
                    montant_demande=m,
                    statut=StatutLigne.ACCORDEE,
                    montant_propose=m,
                    montant_accorde=m,
                )
                for d, m in zip(demandes, montants, strict=True)
            ],
            batch_size=LOT,
        )
        LigneBudget.objects.bulk_create(
            [
                LigneBudget(demande=d, compte=compte, sens=SENS_PAR_COMPTE[compte], montant=montant)
                for j, (d, m) in enumerate(zip(demandes, montants, strict=True))
                for compte, montant in (("64", m * 3), ("86", Decimal("800"))) if compte == "64" or j % 4 == 0
            ],
            batch_size=LOT,
        )  # fmt: skip
        # Documents: conventions first (the avenants point to them).
        premieres, total, j = {}, [], 0
        for i in range(n):
            total.append(sum(montants[j : j + actions[i]]))
            premieres[i] = j
            j += actions[i]
        jour = [datetime.datetime(ANNEE, 3 + i % 9, 1 + i % 28, 10, 0, tzinfo=paris) for i in range(n)]

        def acte(i: int, parent=None) -> ActeAttribution:
            return ActeAttribution(
                financeur=financeur,
                porteur=porteurs[i // 2],
                campagne=campagne,
                exercice=ANNEE,
                nature=NatureActe.CONVENTION,
                statut=StatutActe.SIGNEE,
                numero=f"BENCH-{ANNEE}-{i // 2 + 1:06d}" + (f"-AV{1}" if parent else ""),
                montant_total=total[i],
                est_avenant=parent is not None,
                parent=parent,
                a_generer=False,
                envoyee_le=jour[i],
                executoire_le=jour[i],
            )

        conventions = ActeAttribution.objects.bulk_create([acte(i) for i in range(0, n, 2)], batch_size=LOT)
        avenants = ActeAttribution.objects.bulk_create(
            [acte(i, conventions[i // 2]) for i in range(1, n, 2)], batch_size=LOT
        )
        actes = [conventions[i // 2] if i % 2 == 0 else avenants[i // 2] for i in range(n)]
        ActeLigne.objects.bulk_create(
            [
                ActeLigne(acte=actes[i], ligne=lignes[premieres[i] + k], montant=montants[premieres[i] + k])
                for i in range(n)
                for k in range(actions[i])
            ],
            batch_size=LOT,
        )
        avec_echeancier = [i for i in range(0, n, 2) if i % 4 == 0]
        echeanciers = Echeancier.objects.bulk_create(
            [Echeancier(acte=actes[i], taux_avance=Decimal("50")) for i in avec_echeancier], batch_size=LOT
        )
        paiements = []
        for i, e in zip(avec_echeancier, echeanciers, strict=True):
            avance = (total[i] / 2).quantize(Decimal("0.01"))
            debut = jour[i].date() + datetime.timedelta(days=20)
            paiements += [
                Paiement(
                    echeancier=e,
                    financeur=financeur,
                    nature=NaturePaiement.AVANCE,
                    reference=f"B{ANNEE}-{i:07d}-A",
                    montant=avance,
                    echeance=debut,
                    statut=StatutPaiement.PAYE,
                    reglement_reference=f"MANDAT-{i}",
                    reglement_date=debut,
                ),
                Paiement(
                    echeancier=e,
                    financeur=financeur,
                    nature=NaturePaiement.SOLDE,
                    reference=f"B{ANNEE}-{i:07d}-S",
                    montant=total[i] - avance,
                    echeance=datetime.date(ANNEE + 1, 6, 30),
                ),
            ]
        Paiement.objects.bulk_create(paiements, batch_size=LOT)
    from django.db import connection

    if connection.vendor == "postgresql":
        # What autovacuum does in production after such a load (it is off on some servers, this one included): the
        # planner then sees 100 000 rows, not empty tables.
        with connection.cursor() as curseur:
            curseur.execute("ANALYZE")
    return financeur


def product(financeur, chemin: str = os.devnull) -> None:
    """The product's real path: the export_scdl command, streamed to a file (its summary query, the left-out
    documents' query, then the rows read by chunks of documents)."""
    from django.core.management import call_command

    call_command("export_scdl", "--financeur", financeur.code, "--annee", str(ANNEE), "--out", chemin,
                 stdout=io.StringIO())  # fmt: skip


def floor(rows: list[tuple], fichier=None) -> None:
    """csv.writer writing the same rows, from plain tuples, with the same dialect, to the same kind of file."""
    from subventions.pilotage.scdl import COLONNES

    if fichier is None:
        with open(os.devnull, "w", encoding="utf-8", newline="") as sortie:
            floor(rows, sortie)
        return
    writer = csv.writer(fichier, delimiter=",", lineterminator="\r\n")
    writer.writerow(COLONNES)
    writer.writerows(rows)


def run(
    report: Report, *, rows: int, repeat: int, budget: float, cap: float | None = None, tracemalloc: bool = True
) -> None:
    from django.db import connection

    from subventions.pilotage import scdl

    debut = time.perf_counter()
    financeur = build_rows(rows)
    report.note(
        f"scdl: {rows} executory documents of one financeur ({rows // 2} porteurs, conventions and avenants, "
        f"{connection.vendor}) written with bulk_create in {time.perf_counter() - debut:.1f} s"
    )
    actes = scdl.actes_scdl(financeur=financeur, annee=ANNEE)
    # The floor's tuples are the product's own rows (prepared untimed): same rows, and the files must be the same.
    tuples = [tuple(ligne) for ligne in scdl.lignes_scdl(actes)]
    with tempfile.TemporaryDirectory() as dossier:
        chemin = os.path.join(dossier, "produit.csv")
        product(financeur, chemin)
        with open(chemin, "rb") as fichier:
            octets_produit = fichier.read()
    tampon = io.StringIO(newline="")
    floor(tuples, tampon)
    if len(tuples) != rows or octets_produit != tampon.getvalue().encode("utf-8"):
        report.note(f"warning: scdl: the floor does not write the product's file ({len(tuples)} rows)")
    report.note(f"scdl: {len(tuples)} rows, {len(octets_produit) / 1e6:.1f} MB; both write to {os.devnull}")
    del octets_produit, tampon
    connection.close()  # the timed runs are forked children: each opens its own connection

    nom = f"scdl.export_{rows}"
    produits, planchers = interleave_forked(
        lambda: product(financeur), lambda: floor(tuples), repeat=repeat, budget=budget, cap=cap
    )
    plafonne = any(r.capped for r in produits)
    figures = [
        report.figure(
            Figure(
                nom,
                median([r.seconds for r in produits]) * 1000,
                median([r.seconds for r in planchers]) * 1000,
                "ms",
                lower_bound=plafonne,
            )
        )
    ]
    rss_p = [r.rss for r in produits if r.rss is not None]
    rss_f = [r.rss for r in planchers if r.rss is not None]
    if rss_p and rss_f:
        figures.append(
            report.figure(Figure(f"{nom}.peak_rss", median(rss_p) / 1e6, median(rss_f) / 1e6, "MB", plafonne))
        )
    if tracemalloc:
        mem_p = run_forked(lambda: product(financeur), memory=True, cap=cap)
        mem_f = run_forked(lambda: floor(tuples), memory=True, cap=cap)
        figures.append(
            report.figure(Figure(f"{nom}.peak_memory", mem_p.peak / 1e6, mem_f.peak / 1e6, "MB", mem_p.capped))
        )
        report.note(
            f"scdl: tracemalloc peaks are what each run allocates beyond what it inherits (the floor's tuples, "
            f"{sys.getsizeof(tuples) / 1e6:.1f} MB of list alone, are prepared before)"
        )
    for f in figures:
        if f.ratio > 2:
            report.miss(f"{f.name} ratio {'>' if f.lower_bound else ''}{f.ratio:.2f} > 2.0")


def main() -> int:
    """Standalone: a temporary database (as bench/run.py sets it up, without the demo seed), then this benchmark."""
    import argparse
    import shutil

    parser = argparse.ArgumentParser(description="SCDL export benchmark (see bench/README.md)")
    parser.add_argument("--quick", action="store_true", help="5 000 rows, fewer runs")
    parser.add_argument("--rows", type=int, help="rows of the export (default 100 000, --quick 5 000)")
    parser.add_argument("--repeat", type=int)
    parser.add_argument("--no-tracemalloc", dest="tracemalloc", action="store_false")
    args = parser.parse_args()
    from bench.run import _environment

    var_dir = tempfile.mkdtemp(prefix="subventions-bench-scdl-")
    _environment(var_dir)
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from bench.harness import machine

    report = Report()
    print(f"# Subventions SCDL benchmark — {datetime.datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {machine()}")
    postgres = connection.vendor == "postgresql"
    nom_origine = settings.DATABASES["default"]["NAME"]
    try:
        if postgres:
            settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"bench_{nom_origine}_{os.getpid()}"
            connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        else:
            call_command("migrate", verbosity=0, interactive=False)
        print(f"# database: {connection.vendor} {settings.DATABASES['default']['NAME']}")
        run(
            report,
            rows=args.rows or (5_000 if args.quick else 100_000),
            repeat=args.repeat or (3 if args.quick else 5),
            budget=5 if args.quick else 120,
            cap=45 if args.quick else 300,
            tracemalloc=args.tracemalloc,
        )
        report.finish()
    finally:
        if postgres and settings.DATABASES["default"]["NAME"] != nom_origine:
            connection.creation.destroy_test_db(nom_origine, verbosity=0)
        shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
