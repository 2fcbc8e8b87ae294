"""Benchmarks of Subventions against floors measured in the same run: `python bench/run.py [--quick]`.

Sets up its own database (SQLite in a temporary folder, or a new PostgreSQL database next to DATABASE_URL's),
seeds the demo once (Marseille, or `--scale national`: 25 000 requests, best on PostgreSQL; `--quick`: the national
data set at 2 %, 500 requests), then prints one line per figure — `name: median value unit, floor value unit, ratio
x.xx` — and ends with `worst ratio: x.xx`. FULL and QUICK below hold the sizes of each mode. See bench/README.md."""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ("pages", "conventions", "exports", "scdl", "rush")
SCALES = ("marseille", "national")


@dataclass(frozen=True)
class Sizes:
    """Sizes and runs of one mode. `repeat` is the most runs of a figure (product and floor alternately); `budget`
    stops a figure's runs early once that many seconds are spent (at least one run each)."""

    scale: str  # demo seeded when --scale is not given
    taille: float  # share of the national data set seeded when --taille is not given
    taille_national: float  # the same with --scale national
    migrate: bool  # run every migration; otherwise the tables are created from the models (run_syncdb)
    fast_hasher: bool  # the seed hashes the demo accounts' passwords with MD5, as the tests do (see _fast_hasher)
    pages: tuple[int, float]  # (repeat, budget) of each page
    build: tuple[int, float]  # conventions_batir
    pdf_limit: int | None  # État documents rendered (None: all)
    pdf: tuple[int, float]
    rows: int  # payments in the export liste
    exports: tuple[int, float]
    cap: float  # seconds after which one export run is stopped
    scdl_rows: int
    scdl: tuple[int, float]
    rush_users: int
    rush_rounds: int


# The full run: the sizes, on the Marseille demo (720 requests, with its real instruction, comités and PDFs).
FULL = Sizes(
    scale="marseille",
    taille=1.0,
    taille_national=1.0,
    migrate=True,
    fast_hasher=False,
    pages=(21, 30),
    build=(7, 60),
    pdf_limit=None,
    pdf=(5, 90),
    rows=50_000,
    exports=(5, 120),
    cap=120,
    scdl_rows=100_000,
    scdl=(5, 120),
    rush_users=100,
    rush_rounds=2,
)
# --quick: every group and every figure in under a minute on 2 cores. The data set is the national seed at 2 % (500
# requests from 240 porteurs, decided, conventionned and partly paid, written in bulk in a few seconds, where the
# Marseille seed runs the real services for 30 to 40 s); tables from the models instead of the migrations; demo
# passwords hashed with MD5; medians of at most 3 runs; a fiftieth of the export liste and a hundredth of the SCDL.
QUICK = Sizes(
    scale="national",
    taille=0.02,
    taille_national=0.1,
    migrate=False,
    fast_hasher=True,
    pages=(3, 1),
    build=(3, 1),
    pdf_limit=5,
    pdf=(3, 1),
    rows=1_000,
    exports=(3, 1),
    cap=45,
    scdl_rows=1_000,
    scdl=(3, 1),
    rush_users=10,
    rush_rounds=1,
)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick",
        action="store_true",
        help="smaller sizes and fewer runs (under a minute): the national seed at --taille 0.02 unless --scale is "
        "given, tables created from the models, medians of 3 runs",
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated groups among {', '.join(GROUPS)} (default: all; with --scale national: pages)",
    )
    parser.add_argument(
        "--scale",
        choices=SCALES,
        help="demo seeded for the pages and conventions: marseille (720 requests; the default) or national (25 000 "
        "requests, 12 000 porteurs; about 2 min of CPU to seed, meant for PostgreSQL: set DATABASE_URL). "
        "Without --scale, --quick seeds the national data set at --taille 0.02 (500 requests) in a few seconds",
    )
    parser.add_argument(
        "--taille",
        type=float,
        help="share of the national data set (default 1; --quick 0.02, or 0.1 with --scale national)",
    )
    parser.add_argument(
        "--migrate",
        action=argparse.BooleanOptionalAction,
        help="run every migration to create the tables (default), or create them from the models (--no-migrate, "
        "the default with --quick: the same schema in a few seconds)",
    )
    parser.add_argument("--rows", type=int, help="payments in the export liste (default 50 000, --quick 1 000)")
    parser.add_argument(
        "--pdfs", type=int, help="État convention PDFs rendered (default every one; --quick 5): for the national scale"
    )
    parser.add_argument("--repeat", type=int, help="runs per figure (default depends on the benchmark)")
    parser.add_argument(
        "--cap",
        type=float,
        help="seconds after which one export run is stopped and reported as a lower bound "
        "(default 120, --quick 45; 0 waits for it)",
    )
    parser.add_argument(
        "--tracemalloc",
        action=argparse.BooleanOptionalAction,
        help="one more run of each export writer under tracemalloc for its Python peak (on unless --quick)",
    )
    parser.add_argument(
        "--existing",
        action="store_true",
        help="use DATABASE_URL's database as it is, already migrated and seeded with the same --scale (nothing is "
        "created, seeded or dropped; e.g. a national seed made once with seed_demo, measured several times)",
    )
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder and database, print where")
    args = parser.parse_args()
    if args.only is None:
        # A national data set of full size is for the staff pages; the quick one stands in for Marseille's.
        args.only = "pages" if args.scale == "national" else ",".join(GROUPS)
    args.only = [g.strip() for g in args.only.split(",") if g.strip()]
    inconnus = set(args.only) - set(GROUPS)
    if inconnus:
        parser.error(f"unknown group(s): {', '.join(sorted(inconnus))}")
    return args


