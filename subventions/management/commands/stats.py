"""Prints the figures of a campagne's demandes, as JSON or as a French summary."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django.db.models import Count, Q

from subventions.campagnes.models import Campagne
from subventions.comites.enums import Decision, StatutSeance
from subventions.comites.models import Seance
from subventions.conventions.stats import LIBELLES_CONVENTIONS, statistiques_conventions
from subventions.demandes.stats import LIBELLES as LIBELLES_DEMANDES
from subventions.demandes.stats import VALIDEES, demandes_deposees, statistiques_demandes
from subventions.referentiel.models import Financeur
from subventions.templatetags.subventions_tags import formater_montant

LIBELLES = {**LIBELLES_DEMANDES, **LIBELLES_CONVENTIONS}


class Command(BaseCommand):
    help = (
        "Chiffres des demandes d'une campagne : actions déposées, porteurs, actions validées, taux de validation "
        "(validées / déposées, rapport à deux décimales : « 0.93 » pour 93 %), actions validées par séance close "
        "(comites), montants demandés et accordés (chaînes à deux décimales), puis les documents attributifs : "
        "conventions, arrêtés et avenants, actions par convention (moyenne, deux décimales), conventions signées, "
        "documents bloqués. Avec --financeur (code ou identifiant), chaque chiffre est restreint à ce financeur (une "
        "action validée est alors une action dont sa ligne est accordée)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campagne", required=True, help="Exercice de la campagne, par exemple 2015.")
        parser.add_argument(
            "--financeur", help="Code (par exemple « etat ») ou identifiant d'un financeur : ses seules demandes."
        )
        parser.add_argument(
            "--json", action="store_true", dest="en_json", help="Un objet JSON sur la sortie standard."
        )

    def handle(self, *args, campagne, financeur, en_json, **options):
        chiffres = statistiques_campagne(campagne=_campagne(campagne), financeur=_financeur(financeur))
        if en_json:
            self.stdout.write(json.dumps(chiffres, ensure_ascii=False, indent=2))
            return
        for cle, valeur in chiffres.items():
            if cle == "financeur" and valeur is None:
                valeur = "tous"
            elif cle.startswith("montant"):
                valeur = formater_montant(valeur)
            elif cle == "comites":
                valeur = " ; ".join(f"{c['date'][8:]}/{c['date'][5:7]}/{c['date'][:4]} : {c['actions_validees']}"
                                    for c in valeur) or "aucun"  # fmt: skip
            self.stdout.write(f"{LIBELLES.get(cle, cle)} : {valeur}")


def statistiques_campagne(*, campagne: Campagne, financeur: Financeur | None = None) -> dict[str, Any]:
    """The demandes' figures, the comités' and the documents' (five queries), keys in the order of LIBELLES."""
    chiffres = statistiques_demandes(campagne=campagne, financeur=financeur)
    chiffres["comites"] = comites(campagne=campagne, financeur=financeur)
    chiffres.update(statistiques_conventions(campagne=campagne, financeur=financeur))
    return {cle: chiffres[cle] for cle in sorted(chiffres, key=lambda c: list(LIBELLES).index(c))}


def comites(*, campagne: Campagne, financeur: Financeur | None = None) -> list[dict[str, Any]]:
    """Per closed séance of the campagne (by date): the demandes validated at it, i.e. validated demandes with a
    line granted in that séance's frozen decisions (DecisionLigne); with a financeur, that financeur's line."""
    accordees = Q(
        decisions__decision=Decision.ACCORDEE,
        decisions__ligne__demande__in=demandes_deposees(campagne=campagne, financeur=financeur),
        decisions__ligne__demande__statut__in=VALIDEES,
    )
    if financeur is not None:
        accordees &= Q(decisions__financeur=financeur)
    seances = (
        Seance.objects.filter(campagne=campagne, statut=StatutSeance.CLOSE)
        .annotate(n=Count("decisions__ligne__demande", filter=accordees, distinct=True))
        .order_by("date", "pk")
    )
    return [{"date": s.date.isoformat(), "actions_validees": s.n} for s in seances]


def _campagne(valeur: str) -> Campagne:
    if not str(valeur).strip().isdigit():
        raise CommandError(
            f"--campagne attend l'exercice de la campagne (une année, par exemple 2015), pas « {valeur} »."
        )
    exercice = int(valeur)
    campagnes = list(Campagne.objects.filter(exercice=exercice).select_related("contrat"))
    if not campagnes:
        connus = ", ".join(str(e) for e in Campagne.objects.order_by("exercice").values_list("exercice", flat=True))
        raise CommandError(f"Aucune campagne pour l'exercice {exercice}. Exercices connus : {connus or 'aucun'}.")
    if len(campagnes) > 1:
        contrats = " ; ".join(str(c.contrat) for c in campagnes)
        raise CommandError(
            f"Plusieurs campagnes ont l'exercice {exercice} ({contrats}) : les chiffres par contrat de ville ne sont "
            "pas encore proposés par cette commande."
        )
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
