"""Reads of the bilans, always scoped: a porteur's members see that porteur's comptes-rendus; instructeurs those of
their financeurs; finance staff the reversements of theirs. A foreign id gives 404, like an unknown one."""

from __future__ import annotations

import datetime

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, Q, QuerySet, Sum
from django.http import Http404
from django.utils import timezone
from django.utils.translation import gettext as _

from subventions.bilans.enums import NATURE_DOCUMENT, Situation, StatutCompteRendu
from subventions.bilans.models import ROLES_INSTRUCTION, CompteRendu, DecompteSolde, PieceCompteRendu
from subventions.comptes.scopes import perimetre, scope_queryset
from subventions.demandes.models import Demande
from subventions.paiements.enums import StatutReversement
from subventions.paiements.models import ROLES_FINANCE, Reversement
from subventions.referentiel.models import Financeur
from workflows.models import Document

CHAMPS_LISTE = ("acte__financeur", "acte__porteur", "acte__parent", "demande")


def situation(compte_rendu: CompteRendu, aujourdhui: datetime.date) -> Situation:
    """What the porteur's list says: the state, and "en retard" for one still to file past its due date."""
    if compte_rendu.statut == StatutCompteRendu.A_DEPOSER:
        return Situation.EN_RETARD if compte_rendu.echeance < aujourdhui else Situation.A_DEPOSER
    return Situation(compte_rendu.statut)


# --- Porteur -------------------------------------------------------------------------------------------------------


def comptes_rendus_du_porteur(porteur_id: int) -> list[CompteRendu]:
    """Every compte-rendu of the porteur, newest exercice first, each with its `situation` (one query)."""
    aujourdhui = timezone.localdate()
    comptes_rendus = list(
        CompteRendu.objects.filter(acte__porteur_id=porteur_id)
        .select_related(*CHAMPS_LISTE)
        .order_by("-acte__exercice", "echeance", "acte__numero", "demande__numero")
    )
    for cr in comptes_rendus:
        cr.situation = situation(cr, aujourdhui)
    return comptes_rendus


def compte_rendu_du_porteur(porteur_id: int, pk: int) -> CompteRendu:
    compte_rendu = (
        CompteRendu.objects.filter(acte__porteur_id=porteur_id, pk=pk)
        .select_related(*CHAMPS_LISTE, "acte__campagne", "depose_par", "valide_par")
        .first()
    )
    if compte_rendu is None:
        raise Http404(_("Compte-rendu introuvable."))
    compte_rendu.situation = situation(compte_rendu, timezone.localdate())
    return compte_rendu


# --- Instructeurs ----------------------------------------------------------------------------------------------------


def comptes_rendus_visibles(user) -> QuerySet[CompteRendu]:
    """The comptes rendus of the instructeur's financeurs and, for an instructeur limited to some territoires, of the
    actions in them (the demande's territoire or one of its QPV's, as the instruction queue)."""
    qs = scope_queryset(CompteRendu.objects.all(), user, roles=ROLES_INSTRUCTION, financeur_field="acte__financeur")
    p = perimetre(user, ROLES_INSTRUCTION)
    if not p.vide and not p.tous_territoires:
        par_qpv = Demande.qpvs.through.objects.filter(qpv__territoires__in=p.territoire_ids).values("demande_id")
        qs = qs.filter(Q(demande__territoire_id__in=p.territoire_ids) | Q(demande_id__in=par_qpv))
    return qs


def financeurs_instruits(user) -> QuerySet[Financeur]:
    return scope_queryset(Financeur.objects.all(), user, roles=ROLES_INSTRUCTION, financeur_field="pk").order_by("nom")