def _environment(var_dir: str) -> None:
    """The settings read the environment at import: set it before Django starts."""
    sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != ROOT / "bench"]
    sys.path.insert(0, str(ROOT))
    os.environ["DJANGO_SETTINGS_MODULE"] = "subventions.settings"
    os.environ["SUBVENTIONS_VAR_DIR"] = var_dir  # SQLite file, media (PDFs), Celery's filesystem broker
    os.environ["SUBVENTIONS_PROFILE"] = "development"
    os.environ["DJANGO_DEBUG"] = "0"  # as in production: no query log, cached templates
    # The seed queues the other financeurs' conventions for a worker: they must stay queued in the temporary
    # folder, never reach a real broker, and the cache must be this process's own.
    os.environ["CELERY_BROKER_URL"] = "filesystem://"
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "0"
    os.environ["EMAIL_BACKEND"] = "django.core.mail.backends.locmem.EmailBackend"
    os.environ.pop("CACHE_URL", None)


def _duree(report, groupe: str, debut: float) -> float:
    maintenant = time.perf_counter()
    report.note(f"{groupe}: {maintenant - debut:.0f} s")
    return maintenant


def _tables_from_models() -> None:
    """Create the tables from the models (as pytest-django's --nomigrations) instead of running every migration: the
    same schema, since `makemigrations --check` holds, in seconds. The one data migration (types of pièces) is
    redone by the seed. Applies to the migrate that Django's test-database creation runs on PostgreSQL too."""
    from django.apps import apps
    from django.conf import settings

    settings.MIGRATION_MODULES = {app.label: None for app in apps.get_app_configs()}


