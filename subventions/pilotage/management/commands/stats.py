"""Prints the figures of a campagne (the pilotage dashboard's, from the same selectors), as JSON or in French."""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand

from subventions.pilotage.arguments import campagne_argument, financeur_argument
from subventions.pilotage.selectors import LIBELLES, statistiques_campagne
from subventions.templatetags.subventions_tags import formater_montant


class Command(BaseCommand):
    help = (
        "Chiffres d'une campagne, ceux du tableau de bord de pilotage (mêmes sélecteurs). Clés JSON : campagne "
        "(exercice) ; financeur (code, ou null) ; actions_deposees (demandes ayant reçu un numéro de dossier, quel "
        "que soit leur sort ensuite) ; porteurs (porteurs ayant déposé) ; actions_validees (validées en comité, "
        "conventionnées, bilan déposé ou soldées) ; taux_validation (validées / déposées, rapport à deux décimales : "
        "« 0.93 » pour 93 %) ; comites (pour chaque séance close, par date, les actions validées ce jour-là) ; "
        "montant_demande, montant_propose (proposé par l'instruction), montant_accorde (lignes accordées) et "
        "montant_paye (paiements au statut « payé » — avances, acomptes, soldes — des actes de la campagne ; les "
        "reversements ne sont pas déduits), tous en euros, chaînes à deux décimales ; porteurs_finances (porteurs "
        "ayant au moins une ligne accordée) ; puis les documents attributifs : conventions et arretes (hors "
        "avenants), avenants, actions_par_convention (moyenne, deux décimales), conventions_signees, actes_bloques. "
        "Avec --financeur (code ou identifiant), chaque chiffre est restreint à ce financeur : ses demandes (celles "
        "qui lui demandent un montant), ses lignes, ses actes et leurs paiements ; une action validée est alors une "
        "action dont sa ligne est accordée."
    )

    def add_arguments(self, parser):
        parser.add_argument("--campagne", required=True, help="Exercice de la campagne, par exemple 2015.")
        parser.add_argument(
            "--financeur", help="Code (par exemple « etat ») ou identifiant d'un financeur : ses seules demandes."
        )
        parser.add_argument(
            "--contrat",
            help="Identifiant du contrat de ville, quand plusieurs contrats ont une campagne cette année-là.",
        )
        parser.add_argument(
            "--json", action="store_true", dest="en_json", help="Un objet JSON sur la sortie standard."
        )

    def handle(self, *args, campagne, financeur, contrat, en_json, **options):
        financeur = financeur_argument(financeur)
        chiffres = statistiques_campagne(
            campagne=campagne_argument(campagne, financeur=financeur, contrat=contrat), financeur=financeur
        )
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
