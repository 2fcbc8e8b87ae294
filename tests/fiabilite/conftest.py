"""Fault tests' tools: a real Celery worker in a subprocess on the test's own PostgreSQL database and Redis db,
a private redis-server, and pointing this process' Celery app at a given broker."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.db import connection

from subventions.celery import app as celery_app

RACINE = Path(__file__).resolve().parents[2]
CELERY = Path(sys.executable).with_name("celery")
# Redis db of these tests on the shared server (CI's other tests use 15); one per xdist worker.
REDIS_DB = int(os.environ.get("SUBVENTIONS_FIABILITE_REDIS_DB", "11"))


def attendre(condition, *, delai: float = 60, pas: float = 0.2, message: str = ""):
    fin = time.monotonic() + delai
    while time.monotonic() < fin:
        valeur = condition()
        if valeur:
            return valeur
        time.sleep(pas)
    raise AssertionError(f"Délai dépassé ({delai} s) : {message}")


def url_base_de_test() -> str:
    """The URL of the database this test runs on (pytest-django's test database), for a subprocess."""
    s = connection.settings_dict
    auth = quote(s["USER"] or "")
    if s.get("PASSWORD"):
        auth += ":" + quote(s["PASSWORD"])
    return f"postgres://{auth}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def redis_joignable(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def pg_seulement():
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL (set DATABASE_URL); CI runs it.")


@pytest.fixture
def redis_partage(worker_id):
    """The shared Redis, on a db of these tests only, emptied before and after."""
    import redis

    db = REDIS_DB + (int(worker_id[2:]) if worker_id.startswith("gw") else 0)
    url = f"redis://127.0.0.1:6379/{db}"
    if not redis_joignable(url):
        pytest.skip("Needs Redis at 127.0.0.1:6379 (CI has it).")
    client = redis.Redis.from_url(url)
    client.flushdb()
    yield url
    client.flushdb()


@contextlib.contextmanager
def broker(url: str):
    """This process' Celery app publishes to `url` for the duration (the worker subprocess consumes there)."""
    conf = celery_app.conf
    # Celery reads the CELERY_BROKER_URL environment variable before its setting (CI sets it): override both.
    env_avant = os.environ.get("CELERY_BROKER_URL")
    os.environ["CELERY_BROKER_URL"] = url
    avant = conf.broker_url, conf.broker_transport_options, conf.task_always_eager
    conf.broker_url, conf.broker_transport_options, conf.task_always_eager = url, {}, False
    celery_app._pool, celery_app.amqp._producer_pool = None, None
    try:
        yield
    finally:
        if env_avant is None:
            os.environ.pop("CELERY_BROKER_URL", None)
        else:
            os.environ["CELERY_BROKER_URL"] = env_avant
        conf.broker_url, conf.broker_transport_options, conf.task_always_eager = avant
        celery_app._pool, celery_app.amqp._producer_pool = None, None


class Worker:
    """`celery -A tests.fiabilite.piege worker -P prefork -c 1` in a subprocess (the real worker, pool and broker)."""

    def __init__(self, *, broker_url: str, piege: Path, media: Path, env: dict[str, str] | None = None):
        self.piege = piege
        self.journal = piege / f"worker-{uuid.uuid4().hex[:8]}.log"
        environ = {
            **os.environ,
            "PYTHONPATH": str(RACINE),
            "DJANGO_SETTINGS_MODULE": "subventions.settings",
            "DATABASE_URL": url_base_de_test(),
            "CELERY_BROKER_URL": broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "EMAIL_BACKEND": "tests.fiabilite.piege.CourrielPiege",
            "SUBVENTIONS_MEDIA_ROOT": str(media),
            "FIABILITE_PIEGE_DIR": str(piege),
            "DJANGO_LOG_LEVEL": "WARNING",
            **(env or {}),
        }
        commande = [
            str(CELERY), "-A", "tests.fiabilite.piege", "worker", "-P", "prefork", "-c", "1",
            "--without-heartbeat", "--without-gossip", "--without-mingle", "-l", "INFO",
            "-n", f"fiabilite-{uuid.uuid4().hex[:8]}@%h",
        ]  # fmt: skip
        with open(self.journal, "wb") as sortie:
            self.process = subprocess.Popen(
                commande, cwd=RACINE, env=environ, stdout=sortie, stderr=subprocess.STDOUT, start_new_session=True
            )

    def log(self) -> str:
        return self.journal.read_text(errors="replace")

    def tuer(self) -> None:
        """SIGKILL the main process (as the OOM killer or a lost machine would)."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def arreter(self) -> None:
        """At the end of the test: the worker and its pool processes (all in its session) are killed outright."""
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)


@pytest.fixture
def workers(tmp_path, settings):
    """Start workers with `demarrer(broker_url, **env)`; all are stopped at the end (their log printed on failure)."""
    piege = tmp_path / "piege"
    piege.mkdir()
    lances: list[Worker] = []

    def demarrer(broker_url: str, **env: str) -> Worker:
        w = Worker(broker_url=broker_url, piege=piege, media=Path(settings.MEDIA_ROOT), env=env)
        lances.append(w)
        return w

    demarrer.piege = piege
    yield demarrer
    for w in lances:
        w.arreter()
    for w in lances:
        print(f"--- {w.journal.name}\n{w.log()[-4000:]}")


def bloquer(piege: Path, point: str) -> None:
    (piege / f"bloquer-{point}").touch()


def pid_bloque(piege: Path, point: str, *, delai: float = 60) -> int:
    fichier = piege / f"bloque-{point}"
    attendre(fichier.exists, delai=delai, message=f"aucune tâche n'a atteint « {point} »")
    return int(fichier.read_text())


def envoyes(piege: Path) -> list[dict]:
    fichier = piege / "envoyes.jsonl"
    if not fichier.exists():
        return []
    return [json.loads(ligne) for ligne in fichier.read_text().splitlines() if ligne.strip()]


@pytest.fixture
def redis_prive(tmp_path):
    """A redis-server of this test alone, on a free port, that the test may stop and start again."""
    binaire = shutil.which("redis-server")
    if binaire is None:
        pytest.skip("redis-server is not installed.")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]

    class Serveur:
        url = f"redis://127.0.0.1:{port}/0"
        process: subprocess.Popen | None = None

        def demarrer(self) -> None:
            self.process = subprocess.Popen(
                [binaire, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
                 "--daemonize", "no", "--dir", str(tmp_path)],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            )  # fmt: skip
            attendre(lambda: redis_joignable(self.url), delai=20, message="redis-server ne démarre pas")

        def arreter(self) -> None:
            if self.process and self.process.poll() is None:
                self.process.terminate()
                self.process.wait(timeout=10)
            attendre(lambda: not redis_joignable(self.url), delai=10, message="redis-server ne s'arrête pas")

    serveur = Serveur()
    serveur.demarrer()
    yield serveur
    if serveur.process and serveur.process.poll() is None:
        serveur.process.kill()
        serveur.process.wait(timeout=10)
