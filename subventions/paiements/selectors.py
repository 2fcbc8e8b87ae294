"""Reads of the finance app, always scoped: finance staff (and administrateurs) see the payments, listes and
échéanciers of their financeurs only; a porteur's members see that porteur's payments."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache
from types import SimpleNamespace

from django.db.models import Count, IntegerField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from associations.models import Membre
from subventions.campagnes.models import Campagne
from subventions.comptes.scopes import scope_queryset
from subventions.paiements.enums import StatutPaiement, StatutReversement
from subventions.paiements.models import (
    ROLES_FINANCE,
    Echeancier,
    LigneListe,
    ListePaiements,
    Paiement,
    Reversement,
    motif_blocage,
)
from subventions.paiements.services import Criteres
from subventions.referentiel.models import Financeur

ZERO = Decimal("0.00")
# The dashboard's columns, in the order of the payment's life.
STATUTS_TABLEAU = (
    StatutPaiement.PREVU,
    StatutPaiement.A_PAYER,
    StatutPaiement.EXPORTE,
    StatutPaiement.PAYE,
    StatutPaiement.REJETE,
)


def financeurs_finance(user) -> QuerySet[Financeur]:
    return scope_queryset(Financeur.objects.all(), user, roles=ROLES_FINANCE, financeur_field="pk").order_by("nom")


def campagnes_finance(user) -> QuerySet[Campagne]:
    """Campagnes with at least one échéancier of the user's financeurs (for the liste filters)."""
    actes = scope_queryset(Echeancier.objects.all(), user, roles=ROLES_FINANCE, financeur_field="acte__financeur")
    return Campagne.objects.filter(pk__in=actes.values("acte__campagne_id")).order_by("-exercice", "titre")


def paiements_visibles(user) -> QuerySet[Paiement]:
    return scope_queryset(
        Paiement.objects.select_related(
            "financeur", "echeancier__acte__porteur", "echeancier__acte__campagne", "echeancier__acte__parent"
        ),
        user,
        roles=ROLES_FINANCE,
    )


def paiement_visible(user, pk: int) -> Paiement:
    """The payment, or 404 when it does not exist or belongs to another financeur (same answer)."""
    paiement = paiements_visibles(user).filter(pk=pk).first()
    if paiement is None:
        raise Http404(_("Paiement introuvable."))
    return paiement


