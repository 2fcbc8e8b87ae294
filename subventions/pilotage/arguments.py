"""Reading the arguments the pilotage commands share (a campagne by its year, a financeur by code or id), with clear
French errors."""

from __future__ import annotations

from django.core.management.base import CommandError

from subventions.campagnes.models import Campagne
from subventions.pilotage.selectors import campagnes_historiques_ids
from subventions.referentiel.models import Financeur


def financeur_argument(valeur: str | None) -> Financeur | None:
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


def annee_argument(valeur, option: str = "--campagne") -> int:
    if not str(valeur).strip().isdigit():
        raise CommandError(f"{option} attend une année (par exemple 2015), pas « {valeur} ».")
    return int(valeur)


def campagne_argument(valeur: str, *, financeur: Financeur | None = None, contrat: str | None = None) -> Campagne:
    """The campagne of the exercice. When several contrats de ville have one that year: those of the financeur, then
    those not created by an import of past subsidies; `contrat` (an id) decides otherwise."""
    if not str(valeur).strip().isdigit():
        raise CommandError(
            f"--campagne attend l'exercice de la campagne (une année, par exemple 2015), pas « {valeur} »."
        )
    exercice = int(valeur)
    campagnes = list(Campagne.objects.filter(exercice=exercice).select_related("contrat").order_by("pk"))
    if not campagnes:
        connus = ", ".join(
            str(e) for e in Campagne.objects.order_by("exercice").values_list("exercice", flat=True).distinct()
        )
        raise CommandError(f"Aucune campagne pour l'exercice {exercice}. Exercices connus : {connus or 'aucun'}.")
    if contrat is not None:
        campagnes = [c for c in campagnes if str(c.contrat_id) == str(contrat).strip()]
        if not campagnes:
            raise CommandError(f"Aucune campagne {exercice} pour le contrat de ville n° {contrat}.")
    if len(campagnes) > 1 and financeur is not None:
        siennes = [c for c in campagnes if c.financeurs.filter(pk=financeur.pk).exists()]
        campagnes = siennes or campagnes
    if len(campagnes) > 1:
        historiques = campagnes_historiques_ids()
        campagnes = [c for c in campagnes if c.pk not in historiques] or campagnes
    if len(campagnes) > 1:
        contrats = " ; ".join(f"n° {c.contrat_id} {c.contrat}" for c in campagnes)
        raise CommandError(
            f"Plusieurs campagnes ont l'exercice {exercice} ({contrats}) : précisez le contrat de ville (--contrat)."
        )
    return campagnes[0]
