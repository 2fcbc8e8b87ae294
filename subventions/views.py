"""Home page and the spaces each user lands in."""

from __future__ import annotations

import operator
from functools import reduce

from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone

from associations.selectors import ROLES_EDITION, adhesions_de
from subventions.campagnes.models import Campagne
from subventions.campagnes.selectors import campagnes_ouvertes, campagnes_visibles, enveloppes_visibles
from subventions.comites.selectors import lettres_du_porteur
from subventions.comptes.access import agent_requis
from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre, scope_queryset
from subventions.context_processors import espaces_de
from subventions.demandes.selectors import demandes_des_porteurs_de
from subventions.demandes.views import demandes_annotees, url_ou_rien
from subventions.referentiel.models import QPV, ContratDeVille, Financeur, Territoire

ROLES_CAMPAGNE = tuple(Role)


def accueil(request):
    if not request.user.is_authenticated:
        return render(request, "accueil.html", {"campagnes": campagnes_ouvertes()})
    espaces = espaces_de(request.user)
    if len(espaces) == 1:
        return redirect(espaces[0][1])
    return render(request, "accueil.html", {"campagnes": campagnes_ouvertes()})


@login_required
def espace_association(request):
    """The porteur's home: for each structure of the user, every demande with its status in plain French, what is
    expected and by when, the récépissés; the open campagnes with "Nouvelle demande"."""
    membres = list(adhesions_de(request.user))
    demandes = demandes_annotees(list(demandes_des_porteurs_de(request.user)))
    par_porteur: dict[int, list] = {}
    for demande in demandes:
        par_porteur.setdefault(demande.porteur_id, []).append(demande)
    structures = [
        {
            "porteur": m.porteur,
            "role": m.get_role_display(),
            "peut_creer": m.role in ROLES_EDITION,
            "demandes": par_porteur.get(m.porteur_id, []),
        }
        for m in membres
    ]
    # The decision letters of every structure of the user, in one query (comités sits below this package).
    lettres = (
        list(
            reduce(operator.or_, (lettres_du_porteur(m.porteur) for m in membres)).select_related(
                "lettre_decision__porteur"
            )
        )
        if membres
        else []
    )
    return render(
        request,
        "espaces/association.html",
        {
            "structures": structures,
            "lettres": lettres,
            "plusieurs_structures": len(membres) > 1,
            "peut_creer": any(s["peut_creer"] for s in structures),
            "campagnes": campagnes_ouvertes().order_by("cloture", "titre"),
            "url_mes_structures": url_ou_rien("associations:mes_structures"),
            "url_porteur_creer": url_ou_rien("associations:porteur_creer"),
        },
    )


def _financeurs_du_perimetre(user, roles):
    return scope_queryset(Financeur.objects.all(), user, roles=roles, financeur_field="pk").order_by("nom")


@agent_requis(Role.INSTRUCTEUR)
def espace_instruction(request):
    roles = (Role.INSTRUCTEUR,)
    p = perimetre(request.user, roles)
    territoires = Territoire.objects.annotate(nb_qpv=Count("qpvs")).order_by("nom")
    if not p.tous_territoires:
        territoires = territoires.filter(pk__in=p.territoire_ids)
    return render(
        request,
        "espaces/instruction.html",
        {
            "financeurs": _financeurs_du_perimetre(request.user, roles),
            "territoires": territoires,
            "campagnes": campagnes_visibles(request.user, roles=roles),
        },
    )


@agent_requis(Role.COMITE, Role.CONSEIL_CITOYEN)
def espace_comite(request):
    roles = (Role.COMITE, Role.CONSEIL_CITOYEN)
    return render(
        request,
        "espaces/comite.html",
        {
            "financeurs": _financeurs_du_perimetre(request.user, roles),
            "campagnes": campagnes_visibles(request.user, roles=roles),
            "lecture_seule": Role.COMITE not in request.user.roles and not request.user.is_superuser,
        },
    )


@agent_requis(Role.SIGNATAIRE)
def espace_signature(request):
    roles = (Role.SIGNATAIRE,)
    return render(
        request,
        "espaces/signature.html",
        {"financeurs": _financeurs_du_perimetre(request.user, roles)},
    )


@agent_requis(Role.FINANCE)
def espace_finance(request):
    roles = (Role.FINANCE,)
    return render(
        request,
        "espaces/finance.html",
        {
            "financeurs": _financeurs_du_perimetre(request.user, roles),
            "enveloppes": enveloppes_visibles(request.user, roles=roles),
        },
    )


@agent_requis(Role.ADMINISTRATEUR)
def espace_administration(request):
    compteurs = {
        "financeurs": Financeur.objects.count(),
        "contrats": ContratDeVille.objects.count(),
        "qpv": QPV.objects.count(),
        "territoires": Territoire.objects.count(),
        "campagnes": Campagne.objects.count(),
    }
    return render(
        request,
        "espaces/administration.html",
        {"compteurs": compteurs, "campagnes": campagnes_visibles(request.user, roles=(Role.ADMINISTRATEUR,))},
    )


@login_required
def campagne_detail(request, pk: int):
    """A campagne's public page: any signed-in user once it has opened; staff of its financeurs at any time."""
    campagne = campagnes_visibles(request.user, roles=ROLES_CAMPAGNE).filter(pk=pk).first()
    if campagne is None:
        campagne = (
            Campagne.objects.filter(pk=pk, ouverture__lte=timezone.now())
            .select_related("contrat")
            .prefetch_related("financeurs")
            .first()
        )
    if campagne is None:
        raise Http404("Campagne introuvable.")
    objectifs = campagne.objectifs.select_related("pilier").order_by("pilier__numero", "ordre", "code")
    return render(
        request,
        "campagnes/detail.html",
        {"campagne": campagne, "objectifs": objectifs, "pieces": campagne.pieces_requises.all()},
    )
