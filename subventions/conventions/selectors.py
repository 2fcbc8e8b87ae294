"""Reads of the actes attributifs: staff by financeur perimeter, porteurs through their membership."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from subventions.comptes.scopes import scope_queryset
from subventions.conventions.models import ActeAttribution, ActeLigne, Signature, StatutActe
from subventions.conventions.permissions import ROLES_LECTURE
from workflows.models import Document

NATURE_DOCUMENT = "acte_attributif"
# The fields a row of the staff list prints (templates/conventions/liste.html, ActeAttribution.libelle); the state
# field stays loaded for django-fsm.
COLONNES_LISTE = (
    "numero",
    "nature",
    "est_avenant",
    "exercice",
    "annee_fin",
    "montant_total",
    "statut",
    "motif_blocage",
    "financeur__nom",
    "porteur__nom",
    "parent__numero",
    "parent__annee_fin",
    "parent__statut",
)


def actes_visibles(user, *, roles=ROLES_LECTURE) -> QuerySet[ActeAttribution]:
    """Documents of the financeurs in the user's perimeter for `roles`."""
    return scope_queryset(ActeAttribution.objects.all(), user, roles=roles, financeur_field="financeur")


def actes_filtres(user, *, exercice=None, financeur=None, statut=None, nature=None, recherche: str = ""):
    qs = actes_visibles(user)
    if exercice:
        qs = qs.filter(exercice=exercice)
    if financeur:
        qs = qs.filter(financeur_id=financeur)
    if nature == "avenant":
        qs = qs.filter(est_avenant=True)
    elif nature:
        qs = qs.filter(nature=nature, est_avenant=False)
    if recherche:
        from django.db.models import Q

        qs = qs.filter(
            Q(numero__icontains=recherche) | Q(porteur__nom__icontains=recherche) | Q(porteur__siret=recherche)
        )
    comptes = dict(qs.order_by().values_list("statut").annotate(n=Count("pk")))
    if statut:
        qs = qs.filter(statut=statut)
    return qs, comptes


def page_actes(qs, *, un_financeur: bool = False):
    """The rows the staff list prints, with the number of lines, in a constant number of queries, by financeur,
    latest exercice first, then number. `un_financeur`: the rows are those of a single financeur (a filter, or a
    perimeter of one), so that the order needs no join and reads the (financeur, exercice, numero) index.

    The number of lines is a correlated subquery, not a JOIN + GROUP BY: PostgreSQL computes it for the page's rows
    only, after the sort and the LIMIT, instead of grouping every document of the scope (10 000 at national scale)
    before cutting the page.
    """
    nb_lignes = (
        ActeLigne.objects.filter(acte=OuterRef("pk")).order_by().values("acte").annotate(n=Count("pk")).values("n")
    )
    return (
        qs.select_related("financeur", "porteur", "parent")
        .only(*COLONNES_LISTE)
        .annotate(nb_actions=Coalesce(Subquery(nb_lignes, output_field=IntegerField()), Value(0)))
        .order_by(*(() if un_financeur else ("financeur__nom",)), "-exercice", "numero")
    )


def acte_visible(user, pk: int, *, roles=ROLES_LECTURE) -> ActeAttribution:
    acte = (
        actes_visibles(user, roles=roles)
        .select_related("financeur", "porteur", "campagne", "parent")
        .filter(pk=pk)
        .first()
    )
    if acte is None:
        raise Http404("Document introuvable.")
    return acte


def acte_du_porteur(porteur_id: int, pk: int) -> ActeAttribution:
    """A document of this porteur that has been issued to it (sent, signed, notified…); drafts stay with the staff."""
    acte = (
        ActeAttribution.objects.filter(porteur_id=porteur_id, pk=pk)
        .exclude(statut__in=[StatutActe.BROUILLON, StatutActe.BLOQUEE, StatutActe.GENEREE])
        .select_related("financeur", "porteur", "campagne", "parent")
        .first()
    )
    if acte is None:
        raise Http404("Document introuvable.")
    return acte


def actes_du_porteur(porteur_id: int) -> QuerySet[ActeAttribution]:
    return (
        ActeAttribution.objects.filter(porteur_id=porteur_id)
        .exclude(statut__in=[StatutActe.BROUILLON, StatutActe.BLOQUEE, StatutActe.GENEREE])
        .select_related("financeur", "parent")
        .annotate(nb_actions=Count("lignes"))
        .order_by("-exercice", "financeur__nom", "numero")
    )


def lignes_de(acte: ActeAttribution) -> list[ActeLigne]:
    return list(
        acte.lignes.select_related("ligne__demande").order_by("ligne__demande__numero", "pk"),
    )


def versions_de(acte: ActeAttribution) -> list[Document]:
    ct = ContentType.objects.get_for_model(ActeAttribution)
    return list(Document.objects.filter(content_type=ct, object_id=acte.pk).order_by("nature", "-version"))


def version_de(acte: ActeAttribution, document_pk: int) -> Document:
    ct = ContentType.objects.get_for_model(ActeAttribution)
    document = Document.objects.filter(content_type=ct, object_id=acte.pk, pk=document_pk).first()
    if document is None:
        raise Http404("Document introuvable.")
    return document


def document_courant_de(acte: ActeAttribution) -> Document | None:
    ct = ContentType.objects.get_for_model(ActeAttribution)
    return (
        Document.objects.filter(content_type=ct, object_id=acte.pk, nature=NATURE_DOCUMENT)
        .order_by("-version")
        .first()
    )


def signatures_de(acte: ActeAttribution) -> list[Signature]:
    return list(acte.signatures.select_related("user").order_by("signe_le"))


def avenants_de(acte: ActeAttribution) -> list[ActeAttribution]:
    return list(acte.avenants.order_by("exercice", "numero"))


def totaux(qs) -> dict:
    return qs.order_by().aggregate(n=Count("pk"), montant=Sum("montant_total"))
