"""Timing machinery shared by the benchmarks: interleaved product/floor runs, medians, tracemalloc peaks, forked
runs with a time cap, and the figure lines that run.py prints."""

from __future__ import annotations

import gc
import multiprocessing
import os
import statistics
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class Figure:
    """One printed figure: the product's median against a floor measured in the same run."""

    name: str
    value: float
    floor: float
    unit: str
    lower_bound: bool = False  # the product run hit the time cap: `value` is at least this much

    @property
    def ratio(self) -> float:
        return self.value / self.floor if self.floor > 0 else float("inf")

    def line(self) -> str:
        plus = ">" if self.lower_bound else ""
        return (
            f"{self.name}: median {plus}{_fmt(self.value)} {self.unit}, floor {_fmt(self.floor)} {self.unit}, "
            f"ratio {plus}{self.ratio:.2f}"
        )


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:.0f}"
    if value >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


class Report:
    """Collects the lines; figure lines in the strict format, everything else as `# ` comments or plain facts."""

    def __init__(self) -> None:
        self.figures: list[Figure] = []
        self.misses: list[str] = []

    def figure(self, fig: Figure) -> Figure:
        self.figures.append(fig)
        print(fig.line(), flush=True)
        return fig

    def fact(self, text: str) -> None:
        """A measured value without a floor (query counts, seed time)."""
        print(text, flush=True)

    def note(self, text: str) -> None:
        print(f"# {text}", flush=True)

    def miss(self, text: str) -> None:
        self.misses.append(text)

    def finish(self) -> None:
        for text in self.misses:
            print(f"# miss: {text}", flush=True)
        if not self.figures:
            print("worst ratio: n/a", flush=True)
            return
        worst = max(self.figures, key=lambda f: f.ratio)
        plus = ">" if worst.lower_bound else ""
        print(f"worst ratio: {plus}{worst.ratio:.2f}", flush=True)


def settle() -> None:
    """Before a timed run: collect the previous run's garbage, then move what survives into the permanent generation
    (gc.freeze), so that each run starts without pending garbage at the cost of the objects created since the last
    call only — a full collection walks the whole inherited heap (Django, the seeded rows' caches, the prepared rows)
    and costs 0.1 to 0.2 s on this machine, tens of seconds over a quick run. Frozen objects are still freed by
    reference counting; during the run the automatic collector sees only newer objects, for product and floor alike,
    as in a server that freezes its heap after loading the application."""
    gc.collect()
    gc.freeze()


def _timed(fn: Callable[[], object]) -> float:
    settle()
    debut = time.perf_counter()
    fn()
    return time.perf_counter() - debut


def interleave(
    product: Callable[[], object],
    floor: Callable[[], object],
    *,
    repeat: int,
    budget: float | None = None,
) -> tuple[list[float], list[float]]:
    """Run product and floor alternately `repeat` times (so that a burst of load on this shared machine hits both),
    stopping early once `budget` seconds are spent (at least one run of each). Returns both lists of seconds."""
    produits, planchers = [], []
    debut = time.perf_counter()
    for _ in range(repeat):
        produits.append(_timed(product))
        planchers.append(_timed(floor))
        if budget is not None and time.perf_counter() - debut > budget:
            break
    return produits, planchers


def median(values: list[float]) -> float:
    return statistics.median(values)


# --- Forked runs with a cap ---------------------------------------------------------------------------------------


@dataclass
class ChildResult:
    seconds: float
    peak: int | None  # bytes allocated by Python at the peak (tracemalloc), when asked
    rss: int | None  # growth of the child's resident set at its high-water mark (Linux), C libraries included
    capped: bool  # stopped at the cap: seconds and peaks are lower bounds


def _kib(champ: str) -> int | None:
    try:
        with open("/proc/self/status") as status:
            for ligne in status:
                if ligne.startswith(champ):
                    return int(ligne.split()[1]) * 1024
    except OSError:
        return None
    return None


