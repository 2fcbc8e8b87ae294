"""The steps of the online request form and the completeness check that points back to them."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from django.utils.translation import gettext_lazy as _

ETAPES = [
    ("identification", _("Identification de la structure")),
    ("nature", _("Nature de la demande")),
    ("action", _("L'action")),
    ("public", _("Public, quartiers et lieux")),
    ("objectifs", _("Contrat de ville et indicateurs")),
    ("budget", _("Budget prévisionnel")),
    ("pieces", _("Pièces justificatives")),
    ("depot", _("Déclaration et dépôt")),
]
NOMS_ETAPES = [nom for nom, _l in ETAPES]
LIBELLES_ETAPES = dict(ETAPES)


@dataclass(frozen=True)
class Manque:
    etape: str
    message: str

    @property
    def libelle_etape(self) -> str:
        return str(LIBELLES_ETAPES[self.etape])


def relation_lue(objet, relation: str, *select_related: str) -> list:
    """The rows of a reverse or many-to-many relation: from the prefetch cache when it was prefetched, else in one
    query that also joins `select_related` (never one query per row)."""
    cache = getattr(objet, "_prefetched_objects_cache", {})
    if relation in cache:
        return list(cache[relation])
    lignes = getattr(objet, relation).all()
    return list(lignes.select_related(*select_related) if select_related else lignes)


def demande_manques(demande) -> list[Manque]:
    """Everything that still prevents the deposit, each with the step where it is fixed.

    Reads each relation once with `.all()`, so that a demande loaded with its relations prefetched (the deposit,
    `services.demande_deposer`) is checked without a query more; otherwise one query per relation."""
    from subventions.demandes.models import ZERO, totaux_budget
    from subventions.templatetags.subventions_tags import formater_montant

    manques: list[Manque] = []
    porteur = demande.porteur

    def manque(etape: str, message) -> None:
        manques.append(Manque(etape, str(message)))

    if not (porteur.representant_nom and porteur.representant_prenom):
        manque("identification", _("Le représentant légal de la structure n'est pas renseigné."))
    if not (porteur.adresse and porteur.code_postal and porteur.commune):
        manque("identification", _("L'adresse du siège est incomplète."))
    if not (porteur.iban and porteur.bic):
        manque("identification", _("Les coordonnées bancaires (IBAN et BIC) manquent."))

    if not demande.intitule:
        manque("action", _("L'intitulé de l'action manque."))
    if not demande.objectifs_action:
        manque("action", _("Les objectifs de l'action manquent."))
    if not demande.description:
        manque("action", _("La description de l'action manque."))
    if not (demande.date_debut and demande.date_fin):
        manque("action", _("Les dates de début et de fin de l'action manquent."))

    if not demande.public_nombre:
        manque("public", _("Le nombre de bénéficiaires manque."))
    if demande.public_part_qpv is None:
        manque("public", _("La part du public résidant en quartier prioritaire manque."))
    if not demande.qpvs.all():
        manque("public", _("Indiquez au moins un quartier prioritaire concerné."))
    if not demande.lieu:
        manque("public", _("Le lieu de réalisation manque."))

    if not demande.objectifs.all():
        manque("objectifs", _("Rattachez l'action à au moins un objectif du contrat de ville."))
    if not demande.indicateurs.all():
        manque("objectifs", _("Indiquez au moins un indicateur d'évaluation avec sa cible."))

    lignes_budget = list(demande.lignes_budget.all())
    sommes: dict[str, Decimal] = {}
    for ligne in lignes_budget:
        sommes[ligne.sens] = sommes.get(ligne.sens, ZERO) + ligne.montant
    totaux = totaux_budget(sommes, sum((lf.montant_demande for lf in demande.lignes_financement.all()), ZERO))
    if totaux["charges"] <= ZERO:
        manque("budget", _("Le budget prévisionnel est vide."))
    elif totaux["ecart"] != ZERO:
        manque(
            "budget",
            _("Le budget n'est pas équilibré : charges %(c)s, produits %(p)s (écart %(e)s).")
            % {k: formater_montant(totaux[v]) for k, v in (("c", "charges"), ("p", "produits"), ("e", "ecart"))},
        )
    lignes = {ligne.compte: ligne.montant for ligne in lignes_budget}
    if lignes.get("86", ZERO) != lignes.get("87", ZERO):
        manque("budget", _("Les contributions volontaires en nature doivent s'équilibrer : le compte 86 égale le 87."))
    if totaux["demande"] <= Decimal("0"):
        manque("budget", _("Demandez un montant à au moins un financeur de la campagne (ligne 74)."))

    attachees = {p.type_id for p in relation_lue(demande, "pieces", "piece") if p.piece.est_valide()}
    for type_piece in demande.campagne.pieces_requises.all():
        if type_piece.pk not in attachees:
            manque("pieces", _("Pièce manquante ou expirée : %(piece)s.") % {"piece": type_piece.libelle})
    return manques