def comptes_rendus_filtres(
    user, *, statut: str | None, financeur: int | None, exercice: int | None, recherche: str = ""
) -> tuple[QuerySet[CompteRendu], dict[str, int]]:
    """The instructeur's list: filtered rows, and the count per state before the state filter (one query)."""
    qs = comptes_rendus_visibles(user)
    if financeur:
        qs = qs.filter(acte__financeur_id=financeur)
    if exercice:
        qs = qs.filter(acte__exercice=exercice)
    if recherche:
        qs = qs.filter(
            Q(acte__porteur__nom__icontains=recherche)
            | Q(acte__porteur__siret=recherche.replace(" ", ""))
            | Q(demande__numero__icontains=recherche)
            | Q(acte__numero__icontains=recherche)
        )
    comptes = dict(qs.order_by().values_list("statut").annotate(n=Count("pk")))
    if statut:
        qs = qs.filter(statut=statut)
    return (
        qs.select_related(*CHAMPS_LISTE).order_by("depose_le", "echeance", "acte__numero", "demande__numero"),
        comptes,
    )


def compte_rendu_visible(user, pk: int) -> CompteRendu:
    compte_rendu = (
        comptes_rendus_visibles(user)
        .select_related(*CHAMPS_LISTE, "acte__campagne", "depose_par", "valide_par")
        .filter(pk=pk)
        .first()
    )
    if compte_rendu is None:
        raise Http404(_("Compte-rendu introuvable."))
    return compte_rendu


# --- Shared by both sides --------------------------------------------------------------------------------------------


def lignes_de(compte_rendu: CompteRendu) -> list:
    return list(compte_rendu.lignes.order_by("ordre"))


def indicateurs_de(compte_rendu: CompteRendu) -> list:
    return list(compte_rendu.indicateurs.order_by("ordre", "pk"))


def pieces_de(compte_rendu: CompteRendu) -> list[PieceCompteRendu]:
    return list(compte_rendu.pieces.select_related("piece__type").order_by("ajoutee_le", "pk"))


def piece_de(compte_rendu: CompteRendu, piece_pk: int):
    lien = compte_rendu.pieces.select_related("piece").filter(piece_id=piece_pk).first()
    if lien is None:
        raise Http404(_("Pièce introuvable."))
    return lien.piece


def documents_de(compte_rendu: CompteRendu) -> list[Document]:
    """The stored PDFs, one per deposit, newest first."""
    ct = ContentType.objects.get_for_model(CompteRendu)
    return list(
        Document.objects.filter(content_type=ct, object_id=compte_rendu.pk, nature=NATURE_DOCUMENT).order_by(
            "-version"
        )
    )


def document_de(compte_rendu: CompteRendu, document_pk: int) -> Document:
    ct = ContentType.objects.get_for_model(CompteRendu)
    document = Document.objects.filter(
        content_type=ct, object_id=compte_rendu.pk, nature=NATURE_DOCUMENT, pk=document_pk
    ).first()
    if document is None:
        raise Http404(_("Document introuvable."))
    return document


def autres_de_l_acte(compte_rendu: CompteRendu) -> list[CompteRendu]:
    """The other actions of the same acte, with their state: the solde waits for all of them."""
    return list(
        CompteRendu.objects.filter(acte_id=compte_rendu.acte_id)
        .exclude(pk=compte_rendu.pk)
        .select_related("demande")
        .order_by("demande__numero")
    )


def decompte_de(acte_id: int) -> DecompteSolde | None:
    return DecompteSolde.objects.select_related("solde", "reversement").filter(acte_id=acte_id).first()


# --- Finance ---------------------------------------------------------------------------------------------------------


def reversements_visibles(user, *, statut: str | None = StatutReversement.A_EMETTRE) -> QuerySet[Reversement]:
    qs = scope_queryset(
        Reversement.objects.select_related(
            "acte__porteur", "acte__campagne", "acte__decompte_solde", "financeur", "cree_par"
        ),
        user,
        roles=ROLES_FINANCE,
    )
    if statut:
        qs = qs.filter(statut=statut)
    return qs.order_by("cree_le", "pk")


def total_reversements(qs: QuerySet[Reversement]) -> dict:
    return qs.order_by().aggregate(n=Count("pk"), montant=Sum("montant"))
