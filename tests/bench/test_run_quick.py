"""`bench/run.py --quick` on its own data set: tables from the models, the national seed at 2 %, then the figures of
the groups that use it and the final worst ratio line (the bench is run as a user runs it, in a subprocess)."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

RACINE = Path(__file__).resolve().parents[2]
FIGURE = re.compile(r"^(?P<nom>[\w.]+): median [\d.]+ \w+, floor [\d.]+ \w+, ratio [\d.]+$")


def test_quick_seeds_a_small_national_set_and_prints_every_figure():
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    sortie = subprocess.run(
        [sys.executable, "bench/run.py", "--quick", "--only", "conventions,exports", "--repeat", "1", "--rows", "200"],
        cwd=RACINE,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=True,
    ).stdout
    lignes = sortie.splitlines()
    assert any("tables created from the models, not migrated" in ligne for ligne in lignes), sortie
    assert any(
        ligne.startswith("seed.national: ") and "seed_demo --scale national --taille 0.02" in ligne for ligne in lignes
    ), sortie
    assert any("demandes déposées : 500" in ligne for ligne in lignes), sortie
    figures = {m["nom"] for ligne in lignes if (m := FIGURE.match(ligne))}
    attendues = {"conventions.build", "conventions.build_vs_bulk", "conventions.pdf_5"}
    attendues |= {f"exports.{nom}_200" for nom in ("csv", "xlsx", "sepa")}
    assert attendues <= figures, sortie
    assert re.fullmatch(r"worst ratio: [\d.]+", lignes[-1]), sortie
