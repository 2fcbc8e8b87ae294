"""The Celery app of the fault tests' worker subprocess: the real app (`subventions.celery`), plus traps that make a
task block at a known point so that the test can kill the worker there. Nothing here is imported by the product.

Started as `celery -A tests.fiabilite.piege worker …` with, in its environment:
- FIABILITE_PIEGE_DIR: a folder of the test; a file `bloquer-<point>` there makes the next task reaching <point>
  write its pid to `bloque-<point>` and block (the file is consumed: the run after a kill goes through);
- FIABILITE_VISIBILITY_TIMEOUT (optional): Redis' visibility timeout of this worker, in seconds (production: 3600).
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

from celery.signals import worker_process_init
from django.core.mail.backends.base import BaseEmailBackend

from subventions.celery import app

__all__ = ["app", "CourrielPiege"]

if os.environ.get("FIABILITE_VISIBILITY_TIMEOUT"):
    # A short visibility timeout, and a sweep of the unacknowledged messages every second instead of every 100 s,
    # so that a message taken by a worker that died is given again in seconds instead of an hour.
    app.conf.broker_transport_options = {
        "visibility_timeout": int(os.environ["FIABILITE_VISIBILITY_TIMEOUT"]),
        "unacked_restore_interval": 1,
        "unacked_restore_throttle": 1,
    }


def _dossier() -> Path:
    return Path(os.environ["FIABILITE_PIEGE_DIR"])


def piege(point: str) -> None:
    """Block forever at `point` once, if the test asked for it (consuming the request is atomic: one run blocks)."""
    try:
        os.unlink(_dossier() / f"bloquer-{point}")
    except FileNotFoundError:
        return
    (_dossier() / f"bloque-{point}.tmp").write_text(str(os.getpid()))
    os.replace(_dossier() / f"bloque-{point}.tmp", _dossier() / f"bloque-{point}")
    while True:
        time.sleep(1)


class CourrielPiege(BaseEmailBackend):
    """An email backend for the worker subprocess: blocks when asked, else appends each message to `envoyes.jsonl`
    (the test's view of what really left, across processes)."""

    def send_messages(self, email_messages):
        piege("courriel")
        with open(_dossier() / "envoyes.jsonl", "a", encoding="utf-8") as f:
            for message in email_messages:
                f.write(
                    json.dumps(
                        {
                            "sujet": message.subject,
                            "a": list(message.to),
                            "message_id": message.message()["Message-ID"],
                            "pid": os.getpid(),
                        }
                    )
                    + "\n"
                )
        return len(email_messages)


@worker_process_init.connect
def _pieger_le_rendu(**kwargs) -> None:
    """In each pool process: the convention's PDF rendering passes through the trap first."""
    from subventions.conventions import pdf

    original = pdf.acte_pdf

    def acte_pdf(acte):
        piege("pdf")
        return original(acte)

    pdf.acte_pdf = acte_pdf
