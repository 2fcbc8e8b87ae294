"""Runs the web server and a Celery worker together (make run); Ctrl-C stops both."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand


def _signaux_par_defaut() -> None:
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class Command(BaseCommand):
    help = "Lance le serveur web et un worker Celery (beat intégré) ; Ctrl-C arrête les deux."

    def add_arguments(self, parser):
        parser.add_argument("adresse", nargs="?", default="127.0.0.1:8000")

    def handle(self, *args, adresse, **options):
        # A shell that starts us in the background leaves SIGINT ignored; Ctrl-C must stop us whatever the parent.
        signal.signal(signal.SIGINT, signal.default_int_handler)
        celery = Path(sys.executable).with_name("celery")
        worker = subprocess.Popen(
            [str(celery), "-A", "subventions", "worker", "--beat", "--pool=solo", "--loglevel=WARNING",
             f"--schedule={settings.VAR_DIR / 'celerybeat-schedule'}"],
            preexec_fn=_signaux_par_defaut,
        )  # fmt: skip
        serveur = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", adresse], preexec_fn=_signaux_par_defaut
        )
        try:
            serveur.wait()
        except KeyboardInterrupt:
            pass
        finally:
            for processus in (serveur, worker):
                if processus.poll() is None:
                    processus.send_signal(signal.SIGTERM)
            for processus in (serveur, worker):
                try:
                    processus.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    processus.kill()
            self.stdout.write("Serveur et worker arrêtés.")
