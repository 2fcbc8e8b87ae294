"""Reads of demandes for instructeurs: the queue and the staff page, scoped to their financeurs and territoires."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from django.db.models import Count, DecimalField, OuterRef, Prefetch, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.http import Http404

from subventions.campagnes.models import Campagne
from subventions.comptes.enums import Role
from subventions.comptes.models import User
from subventions.comptes.scopes import perimetre, scope_queryset
from subventions.demandes.enums import StatutDemande
from subventions.demandes.models import Demande, LigneFinancement, PieceDemande
from subventions.referentiel.models import Financeur, Pilier, Territoire

ROLES = (Role.INSTRUCTEUR,)
TRIS = {
    "numero": ("numero", "pk"),
    "-numero": ("-numero", "-pk"),
    "depot": ("depose_le", "pk"),
    "-depot": ("-depose_le", "-pk"),
    "montant": ("montant_total", "pk"),
    "-montant": ("-montant_total", "-pk"),
    "porteur": ("porteur__nom", "numero"),
    "-porteur": ("-porteur__nom", "-numero"),
}
TRI_DEFAUT = "-depot"
# The fields of a queue row (templates/instruction/file.html); the state field stays loaded for django-fsm.
COLONNES_FILE = (
    "numero",
    "intitule",
    "depose_le",
    "statut",
    "campagne__titre",
    "territoire__nom",
    "porteur__nom",
    "instructeur__first_name",
    "instructeur__last_name",
    "instructeur__email",
)


def _demandes_par_territoires(territoire_ids) -> Q:
    """The demande's own territoire, or the territoire of one of its QPV (as permissions._territoires_de)."""
    par_qpv = Demande.qpvs.through.objects.filter(qpv__territoires__in=territoire_ids).values("demande_id")
    return Q(territoire_id__in=territoire_ids) | Q(pk__in=par_qpv)


def demandes_du_perimetre(user, *, financeur: int | None = None) -> QuerySet[Demande]:
    """Every deposited demande asking (amount > 0) a financeur of the instructeur, in one of their territoires;
    with `financeur`, only those asking that financeur (the queue's filter).

    Multi-valued conditions are `pk__in` subqueries, so rows never repeat and no DISTINCT is needed.
    """
    p = perimetre(user, ROLES)
    if p.vide:
        return Demande.objects.none()
    lignes = LigneFinancement.objects.filter(montant_demande__gt=0)
    if financeur and (p.tous_financeurs or financeur in p.financeur_ids):
        # Asking a financeur of the perimeter implies asking one of its financeurs: one semi-join instead of two
        # over the same lines (at national scale, 25 000 lines of the État each).
        lignes = lignes.filter(financeur_id=financeur)
    else:
        lignes = scope_queryset(lignes, user, roles=ROLES, financeur_field="financeur")
        if financeur:
            lignes = lignes.filter(
                demande_id__in=LigneFinancement.objects.filter(financeur_id=financeur, montant_demande__gt=0).values(
                    "demande_id"
                )
            )
    qs = Demande.objects.exclude(statut=StatutDemande.BROUILLON).filter(pk__in=lignes.values("demande_id"))
    if not p.tous_territoires:
        qs = qs.filter(_demandes_par_territoires(p.territoire_ids))
    return qs


def _montant_total() -> Subquery:
    total = (
        LigneFinancement.objects.filter(demande=OuterRef("pk"))
        # No default ordering: it would join the demande and the financeur inside the subquery, for each row.
        .order_by()
        .values("demande")
        .annotate(total=Sum("montant_demande"))
        .values("total")
    )
    return Coalesce(
        Subquery(total, output_field=DecimalField(max_digits=14, decimal_places=2)),
        Value(Decimal("0.00")),
        output_field=DecimalField(max_digits=14, decimal_places=2),
    )


@dataclass
class Filtres:
    """The queue's criteria, already validated (forms_instruction.FiltreFileForm.filtres)."""

    campagne: int | None = None
    statut: str = ""
    financeur: int | None = None
    pilier: int | None = None
    objectif: int | None = None
    territoire: int | None = None
    qpv: str = ""
    porteur: int | None = None
    montant_min: Decimal | None = None
    montant_max: Decimal | None = None
    instructeur: str = ""  # "", "moi", "aucun" or a user's pk
    depose_du: date | None = None
    depose_au: date | None = None
    recherche: str = ""
    tri: str = TRI_DEFAUT
    extra: dict = field(default_factory=dict)