def _nb_lignes_actives(statut: str) -> Coalesce:
    """The liste's active lines whose payment is in `statut`, as a correlated subquery: PostgreSQL counts them for
    the listes of the page only (after the sort and the LIMIT), instead of grouping every line of every liste."""
    nb = (
        LigneListe.objects.filter(liste=OuterRef("pk"), active=True, paiement__statut=statut)
        .order_by()
        .values("liste")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Coalesce(Subquery(nb, output_field=IntegerField()), Value(0))


def listes_visibles(user) -> QuerySet[ListePaiements]:
    return (
        scope_queryset(ListePaiements.objects.select_related("financeur", "cree_par"), user, roles=ROLES_FINANCE)
        .annotate(
            nb_payes=_nb_lignes_actives(StatutPaiement.PAYE), nb_rejetes=_nb_lignes_actives(StatutPaiement.REJETE)
        )
        .order_by("-cree_le", "-pk")
    )


def liste_visible(user, pk: int) -> ListePaiements:
    liste = (
        scope_queryset(ListePaiements.objects.select_related("financeur", "cree_par"), user, roles=ROLES_FINANCE)
        .filter(pk=pk)
        .first()
    )
    if liste is None:
        raise Http404(_("Liste de paiements introuvable."))
    return liste


def lignes_de_liste(liste: ListePaiements) -> list[LigneListe]:
    return list(
        liste.lignes.select_related(
            "paiement__echeancier__acte__porteur", "paiement__echeancier__acte__campagne"
        ).order_by("paiement__echeancier__acte__porteur__nom", "paiement__reference")
    )


@dataclass
class LigneTableau:
    financeur: Financeur
    chiffres: dict[str, tuple[int, Decimal]]  # statut → (count, amount)
    reversements: tuple[int, Decimal]

    def colonnes(self) -> list[tuple[str, int, Decimal]]:
        return [(s, *self.chiffres[s]) for s in STATUTS_TABLEAU]


def tableau_de_bord(user) -> list[LigneTableau]:
    """Counts and amounts per state for each financeur of the user: one aggregated query for the payments, one for
    the reversements to issue, one for the financeurs."""
    agregats = {}
    for statut in STATUTS_TABLEAU:
        filtre = Q(statut=statut)
        agregats[f"nb_{statut}"] = Count("pk", filter=filtre)
        agregats[f"mt_{statut}"] = Sum("montant", filter=filtre)
    par_financeur = {
        row["financeur_id"]: row
        for row in scope_queryset(Paiement.objects.all(), user, roles=ROLES_FINANCE)
        .order_by()
        .values("financeur_id")
        .annotate(**agregats)
    }
    reversements = {
        row["financeur_id"]: (row["nb"], row["mt"] or ZERO)
        for row in scope_queryset(Reversement.objects.all(), user, roles=ROLES_FINANCE)
        .filter(statut=StatutReversement.A_EMETTRE)
        .order_by()
        .values("financeur_id")
        .annotate(nb=Count("pk"), mt=Sum("montant"))
    }
    lignes = []
    for financeur in financeurs_finance(user):
        row = par_financeur.get(financeur.pk, {})
        chiffres = {s: (row.get(f"nb_{s}", 0), row.get(f"mt_{s}") or ZERO) for s in STATUTS_TABLEAU}
        lignes.append(LigneTableau(financeur, chiffres, reversements.get(financeur.pk, (0, ZERO))))
    return lignes


@lru_cache(maxsize=65536)
def _motif_coordonnees(iban: str, bic: str, langue: str | None) -> str:
    """`motif_blocage` of a porteur with these bank details: a pure function of the two strings (and of the language
    of the message), so kept in memory: each distinct IBAN is checked by schwifty once per process."""
    return motif_blocage(SimpleNamespace(iban=iban, bic=bic))


def paiements_bloques(user, *, limite: int = 50) -> list[tuple[Paiement, str]]:
    """Due payments held by their porteur's bank details, with the reason (checked with schwifty, in Python).

    Two queries whatever the number of due payments: the distinct porteurs owed something with their bank details
    (each checked once), then the first `limite` due payments of the blocked ones."""
    dus = paiements_visibles(user).filter(statut__in=[StatutPaiement.A_PAYER, StatutPaiement.REJETE])
    motifs = {}
    for porteur_id, iban, bic in (
        dus.order_by()
        .values_list(
            "echeancier__acte__porteur_id", "echeancier__acte__porteur__iban", "echeancier__acte__porteur__bic"
        )
        .distinct()
    ):
        motif = _motif_coordonnees(iban or "", bic or "", get_language())
        if motif:
            motifs[porteur_id] = motif
    if not motifs:
        return []
    bloques = dus.filter(echeancier__acte__porteur_id__in=motifs).order_by("echeance", "reference")[:limite]
    return [(paiement, motifs[paiement.echeancier.acte.porteur_id]) for paiement in bloques]


def candidats(user, criteres: Criteres, *, limite: int = 1000) -> list[Paiement]:
    """The due payments a new liste would take, each with `motif_blocage` ("" when it can be paid)."""
    paiements = list(
        criteres.filtrer(paiements_visibles(user)).order_by("echeancier__acte__porteur__nom", "reference")[:limite]
    )
    for paiement in paiements:
        paiement.motif_blocage = motif_blocage(paiement.echeancier.acte.porteur)
    return paiements


def echeancier_visible(user, acte_pk: int) -> Echeancier:
    echeancier = (
        scope_queryset(
            Echeancier.objects.select_related("acte__financeur", "acte__porteur", "acte__campagne", "acte__parent"),
            user,
            roles=ROLES_FINANCE,
            financeur_field="acte__financeur",
        )
        .prefetch_related(
            Prefetch("paiements", queryset=Paiement.objects.order_by("echeance", "nature", "rang")),
            Prefetch(
                "paiements__lignes_liste",
                queryset=LigneListe.objects.select_related("liste").order_by("pk"),
            ),
        )
        .filter(acte_id=acte_pk)
        .first()
    )
    if echeancier is None:
        raise Http404(_("Échéancier introuvable."))
    return echeancier


def membre_du_porteur(user, porteur_pk: int) -> Membre:
    """The user's membership of the porteur, or 404 (the same whether the porteur exists or not)."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    membre = Membre.objects.select_related("porteur").filter(user=user, porteur_id=porteur_pk).first()
    if membre is None:
        raise Http404(_("Structure introuvable."))
    return membre


def paiements_du_porteur(porteur) -> list[Paiement]:
    return list(
        Paiement.objects.filter(echeancier__acte__porteur=porteur)
        .exclude(statut=StatutPaiement.ANNULE)
        .select_related("financeur", "echeancier__acte")
        .order_by("-echeancier__acte__exercice", "echeancier__acte__numero", "echeance", "pk")
    )
