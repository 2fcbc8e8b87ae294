"""Loads the demo data set (idempotent, deterministic)."""

import argparse
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from associations.models import Porteur
from subventions import demo
from subventions.conventions.models import ActeAttribution
from subventions.demandes.models import Demande
from subventions.paiements.models import Paiement
from subventions.referentiel.models import Financeur


class Command(BaseCommand):
    help = (
        "Charge les données de démonstration (contrat de ville de Marseille 2015 ; --scale national : "
        "25 000 demandes de 12 000 porteurs). Idempotent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--scale", choices=demo.SCALES, default="small", help="Volume de données.")
        parser.add_argument("--seed", type=int, default=2015, help="Graine du générateur (déterministe).")
        parser.add_argument(
            "--if-empty", action="store_true", help="Ne rien faire si la base contient déjà un financeur."
        )
        # Scales the national data set (tests and quick runs); hidden from --help.
        parser.add_argument("--taille", type=float, default=None, help=argparse.SUPPRESS)

    def handle(self, *args, scale, seed, if_empty, taille=None, **options):
        if if_empty and Financeur.objects.exists():
            self.stdout.write("Base déjà remplie : démonstration non rechargée.")
            return
        if taille is not None and not 0 < taille <= 1:
            raise CommandError("--taille doit être comprise entre 0 (exclu) et 1.")
        debut = time.perf_counter()
        try:
            compteurs = demo.seed(scale=scale, graine=seed, taille=taille)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # Statistics for the planner now, as autovacuum would after a while: tens of thousands of rows written
            # in bulk would otherwise be planned as empty tables (nested loops over 25 000 demandes).
            with connection.cursor() as curseur:
                curseur.execute("ANALYZE")
        duree = time.perf_counter() - debut
        compteurs["demandes déposées"] = Demande.objects.exclude(numero="").count()
        if scale == "national":
            compteurs["porteurs"] = Porteur.objects.count()
            compteurs["conventions et arrêtés"] = ActeAttribution.objects.count()
            compteurs["paiements"] = Paiement.objects.count()
        if scale == "national" and options.get("verbosity", 1) >= 2:
            from subventions.demo_national import DUREES

            self.stdout.write(" ; ".join(f"{etape} : {s:.1f} s" for etape, s in DUREES.items()))
        resume = ", ".join(f"{nom} : {n}" for nom, n in compteurs.items())
        self.stdout.write(
            self.style.SUCCESS(f"Démonstration chargée ({scale}, graine {seed}) en {duree:.1f} s — {resume}.")
        )