def _fast_hasher() -> None:
    """The demo accounts' passwords hashed with MD5, as pytest settings usually do: PBKDF2 (a third of a second per
    account, on purpose) is half of the quick seed's time, and no benchmark checks a password (the pages log in
    with force_login; the rush seeds its own database in its own process)."""
    from django.conf import settings

    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def main() -> int:
    args = _arguments()
    quick = args.quick
    sizes = QUICK if quick else FULL
    scale = args.scale or sizes.scale
    taille = (
        args.taille if args.taille is not None else (sizes.taille if args.scale is None else sizes.taille_national)
    )
    migrate = args.migrate if args.migrate is not None else sizes.migrate
    var_dir = tempfile.mkdtemp(prefix="subventions-bench-")
    _environment(var_dir)

    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from bench import conventions, exports, pages, scdl
    from bench.harness import Report, machine

    report = Report()
    print(f"# Subventions benchmarks — {datetime.now().astimezone():%Y-%m-%d %H:%M %Z}, {machine()}")
    print(
        f"# mode: {'quick' if quick else 'full'}, scale {scale}; "
        "figures are medians of interleaved runs (product, floor, …)"
    )

    # Only the pages, conventions and SCDL need the seeded database; the exports build their rows in memory.
    avec_base = bool({"pages", "conventions", "scdl"} & set(args.only))
    if args.existing and not os.environ.get("DATABASE_URL"):
        print("--existing needs DATABASE_URL (the seeded database to measure)", file=sys.stderr)
        return 2
    postgres = avec_base and connection.vendor == "postgresql" and not args.existing
    nom_origine = settings.DATABASES["default"]["NAME"]
    base = "none (exports only)"
    try:
        if avec_base and args.existing:
            base = f"{connection.vendor} {settings.DATABASES['default']['NAME']}"
            print(f"# database: {base} (existing, seeded beforehand with seed_demo --scale {scale})")
        elif avec_base:
            debut = time.perf_counter()
            if not migrate:
                _tables_from_models()
            if sizes.fast_hasher:
                _fast_hasher()
            if postgres:
                # A database of our own next to DATABASE_URL's (Django's test-database machinery), dropped at the end.
                settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"bench_{nom_origine}_{os.getpid()}"
                connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            else:
                call_command("migrate", verbosity=0, interactive=False, run_syncdb=not migrate)
            base = f"{connection.vendor} {settings.DATABASES['default']['NAME']}"
            maniere = "migrated" if migrate else "tables created from the models, not migrated (--migrate runs them)"
            print(f"# database: {base} ({maniere} in {time.perf_counter() - debut:.1f} s)")
            debut = time.perf_counter()
            sortie = io.StringIO()
            options = {"taille": taille} if scale == "national" else {}
            # The seed's steps are printed once below (seed_demo -v 2), not also logged as they run.
            logging.getLogger("subventions.demo_national").setLevel(logging.WARNING)
            call_command("seed_demo", scale=scale, stdout=sortie, verbosity=2, **options)
            option = f" --taille {taille:g}" if options and taille != 1.0 else ""
            hachage = "; demo passwords hashed with MD5" if sizes.fast_hasher else ""
            report.fact(
                f"seed.{scale}: {time.perf_counter() - debut:.1f} s "
                f"(seed_demo --scale {scale}{option}, measured once{hachage})"
            )
            for ligne in sortie.getvalue().strip().splitlines():
                report.note(ligne)

        repeat = args.repeat
        debut = time.perf_counter()
        if "pages" in args.only:
            # pages.… on the Marseille demo and on the quick data set (Marseille's size), pages_national.… when the
            # national scale is asked for.
            prefix = "pages_national" if args.scale == "national" else "pages"
            n, budget = sizes.pages
            pages.run(report, repeat=repeat or n, budget=budget, prefix=prefix)
            debut = _duree(report, "pages", debut)
        if "conventions" in args.only:
            n, budget = sizes.build
            conventions.run_build(report, repeat=repeat or n, budget=budget)
            n, budget = sizes.pdf
            conventions.run_pdf(report, limit=args.pdfs or sizes.pdf_limit, repeat=repeat or n, budget=budget)
            debut = _duree(report, "conventions", debut)
        cap = args.cap if args.cap is not None else sizes.cap
        tracemalloc = args.tracemalloc if args.tracemalloc is not None else not quick
        if "exports" in args.only:
            connection.close()  # the export runs are forked children that never touch the database
            n, budget = sizes.exports
            exports.run(
                report,
                n=args.rows or sizes.rows,
                repeat=repeat or n,
                budget=budget,
                cap=cap or None,
                tracemalloc=tracemalloc,
            )
            debut = _duree(report, "exports", debut)
        if "scdl" in args.only:
            # Last: its documents stay in the bench database and would weigh on the pages above.
            connection.close()  # the timed runs are forked
            n, budget = sizes.scdl
            scdl.run(
                report,
                rows=sizes.scdl_rows,
                repeat=repeat or n,
                budget=budget,
                cap=cap or None,
                tracemalloc=tracemalloc,
            )
            debut = _duree(report, "scdl", debut)
        if "rush" in args.only:
            from bench import rush

            # Its own PostgreSQL database, gunicorn and clients; it needs nothing from the seed above.
            rush.run(report, users=sizes.rush_users, rounds=sizes.rush_rounds, quick=quick)
            debut = _duree(report, "rush", debut)
        report.finish()
    finally:
        if args.keep:
            print(f"# kept: {var_dir} ({base})")
        else:
            if postgres and settings.DATABASES["default"]["NAME"] != nom_origine:
                connection.creation.destroy_test_db(nom_origine, verbosity=0)
            shutil.rmtree(var_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
