"""Building the actes attributifs: one per (financeur, porteur, exercice), avenants once signed, numbering."""

from __future__ import annotations

from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum

from associations.models import Porteur
from subventions.campagnes.models import Campagne
from subventions.conventions.models import ActeAttribution, ActeLigne, CompteurActes, NatureActe, StatutActe
from subventions.demandes.enums import StatutDemande, StatutLigne
from subventions.demandes.models import LigneFinancement
from subventions.referentiel.models import Financeur

ZERO = Decimal("0.00")


def numero_acte_attribuer(*, financeur: Financeur, exercice: int) -> str:
    """Next number for the financeur and year (ETAT-2015-0001), under the counter's row lock: call it inside the
    transaction that saves the document, so that a rollback gives the number back and no two documents share one."""
    try:
        with transaction.atomic():
            CompteurActes.objects.get_or_create(financeur=financeur, exercice=exercice)
    except IntegrityError:
        pass  # created meanwhile by a concurrent run
    compteur = CompteurActes.objects.select_for_update().get(financeur=financeur, exercice=exercice)
    compteur.dernier += 1
    compteur.save(update_fields=["dernier"])
    return f"{financeur.code.upper()}-{exercice}-{compteur.dernier:04d}"


def nature_pour(*, financeur: Financeur, total: Decimal) -> str:
    """Above the financeur's threshold (or if it always conventions): a convention; otherwise an arrêté."""
    if financeur.toujours_convention or total > financeur.seuil_convention:
        return NatureActe.CONVENTION
    return NatureActe.ARRETE


def lignes_a_conventionner(*, campagne: Campagne, financeur: Financeur | None = None):
    """Granted lines (accordée, amount > 0) of decided demandes (no longer on an open séance's agenda) that are in
    no document yet."""
    lignes = LigneFinancement.objects.filter(
        demande__campagne=campagne,
        statut=StatutLigne.ACCORDEE,
        montant_accorde__gt=0,
        acte_ligne__isnull=True,
    ).exclude(demande__statut=StatutDemande.INSCRITE)
    if financeur is not None:
        lignes = lignes.filter(financeur=financeur)
    return lignes


def _document_de_base(*, financeur: Financeur, porteur: Porteur, campagne: Campagne) -> tuple[ActeAttribution, bool]:
    """The (non-avenant) document of the group, locked; created (numbered) if missing. The unique constraint decides
    between two overlapping runs: the loser's insert fails in its savepoint and it locks the winner's row."""
    filtre = {"financeur": financeur, "porteur": porteur, "exercice": campagne.exercice, "est_avenant": False}
    existant = ActeAttribution.objects.select_for_update().filter(**filtre).first()
    if existant is not None:
        return existant, False
    try:
        with transaction.atomic():
            acte = ActeAttribution.objects.create(
                campagne=campagne,
                nature=nature_pour(financeur=financeur, total=ZERO),
                numero=numero_acte_attribuer(financeur=financeur, exercice=campagne.exercice),
                **filtre,
            )
            return acte, True
    except IntegrityError:
        return ActeAttribution.objects.select_for_update().get(**filtre), False


def _avenant_ouvert(*, base: ActeAttribution, campagne: Campagne) -> tuple[ActeAttribution, bool]:
    """The unsigned avenant of a signed document, or a new one. The base row is locked by the caller, so two runs
    cannot both create one."""
    avenant = base.avenants.select_for_update().filter(statut=StatutActe.BROUILLON).order_by("pk").first()
    if avenant is not None:
        return avenant, False
    avenant = ActeAttribution.objects.create(
        financeur=base.financeur,
        porteur=base.porteur,
        campagne=campagne,
        exercice=base.exercice,
        nature=base.nature,
        numero=numero_acte_attribuer(financeur=base.financeur, exercice=base.exercice),
        est_avenant=True,
        parent=base,
    )
    return avenant, True


@transaction.atomic
def _groupe_batir(*, financeur: Financeur, porteur: Porteur, campagne: Campagne) -> set[tuple[int, bool]]:
    """One (financeur, porteur, exercice) in its own transaction: returns {(acte pk, created)} for what changed."""
    base, base_cree = _document_de_base(financeur=financeur, porteur=porteur, campagne=campagne)
    # Read under the lock: a concurrent run that got here first has already taken its lines.
    lignes = list(
        lignes_a_conventionner(campagne=campagne, financeur=financeur)
        .filter(demande__porteur=porteur)
        .order_by("demande__numero", "pk")
    )
    if not lignes:
        return {(base.pk, True)} if base_cree else set()
    if base.statut == StatutActe.BROUILLON:
        acte, cree = base, base_cree
    else:
        acte, cree = _avenant_ouvert(base=base, campagne=campagne)
    ActeLigne.objects.bulk_create(
        [ActeLigne(acte=acte, ligne=ligne, montant=ligne.montant_accorde) for ligne in lignes]
    )
    acte.montant_total = acte.lignes.aggregate(total=Sum("montant"))["total"] or ZERO
    # The threshold looks at everything granted to the porteur by this financeur this year (avenants included).
    total_groupe = (
        ActeLigne.objects.filter(
            acte__financeur=financeur, acte__porteur=porteur, acte__exercice=campagne.exercice
        ).aggregate(total=Sum("montant"))["total"]
        or ZERO
    )
    # Only an unsigned document is re-evaluated: an arrêté not yet notified that crosses the threshold becomes a
    # convention. Lines are only ever added, so a convention never turns back into an arrêté.
    if acte.nature == NatureActe.ARRETE or cree:
        acte.nature = nature_pour(financeur=financeur, total=total_groupe)
    acte.save(update_fields=["montant_total", "nature", "maj_le"])
    return {(acte.pk, cree)}


def conventions_batir(*, campagne: Campagne, financeur: Financeur | None = None) -> dict[str, int]:
    """Put every granted line not yet in a document into its (financeur, porteur, exercice) document: the unsigned
    one (created if needed) or, once signed, an avenant. Idempotent, and safe when two runs overlap: each group runs
    in its own transaction under the lock of its document, numbers are taken under the counter's row lock.

    Returns how many documents were created, updated (lines added) and left untouched (in the scope)."""
    groupes = list(
        lignes_a_conventionner(campagne=campagne, financeur=financeur)
        .values_list("financeur_id", "demande__porteur_id")
        .order_by("financeur_id", "demande__porteur_id")
        .distinct()
    )
    financeurs = Financeur.objects.in_bulk({f for f, _ in groupes})
    porteurs = Porteur.objects.in_bulk({p for _, p in groupes})
    crees, maj = set(), set()
    for financeur_id, porteur_id in groupes:
        for pk, cree in _groupe_batir(
            financeur=financeurs[financeur_id], porteur=porteurs[porteur_id], campagne=campagne
        ):
            (crees if cree else maj).add(pk)
    maj -= crees
    portee = ActeAttribution.objects.filter(exercice=campagne.exercice, campagne=campagne)
    if financeur is not None:
        portee = portee.filter(financeur=financeur)
    inchanges = portee.exclude(pk__in=crees | maj).count()
    return {"crees": len(crees), "maj": len(maj), "inchanges": inchanges}
