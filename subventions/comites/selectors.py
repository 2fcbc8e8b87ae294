"""Reads of the comité: séances scoped by financeur, the ordre du jour, the candidates, the porteur's letters."""

from __future__ import annotations

from django.contrib.contenttypes.models import ContentType
from django.db.models import OuterRef, Prefetch, Q, QuerySet, Subquery
from django.http import Http404

from associations.models import Porteur
from subventions.campagnes.models import Campagne
from subventions.comites.models import LettreDecision, PointOrdreDuJour, Seance
from subventions.comptes.enums import Role
from subventions.comptes.scopes import scope_queryset
from subventions.demandes.enums import StatutDemande, StatutLigne
from subventions.demandes.models import Demande, LigneFinancement
from subventions.referentiel.models import Objectif
from workflows.models import Document

ROLES_LECTURE = (Role.COMITE, Role.CONSEIL_CITOYEN)
# The demande fields a point of the ordre du jour prints (templates/comites/seance.html): a demande row holds long
# texts (description, objectifs, public…) that the agenda never shows; the state field stays loaded for django-fsm.
COLONNES_POINT = (
    "seance_id",
    "demande_id",
    "ordre",
    "seance_ouverte",
    "ajoute_par_id",
    "ajoute_le",
    "demande__numero",
    "demande__intitule",
    "demande__statut",
    "demande__campagne_id",
    "demande__porteur__nom",
    "demande__territoire__nom",
)
COLONNES_LIGNE = (
    "demande_id",
    "montant_demande",
    "statut",
    "avis",
    "montant_propose",
    "montant_accorde",
    "decide_le",
    "version",
    "financeur__nom",
)


def seances_visibles(user, *, campagne: Campagne | None = None, roles=ROLES_LECTURE) -> QuerySet[Seance]:
    """Séances deciding for at least one financeur of the user's comité or conseil citoyen perimeter."""
    qs = scope_queryset(Seance.objects.all(), user, roles=roles, financeur_field="financeurs")
    if campagne is not None:
        qs = qs.filter(campagne=campagne)
    return qs.select_related("campagne__contrat").prefetch_related("financeurs").order_by("-date", "-pk")


def seance_visible(user, pk: int, *, roles=ROLES_LECTURE) -> Seance:
    """The séance, or 404 when it does not exist or is outside the user's perimeter (same answer)."""
    seance = seances_visibles(user, roles=roles).filter(pk=pk).first()
    if seance is None:
        raise Http404("Séance introuvable.")
    return seance


def _lignes(chemin: str = "demande__lignes_financement"):
    return Prefetch(
        chemin,
        queryset=LigneFinancement.objects.filter(montant_demande__gt=0)
        .select_related("financeur")
        # What the agenda and the candidates print and decide on (not the avis' motivation), in the lines' default
        # order within a demande (by financeur) without joining the demande for it.
        .only(*COLONNES_LIGNE)
        .order_by("demande_id", "financeur__nom"),
        to_attr="lignes_sollicitees",
    )


def _objectifs(chemin: str = "objectifs"):
    # Objectifs with their pilier in one query (the main pilier of each demande is computed from them).
    return Prefetch(
        chemin, queryset=Objectif.objects.select_related("pilier").only("pilier__numero", "pilier__libelle")
    )


def ordre_du_jour(
    seance: Seance, *, financeur: int | None = None, pilier: int | None = None
) -> QuerySet[PointOrdreDuJour]:
    """The points in agenda order, with everything the séance page prints for each (lines asked with their
    financeur, the main pilier's label): two queries per page of points, whatever its size. `financeur`: the
    points asking that financeur; `pilier`: the points with an objectif of that pilier (as the candidates' filter)."""
    qs = seance.points.all()
    if financeur:
        qs = qs.filter(
            demande_id__in=LigneFinancement.objects.filter(financeur_id=financeur, montant_demande__gt=0).values(
                "demande_id"
            )
        )
    if pilier:
        qs = qs.filter(
            demande_id__in=Demande.objectifs.through.objects.filter(objectif__pilier_id=pilier).values("demande_id")
        )
    # The main pilier's label (services.pilier_de: that of the first objectif by pilier number) as a subquery that
    # PostgreSQL runs for the page's points only, instead of prefetching and instantiating every objectif.
    pilier_principal = (
        Demande.objectifs.through.objects.filter(demande_id=OuterRef("demande_id"))
        .order_by("objectif__pilier__numero", "objectif__pilier_id", "objectif_id")
        .values("objectif__pilier__libelle")[:1]
    )
    return (
        qs.select_related("demande__porteur", "demande__territoire")
        .only(*COLONNES_POINT)
        .annotate(pilier_libelle=Subquery(pilier_principal))
        .prefetch_related(_lignes())
        .order_by("ordre", "pk")
    )


def candidats(seance: Seance, *, financeur=None, pilier=None, territoire=None, avis=None) -> QuerySet[Demande]:
    """Instruite demandes of the séance's campagne that ask one of its financeurs, filtered as the page asks."""
    financeurs = [f.pk for f in seance.financeurs.all()]
    lignes = LigneFinancement.objects.filter(
        montant_demande__gt=0,
        financeur__in=financeurs,
        statut__in=[StatutLigne.AVIS_DONNE, StatutLigne.AJOURNEE],
    )
    if financeur:
        lignes = lignes.filter(financeur_id=financeur)
    if avis:
        lignes = lignes.filter(avis=avis)
    qs = Demande.objects.filter(
        campagne_id=seance.campagne_id, statut=StatutDemande.INSTRUITE, pk__in=lignes.values("demande_id")
    )
    if pilier:
        qs = qs.filter(pk__in=Demande.objects.filter(objectifs__pilier_id=pilier).values("pk"))
    if territoire:
        qs = qs.filter(Q(territoire_id=territoire) | Q(qpvs__territoires=territoire)).distinct()
    return (
        qs.select_related("porteur", "territoire")
        .prefetch_related(_lignes("lignes_financement"), _objectifs())
        .order_by("numero")
    )


def lettres_du_porteur(porteur: Porteur) -> QuerySet[Document]:
    """The porteur's decision letters (newest séance first); each Document row has `lettre_decision.seance`."""
    return (
        Document.objects.filter(
            content_type=ContentType.objects.get_for_model(LettreDecision),
            lettre_decision__porteur=porteur,
        )
        .select_related("lettre_decision__seance__campagne")
        .order_by("-lettre_decision__seance__date", "-pk")
    )


def lettre_pour_membre(user, pk: int) -> LettreDecision:
    """A letter for a member of its porteur, else 404 (whether it exists or not)."""
    if not getattr(user, "is_authenticated", False):
        raise Http404
    lettre = (
        LettreDecision.objects.select_related("document", "porteur")
        .filter(pk=pk, porteur__membres__user=user, document__isnull=False)
        .first()
    )
    if lettre is None:
        raise Http404("Lettre introuvable.")
    return lettre