def _rss_depart() -> int | None:
    """Reset the high-water mark of the resident set (Linux ≥ 4.0) and return the current resident size."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return None
    return _kib("VmRSS:")


def _child(fn, memory: bool, cap: float | None, conn) -> None:
    # The parent's database connection is never used here: the functions run in a child are pure.
    envoye = threading.Lock()

    def envoyer(statut: str, secondes: float) -> None:
        if envoye.acquire(blocking=False):
            pic = max(0, tracemalloc.get_traced_memory()[1] - avant) if memory else None
            haut = _kib("VmHWM:")
            rss = max(0, haut - rss_avant) if rss_avant is not None and haut is not None else None
            conn.send((statut, secondes, pic, rss))
            conn.close()

    settle()
    avant = 0
    if memory:
        tracemalloc.start()
        avant = tracemalloc.get_traced_memory()[0]
    rss_avant = _rss_depart()
    debut = time.perf_counter()
    if cap:

        def veille() -> None:
            time.sleep(cap)
            envoyer("capped", time.perf_counter() - debut)

        threading.Thread(target=veille, daemon=True).start()
    fn()
    envoyer("done", time.perf_counter() - debut)


def run_forked(fn: Callable[[], object], *, memory: bool = False, cap: float | None = None) -> ChildResult:
    """Run `fn` in a forked child (it inherits the prepared rows), so that a run that exceeds `cap` seconds can be
    stopped and every run starts from the same heap. Returns its time, the growth of its resident set and, with
    `memory`, its tracemalloc peak (tracemalloc slows allocation-heavy code several times: never time with it)."""
    ctx = multiprocessing.get_context("fork")
    lecture, ecriture = ctx.Pipe(duplex=False)
    sys.stdout.flush()
    process = ctx.Process(target=_child, args=(fn, memory, cap, ecriture))
    process.start()
    ecriture.close()
    delai = None if not cap else cap + 30
    if not lecture.poll(delai):
        process.kill()
        process.join()
        raise RuntimeError("the benchmark child gave no answer")
    try:
        statut, secondes, pic, rss = lecture.recv()
    except EOFError:
        process.join()
        raise RuntimeError(f"the benchmark child failed (exit code {process.exitcode})") from None
    if statut == "capped":
        process.kill()
    process.join()
    if statut == "done" and process.exitcode not in (0, None):
        raise RuntimeError(f"the benchmark child failed (exit code {process.exitcode})")
    return ChildResult(seconds=secondes, peak=pic, rss=rss, capped=statut == "capped")


def interleave_forked(
    product: Callable[[], object],
    floor: Callable[[], object],
    *,
    repeat: int,
    budget: float | None = None,
    cap: float | None = None,
) -> tuple[list[ChildResult], list[ChildResult]]:
    """As interleave(), each run in a forked child; once a product run hits the cap it is not run again."""
    produits, planchers = [], []
    debut = time.perf_counter()
    for _ in range(repeat):
        if not (produits and produits[-1].capped):
            produits.append(run_forked(product, cap=cap))
        planchers.append(run_forked(floor, cap=cap))
        if budget is not None and time.perf_counter() - debut > budget:
            break
    return produits, planchers


def machine() -> str:
    charge = ""
    if hasattr(os, "getloadavg"):
        charge = ", load average " + " ".join(f"{x:.2f}" for x in os.getloadavg())
    return f"{os.cpu_count()} CPU, Python {sys.version.split()[0]}{charge}"


class QueryCount:
    """Counts the SQL statements run on `connection` (no limit, unlike the 9 000 rows of the debug query log)."""

    def __init__(self, connection) -> None:
        self.connection = connection
        self.n = 0
        self._cm = None

    def _compter(self, execute, sql, params, many, context):
        self.n += 1
        return execute(sql, params, many, context)

    def __enter__(self) -> QueryCount:
        self._cm = self.connection.execute_wrapper(self._compter)
        self._cm.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self._cm.__exit__(*exc)
