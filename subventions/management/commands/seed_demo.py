"""Loads the demo data set (idempotent, deterministic)."""

import time

from django.core.management.base import BaseCommand, CommandError

from subventions import demo
from subventions.demandes.models import Demande
from subventions.referentiel.models import Financeur


class Command(BaseCommand):
    help = "Charge les données de démonstration (contrat de ville de Marseille 2015). Idempotent."

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=demo.SCALES, default="small", help="Volume de données.")
        parser.add_argument("--seed", type=int, default=2015, help="Graine du générateur (déterministe).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Ne rien faire si la base contient déjà un financeur."
        )

    def handle(self, *args, scale, seed, if_empty, **options):
        if if_empty and Financeur.objects.exists():
            self.stdout.write("Base déjà remplie : démonstration non rechargée.")
            return
        debut = time.perf_counter()
        try:
            compteurs = demo.seed(scale=scale, graine=seed)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        duree = time.perf_counter() - debut
        compteurs["demandes déposées"] = Demande.objects.exclude(numero="").count()
        resume = ", ".join(f"{nom} : {n}" for nom, n in compteurs.items())
        self.stdout.write(
            self.style.SUCCESS(f"Démonstration chargée ({scale}, graine {seed}) en {duree:.1f} s — {resume}.")
        )
