"""Delete the demandes left in brouillon, never filed, untouched for longer than the retention period."""

from __future__ import annotations

from django.core.management.base import BaseCommand

from subventions.audit import services


class Command(BaseCommand):
    help = (
        "Supprime les demandes restées en brouillon, jamais déposées, sans modification depuis plus de "
        "SUBVENTIONS_RETENTION_BROUILLONS_MOIS mois (24 par défaut)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Affiche ce qui serait supprimé, sans supprimer.")
        parser.add_argument("--mois", type=int, default=None, help="Durée de conservation en mois (sinon le réglage).")

    def handle(self, *args, dry_run: bool = False, mois: int | None = None, **options):
        mois = services.retention_brouillons_mois() if mois is None else mois
        rapport = services.brouillons_purger(mois=mois, dry_run=dry_run)
        n = len(rapport["candidats"])
        if dry_run:
            self.stdout.write(
                f"{n} brouillon(s) de plus de {mois} mois seraient supprimés (simulation, rien n'est fait)."
            )
            for pk in rapport["candidats"]:
                self.stdout.write(f"  demande {pk}")
            return
        self.stdout.write(f"{len(rapport['supprimes'])} brouillon(s) de plus de {mois} mois supprimé(s).")
        if rapport["gardes"]:
            self.stdout.write(f"{len(rapport['gardes'])} conservé(s) (modifié(s) entre-temps ou liés à un document).")
