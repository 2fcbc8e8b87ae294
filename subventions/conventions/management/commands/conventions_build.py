"""Build the conventions, arrêtés and avenants of a campagne (idempotent; safe when two runs overlap)."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError

from subventions.campagnes.models import Campagne
from subventions.conventions.services import conventions_batir
from subventions.referentiel.models import Financeur


class Command(BaseCommand):
    help = (
        "Regroupe les lignes accordées de la campagne en un document par financeur, porteur et exercice "
        "(convention ou arrêté selon le seuil ; avenant si le document est déjà signé), puis génère le PDF de chaque "
        "document nouveau ou modifié. Relancer ne change rien."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campagne", required=True, help="Exercice de la campagne (par exemple 2015).")
        parser.add_argument("--financeur", help="Code (par exemple « etat ») ou identifiant d'un financeur.")

    def handle(self, *args, campagne, financeur, **options):
        campagne_obj = _campagne(campagne)
        financeur_obj = _financeur(financeur)
        debut = time.monotonic()
        resultat = conventions_batir(campagne=campagne_obj, financeur=financeur_obj)
        duree = time.monotonic() - debut
        self.stdout.write(
            f"Documents créés : {resultat['crees']} ; mis à jour : {resultat['maj']} ; "
            f"inchangés : {resultat['inchanges']} ; bloqués : {resultat['bloquees']} ({duree:.1f} s)."
        )


def _campagne(valeur: str) -> Campagne:
    if not str(valeur).strip().isdigit():
        raise CommandError(f"--campagne attend l'exercice de la campagne (par exemple 2015), pas « {valeur} ».")
    exercice = int(valeur)
    campagnes = list(Campagne.objects.filter(exercice=exercice))
    if not campagnes:
        connus = ", ".join(str(e) for e in Campagne.objects.order_by("exercice").values_list("exercice", flat=True))
        raise CommandError(f"Aucune campagne pour l'exercice {exercice}. Exercices connus : {connus or 'aucun'}.")
    if len(campagnes) > 1:
        raise CommandError(f"Plusieurs campagnes ont l'exercice {exercice} : cas pas encore pris en charge.")
    return campagnes[0]


def _financeur(valeur: str | None) -> Financeur | None:
    if valeur is None:
        return None
    valeur = valeur.strip()
    financeur = Financeur.objects.filter(code=valeur).first()
    if financeur is None and valeur.isdigit():
        financeur = Financeur.objects.filter(pk=int(valeur)).first()
    if financeur is None:
        codes = ", ".join(Financeur.objects.order_by("code").values_list("code", flat=True))
        raise CommandError(f"Financeur inconnu : « {valeur} ». Codes connus : {codes or 'aucun'}.")
    return financeur