def file_instruction(user, filtres: Filtres) -> tuple[QuerySet[Demande], dict[str, int]]:
    """The filtered, sorted queue and the count per status (of the queue filtered on everything but the status).

    Constant query cost per page: the list joins campagne, porteur, territoire and instructeur, and prefetches the
    financeur lines in one query.
    """
    f = filtres
    qs = demandes_du_perimetre(user, financeur=f.financeur)
    if f.montant_min is not None or f.montant_max is not None or f.tri in ("montant", "-montant"):
        # Only when the amount filters or sorts the queue: otherwise `montants_completer` sums the page's lines.
        qs = qs.annotate(montant_total=_montant_total())
    if f.campagne:
        qs = qs.filter(campagne_id=f.campagne)
    if f.objectif:
        qs = qs.filter(pk__in=Demande.objectifs.through.objects.filter(objectif_id=f.objectif).values("demande_id"))
    if f.pilier:
        qs = qs.filter(
            pk__in=Demande.objectifs.through.objects.filter(objectif__pilier_id=f.pilier).values("demande_id")
        )
    if f.territoire:
        qs = qs.filter(_demandes_par_territoires([f.territoire]))
    if f.qpv:
        qs = qs.filter(
            pk__in=Demande.qpvs.through.objects.filter(qpv__code__iexact=f.qpv.strip()).values("demande_id")
        )
    if f.porteur:
        qs = qs.filter(porteur_id=f.porteur)
    if f.montant_min is not None:
        qs = qs.filter(montant_total__gte=f.montant_min)
    if f.montant_max is not None:
        qs = qs.filter(montant_total__lte=f.montant_max)
    if f.instructeur == "moi":
        qs = qs.filter(instructeur=user)
    elif f.instructeur == "aucun":
        qs = qs.filter(instructeur__isnull=True)
    elif f.instructeur.isdigit():
        qs = qs.filter(instructeur_id=int(f.instructeur))
    if f.depose_du:
        qs = qs.filter(depose_le__date__gte=f.depose_du)
    if f.depose_au:
        qs = qs.filter(depose_le__date__lte=f.depose_au)
    if f.recherche.strip():
        mot = f.recherche.strip()
        qs = qs.filter(
            Q(intitule__icontains=mot)
            | Q(numero__icontains=mot)
            | Q(porteur__nom__icontains=mot)
            | Q(porteur__sigle__icontains=mot)
        )
    comptes = {row["statut"]: row["n"] for row in qs.order_by().values("statut").annotate(n=Count("pk"))}
    if f.statut:
        qs = qs.filter(statut=f.statut)
    qs = (
        qs.select_related("campagne", "porteur", "territoire", "instructeur")
        # Only what the queue prints: a demande row holds long texts (description, objectifs, public…).
        .only(*COLONNES_FILE)
        .prefetch_related(
            Prefetch(
                "lignes_financement",
                queryset=LigneFinancement.objects.filter(montant_demande__gt=0)
                .select_related("financeur")
                .only("demande_id", "statut", "montant_demande", "financeur__nom"),
                to_attr="lignes_sollicitees",
            )
        )
        .order_by(*TRIS.get(f.tri, TRIS[TRI_DEFAUT]))
    )
    return qs, comptes


def montants_completer(demandes: list[Demande]) -> list[Demande]:
    """Set `montant_total` on the queue's rows that were not annotated with it, from the lines already prefetched
    (`lignes_sollicitees`: every line asking more than 0, and no line asks less): the same total as the SQL
    annotation, without computing it for every row of the queue before the page is cut."""
    for demande in demandes:
        if not hasattr(demande, "montant_total"):
            demande.montant_total = sum(
                (ligne.montant_demande for ligne in demande.lignes_sollicitees), Decimal("0.00")
            )
    return demandes


def demande_pour_instructeur(user, pk: int) -> Demande:
    """The demande if it is in the instructeur's scope; 404 otherwise (never 'exists but forbidden')."""
    demande = (
        demandes_du_perimetre(user)
        .select_related("campagne", "porteur", "territoire", "instructeur")
        .prefetch_related(
            Prefetch("lignes_financement", queryset=LigneFinancement.objects.select_related("financeur"))
        )
        .filter(pk=pk)
        .first()
    )
    if demande is None:
        raise Http404("Demande introuvable.")
    return demande


