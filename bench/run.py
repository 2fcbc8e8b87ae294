"""Benchmarks of Subventions against floors measured in the same run: `python bench/run.py [--quick]`.

Sets up its own database (SQLite in a temporary folder, or a new PostgreSQL database next to DATABASE_URL's),
seeds the demo once (Marseille, or `--scale national`: 25 000 requests, best on PostgreSQL), then prints one line
per figure — `name: median value unit, floor value unit, ratio x.xx` — and ends with `worst ratio: x.xx`. See
bench/README.md."""

from __future__ import annotations

import argparse
import io
import logging
import os
import shutil
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GROUPS = ("pages", "conventions", "exports", "scdl", "rush")
SCALES = ("marseille", "national")


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--quick", action="store_true", help="smaller sizes and fewer runs (about a minute and a half)"
    )
    parser.add_argument(
        "--only",
        help=f"comma-separated groups among {', '.join(GROUPS)} (default: all; with --scale national: pages)",
    )
    parser.add_argument(
        "--scale",
        choices=SCALES,
        default="marseille",
        help="demo seeded for the pages and conventions: marseille (720 requests) or national (25 000 requests, "
        "12 000 porteurs; about 2 min of CPU to seed, meant for PostgreSQL: set DATABASE_URL)",
    )
    parser.add_argument(
        "--taille",
        type=float,
        help="share of the national data set (default 1, --quick 0.1)",
    )
    parser.add_argument("--rows", type=int, help="payments in the export liste (default 50 000, --quick 5 000)")
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


def main() -> int:
    args = _arguments()
    quick = args.quick
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
        f"# mode: {'quick' if quick else 'full'}, scale {args.scale}; "
        "figures are medians of interleaved runs (product, floor, …)"
    )

    # Only the pages and conventions need the seeded database; the exports build their rows in memory.
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
            print(f"# database: {base} (existing, seeded beforehand with seed_demo --scale {args.scale})")
        elif avec_base:
            debut = time.perf_counter()
            if postgres:
                # A database of our own next to DATABASE_URL's (Django's test-database machinery), dropped at the end.
                settings.DATABASES["default"].setdefault("TEST", {})["NAME"] = f"bench_{nom_origine}_{os.getpid()}"
                connection.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
            else:
                call_command("migrate", verbosity=0, interactive=False)
            base = f"{connection.vendor} {settings.DATABASES['default']['NAME']}"
            print(f"# database: {base} (migrated in {time.perf_counter() - debut:.1f} s)")
            debut = time.perf_counter()
            sortie = io.StringIO()
            options = {}
            if args.scale == "national":
                options["taille"] = args.taille if args.taille is not None else (0.1 if quick else 1.0)
            # The seed's steps are printed once below (seed_demo -v 2), not also logged as they run.
            logging.getLogger("subventions.demo_national").setLevel(logging.WARNING)
            call_command("seed_demo", scale=args.scale, stdout=sortie, verbosity=2, **options)
            taille = f" --taille {options['taille']}" if options.get("taille", 1.0) != 1.0 else ""
            report.fact(
                f"seed.{args.scale}: {time.perf_counter() - debut:.1f} s "
                f"(seed_demo --scale {args.scale}{taille}, measured once)"
            )
            for ligne in sortie.getvalue().strip().splitlines():
                report.note(ligne)

        repeat = args.repeat
        debut = time.perf_counter()
        if "pages" in args.only:
            prefix = "pages" if args.scale == "marseille" else f"pages_{args.scale}"
            pages.run(report, repeat=repeat or (5 if quick else 21), budget=3 if quick else 30, prefix=prefix)
            debut = _duree(report, "pages", debut)
        if "conventions" in args.only:
            conventions.run_build(report, repeat=repeat or (2 if quick else 7), budget=6 if quick else 60)
            conventions.run_pdf(
                report, limit=20 if quick else None, repeat=repeat or (3 if quick else 5), budget=5 if quick else 90
            )
            debut = _duree(report, "conventions", debut)
        if "exports" in args.only:
            connection.close()  # the export runs are forked children that never touch the database
            cap = args.cap if args.cap is not None else (45 if quick else 120)
            exports.run(
                report,
                n=args.rows or (5_000 if quick else 50_000),
                repeat=repeat or (3 if quick else 5),
                budget=5 if quick else 120,
                cap=cap or None,
                tracemalloc=args.tracemalloc if args.tracemalloc is not None else not quick,
            )
            debut = _duree(report, "exports", debut)
        if "scdl" in args.only:
            # Last: its 100 000 documents stay in the bench database and would weigh on the pages above.
            connection.close()  # the timed runs are forked
            scdl.run(
                report,
                rows=5_000 if quick else 100_000,
                repeat=repeat or (3 if quick else 5),
                budget=5 if quick else 120,
                cap=(args.cap if args.cap is not None else (45 if quick else 120)) or None,
                tracemalloc=args.tracemalloc if args.tracemalloc is not None else not quick,
            )
            debut = _duree(report, "scdl", debut)
        if "rush" in args.only:
            from bench import rush

            # Its own PostgreSQL database, gunicorn and clients; it needs nothing from the seed above.
            rush.run(report, quick=quick)
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