def piece_de_demande(demande: Demande, pk: int) -> PieceDemande:
    piece = demande.pieces.select_related("piece", "type").filter(pk=pk).first()
    if piece is None:
        raise Http404("Pièce introuvable.")
    return piece


def instructeurs_possibles(demande: Demande) -> list[User]:
    """Instructeurs who may instruct this demande (a financeur it asks, its territoire): the assignment choices."""
    from subventions.demandes.permissions import est_instructeur_de, financeurs_sollicites

    fids = financeurs_sollicites(demande)
    candidats = (
        User.objects.filter(is_active=True, habilitations__actif=True, habilitations__role=Role.INSTRUCTEUR)
        .filter(Q(habilitations__tous_financeurs=True) | Q(habilitations__financeurs__in=fids))
        .distinct()
        .order_by("last_name", "first_name", "email")
    )
    return [u for u in candidats if est_instructeur_de(demande, u)]


def instructeurs_des_financeurs_de(user) -> QuerySet[User]:
    """Instructeurs sharing a financeur with `user` (the queue's 'assigned to' filter)."""
    p = perimetre(user, ROLES)
    qs = User.objects.filter(is_active=True, habilitations__actif=True, habilitations__role=Role.INSTRUCTEUR)
    if not p.tous_financeurs:
        qs = qs.filter(Q(habilitations__tous_financeurs=True) | Q(habilitations__financeurs__in=p.financeur_ids))
    return qs.distinct().order_by("last_name", "first_name", "email")


Choix = list[tuple[int, str]]


@dataclass
class ChoixFiltres:
    """The options of the queue's filter lists, as (pk, label) pairs in display order."""

    campagnes: Choix
    financeurs: Choix
    piliers: Choix
    objectifs: Choix
    territoires: Choix
    instructeurs: Choix


def choix_filtres(user) -> ChoixFiltres:
    """Everything the queue's filter form lists, as plain values in five queries whatever the data: the campagnes the
    instructeur sees, any financeur of them (the queue is already scoped, so this only narrows it: co-financing),
    the piliers and objectifs of their contrats (one query), the territoires of the perimeter and the instructeurs
    sharing a financeur with the user. Plain pairs rather than querysets: a chosen value is then checked against
    the list already loaded, with no query per criterion."""
    p = perimetre(user, ROLES)
    visibles = scope_queryset(Campagne.objects.all(), user, roles=ROLES, financeur_field="financeurs")
    campagnes = list(
        Campagne.objects.filter(pk__in=visibles.values("pk"))
        .order_by("-exercice", "titre")
        .values_list("pk", "titre", "contrat_id")
    )
    ids = [pk for pk, _titre, _contrat in campagnes]
    contrats = {contrat for _pk, _titre, contrat in campagnes}
    financeurs = list(
        Financeur.objects.filter(
            pk__in=Campagne.financeurs.through.objects.filter(campagne_id__in=ids).values("financeur_id")
        )
        .order_by("nom")
        .values_list("pk", "nom")
    )
    piliers: Choix = []
    objectifs: Choix = []
    # Piliers with their objectifs (a pilier without any still appears once, with None).
    for pilier_id, numero, libelle, objectif_id, code, objectif in (
        Pilier.objects.filter(contrat_id__in=contrats)
        .order_by("numero", "pk", "objectifs__ordre", "objectifs__code")
        .values_list("pk", "numero", "libelle", "objectifs__pk", "objectifs__code", "objectifs__libelle")
    ):
        if not piliers or piliers[-1][0] != pilier_id:
            piliers.append((pilier_id, f"{numero}. {libelle}"))
        if objectif_id is not None:
            objectifs.append((objectif_id, f"{code} — {objectif}"))
    territoires = Territoire.objects.order_by("nom")
    if not p.tous_territoires:
        territoires = territoires.filter(pk__in=p.territoire_ids)
    instructeurs = [
        (pk, f"{prenom} {nom}".strip() or email)
        for pk, prenom, nom, email in instructeurs_des_financeurs_de(user).values_list(
            "pk", "first_name", "last_name", "email"
        )
    ]
    return ChoixFiltres(
        campagnes=[(pk, titre) for pk, titre, _contrat in campagnes],
        financeurs=financeurs,
        piliers=piliers,
        objectifs=objectifs,
        territoires=list(territoires.values_list("pk", "nom")),
        instructeurs=instructeurs,
    )
