"""Pilotage pages: the dashboard of a campagne (figures, charts, tables with their CSV and XLSX files), the SCDL
download, and the import of past subsidies for administrateurs. Every page reads through the scoped selectors."""

from __future__ import annotations

import gc
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _

from subventions.comptes.access import agent_requis
from subventions.comptes.scopes import a_role, perimetre
from subventions.parametres import entier_positif
from subventions.pilotage import exports, scdl, selectors, tableaux
from subventions.pilotage.forms import ImportForm
from subventions.pilotage.graphiques import Serie, barres
from subventions.pilotage.lecture import FichierIlisible
from subventions.pilotage.selectors import ROLES_IMPORT, ROLES_PILOTAGE, Nombre, Taux
from subventions.pilotage.services import subventions_importer
from subventions.pilotage.tableaux import Tableau, afficher

LIMITE_PAGE = 25  # rows of the long tables shown on the page (the files have them all)

_gc_pauses = 0
_gc_verrou = threading.Lock()
_gc_etait_actif = True


@contextmanager
def _gc_en_pause() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while the figures are computed. At national scale they create some
    10^5 rows, lists and dicts, none of them in a reference cycle (reference counting frees them), and the
    collector's passes over them cost a third of the page's CPU (1.28 s → 0.87 s, 25 000 actions). The threads of
    a process share the collector: the first one in pauses it, the last one out turns it back on."""
    global _gc_pauses, _gc_etait_actif
    with _gc_verrou:
        if _gc_pauses == 0:
            _gc_etait_actif = gc.isenabled()
            gc.disable()
        _gc_pauses += 1
    try:
        yield
    finally:
        with _gc_verrou:
            _gc_pauses -= 1
            if _gc_pauses == 0 and _gc_etait_actif:
                gc.enable()


def _selection(request: HttpRequest) -> dict:
    """The campagne and filters of the query string, checked against the user's perimeter (404 otherwise)."""
    campagnes = selectors.campagnes_du_tableau(request.user)
    demandee = entier_positif(request.GET.get("campagne"))
    if not campagnes:
        if demandee is not None:
            raise Http404("Campagne introuvable.")
        return {"campagnes": []}
    if demandee is not None:
        campagne = next((c for c in campagnes if c.pk == demandee), None)
        if campagne is None:
            raise Http404("Campagne introuvable.")
    else:
        # The most recent campagne with deposits, the programme's own before imported history.
        campagne = next(
            (c for c in campagnes if c.a_des_depots and not c.est_historique),
            next((c for c in campagnes if c.a_des_depots), campagnes[0]),
        )
    financeur = entier_positif(request.GET.get("financeur"))
    territoire = entier_positif(request.GET.get("territoire"))
    pilier = entier_positif(request.GET.get("pilier"))
    portee = selectors.portee_de(
        request.user, campagne=campagne, financeur=financeur, territoire=territoire, pilier=pilier
    )
    du_perimetre = selectors.financeurs_du_tableau(request.user, campagne)
    financeurs = [f for f in du_perimetre if f.dans_campagne]
    if financeur is not None and financeur not in {f.pk for f in financeurs}:
        raise Http404("Financeur introuvable.")
    return {
        "campagnes": campagnes,
        "campagne": campagne,
        "portee": portee,
        "financeurs": financeurs,
        "financeurs_perimetre": du_perimetre,
        "filtres": {"financeur": financeur, "territoire": territoire, "pilier": pilier},
    }


def _requete(selection: dict) -> str:
    """The query string of the current selection, for the download links."""
    valeurs = {"campagne": selection["campagne"].pk, **selection["filtres"]}
    return "&".join(f"{cle}={valeur}" for cle, valeur in valeurs.items() if valeur is not None)


def _bloc(tableau: Tableau, limite: int | None = None) -> dict:
    """What the table partial prints: each cell as (text, is a number), at most `limite` rows."""
    numeriques = tableau.numeriques()
    lignes = tableau.affichage(limite)
    total = tableau.total_affiche()
    return {
        "tableau": tableau,
        "colonnes": list(zip(tableau.colonnes, numeriques, strict=True)),
        "lignes": [list(zip(ligne, numeriques, strict=True)) for ligne in lignes],
        "total": list(zip(total, numeriques, strict=True)) if total else None,
        "tronque": limite is not None and len(tableau.lignes) > limite,
        "nb": len(tableau.lignes),
    }


def _graphiques(tables: dict[str, Tableau]) -> dict:
    demande = Serie("demande", _("Demandé"))
    propose = Serie("propose", _("Proposé"))
    accorde = Serie("accorde", _("Accordé"))
    paye = Serie("paye", _("Payé"))

    def montants(tableau: Tableau, colonnes: list[int]):
        return [(ligne[0], [ligne[i] for i in colonnes]) for ligne in tableau.lignes]

    return {
        "entonnoir": barres(
            id="graphique-entonnoir",
            titre=_("Du dépôt au paiement (montants)"),
            categories=[(f"{ligne[0]} : {afficher(ligne[1])}", [ligne[2]]) for ligne in tables["entonnoir"].lignes],
            series=[Serie("accorde", _("Montant"))],
            formater=afficher,
            tableau="tableau-entonnoir",
            centre=True,
        ),
        "piliers": barres(
            id="graphique-piliers",
            titre=_("Demandé, accordé et payé par pilier"),
            categories=montants(tables["piliers"], [3, 5, 6]),
            series=[demande, accorde, paye],
            formater=afficher,
            tableau="tableau-piliers",
        ),
        "territoires": barres(
            id="graphique-territoires",
            titre=_("Demandé, accordé et payé par territoire"),
            categories=montants(tables["territoires"], [3, 5, 6]),
            series=[demande, accorde, paye],
            formater=afficher,
            tableau="tableau-territoires",
        ),
        "financeurs": barres(
            id="graphique-financeurs",
            titre=_("Demandé, proposé, accordé et payé par financeur"),
            categories=montants(tables["financeurs"], [3, 4, 5, 6]),
            series=[demande, propose, accorde, paye],
            formater=afficher,
            tableau="tableau-financeurs",
        ),
        "actions_par_convention": barres(
            id="graphique-actions-par-convention",
            titre=_("Conventions selon leur nombre d'actions"),
            categories=[(ligne[0], [ligne[1]]) for ligne in tables["actions_par_convention"].lignes],
            series=[Serie("nombre", _("Conventions"))],
            formater=afficher,
            tableau="tableau-actions_par_convention",
        ),
    }


@agent_requis(*ROLES_PILOTAGE)
def tableau_de_bord(request: HttpRequest) -> HttpResponse:
    selection = _selection(request)
    if not selection["campagnes"]:
        return render(request, "pilotage/tableau_de_bord.html", {"campagne": None})
    portee = selection["portee"]
    with _gc_en_pause():
        return _tableau_de_bord(request, selection, portee)


def _tableau_de_bord(request: HttpRequest, selection: dict, portee: selectors.Portee) -> HttpResponse:
    faits = selectors.faits_charger(portee, dimensions=True)
    en_retard = selectors.comptes_rendus_en_retard(portee)
    tables = tableaux.tous(faits, en_retard=en_retard)
    chiffres = selectors.chiffres(faits)
    return render(
        request,
        "pilotage/tableau_de_bord.html",
        {
            **selection,
            "requete": _requete(selection),
            "chiffres": chiffres,
            "taux_affiche": afficher(Taux(chiffres["taux_validation"])),
            "moyenne_affichee": afficher(Nombre(chiffres["actions_par_convention"])),
            "tables": {
                cle: _bloc(t, LIMITE_PAGE if cle in ("porteurs", "qpv") else None) for cle, t in tables.items()
            },
            "limite": LIMITE_PAGE,
            "graphiques": _graphiques(tables),
            # The territoires' names were loaded with the facts: the filter lists those of the perimeter.
            "territoires": [
                {"pk": pk, "nom": nom}
                for pk, nom in faits.libelles["territoire"].items()
                if portee.territoire_ids is None or pk in portee.territoire_ids
            ],
            # Loaded with the facts too, with the piliers that have no objectif.
            "piliers": [{"pk": pk, "nom": nom} for pk, nom in faits.libelles["pilier"].items()],
            "financeurs_scdl": selection["financeurs_perimetre"],
            "en_retard": en_retard,
            "peut_importer": a_role(request.user, *ROLES_IMPORT),
        },
    )


@agent_requis(*ROLES_PILOTAGE)
def tableau_export(request: HttpRequest, nom: str, format: str) -> HttpResponse:
    if nom not in tableaux.TABLEAUX or format not in exports.TYPES_MIME:
        raise Http404("Tableau introuvable.")
    selection = _selection(request)
    if not selection["campagnes"]:
        raise Http404("Aucune campagne.")
    portee = selection["portee"]
    with _gc_en_pause():
        faits = selectors.faits_charger(portee, dimensions=nom not in ("synthese", "entonnoir", "comites"))
        if nom == "synthese":
            tableau = tableaux.synthese(faits, en_retard=selectors.comptes_rendus_en_retard(portee))
        else:
            tableau = tableaux.TABLEAUX[nom](faits)
        contenu = exports.csv_tableau(tableau) if format == "csv" else exports.xlsx_tableau(tableau)
    reponse = HttpResponse(contenu, content_type=exports.TYPES_MIME[format])
    nom_fichier = f"pilotage-{selection['campagne'].exercice}-{nom}.{format}"
    reponse["Content-Disposition"] = f'attachment; filename="{nom_fichier}"'
    reponse["X-Content-Type-Options"] = "nosniff"
    reponse["Cache-Control"] = "private, no-store"
    return reponse


@agent_requis(*ROLES_PILOTAGE)
def scdl_telecharger(request: HttpRequest) -> HttpResponse:
    """The SCDL file of a financeur of the perimeter for a year, streamed (memory stays bounded)."""
    financeur_pk, annee = entier_positif(request.GET.get("financeur")), entier_positif(request.GET.get("annee"))
    if financeur_pk is None or annee is None or not 2000 <= annee <= 2100:
        messages.error(request, _("Choisissez un financeur et une année (par exemple 2015)."))
        return redirect("pilotage:tableau_de_bord")
    financeur = selectors.financeur_pilotage(request.user, financeur_pk)
    try:
        scdl.verifier_financeur(financeur)
    except scdl.ExportScdlImpossible as exc:
        messages.error(request, str(exc))
        return redirect("pilotage:tableau_de_bord")
    actes = scdl.actes_scdl(financeur=financeur, annee=annee)
    reponse = StreamingHttpResponse(
        (morceau.encode("utf-8") for morceau in scdl.csv_scdl(scdl.lignes_scdl(actes))),
        content_type="text/csv; charset=utf-8",
    )
    reponse["Content-Disposition"] = f'attachment; filename="{scdl.nom_fichier(financeur, annee)}"'
    reponse["X-Content-Type-Options"] = "nosniff"
    # Documents left out because their porteur has no SIRET (the command prints them; `export_scdl` names them).
    reponse["X-SCDL-Lignes-Ecartees"] = str(len(scdl.ecartes(financeur=financeur, annee=annee)))
    return reponse


def _formulaire_import(request: HttpRequest, data=None, files=None) -> ImportForm:
    p = perimetre(request.user, ROLES_IMPORT)
    return ImportForm(
        data,
        files,
        financeurs=selectors.financeurs_pilotage(request.user, roles=ROLES_IMPORT),
        tous_financeurs=p.tous_financeurs,
    )


@agent_requis(*ROLES_IMPORT)
def imports(request: HttpRequest) -> HttpResponse:
    """GET: the upload form and the last imports. POST: the import (or its simulation, whose report is shown here)."""
    rapport = None
    if request.method == "POST":
        form = _formulaire_import(request, request.POST, request.FILES)
        if form.is_valid():
            fichier = form.cleaned_data["fichier"]
            try:
                rapport = subventions_importer(
                    contenu=fichier.read(),
                    nom_fichier=fichier.name,
                    financeur=form.cleaned_data["financeur"],
                    acteur=request.user,
                    simulation=form.cleaned_data["simulation"],
                    annee=form.cleaned_data["annee"],
                )
            except FichierIlisible as exc:
                messages.error(request, _("%(fichier)s : %(raison)s Rien n'a été importé.")
                               % {"fichier": fichier.name, "raison": exc})  # fmt: skip
            else:
                if not rapport.simulation:
                    messages.success(
                        request,
                        _("Import terminé : %(n)s ligne(s) importée(s), %(r)s rejetée(s).")
                        % {"n": rapport.lignes_importees, "r": rapport.lignes_rejetees},
                    )
                    return redirect("pilotage:import_detail", pk=rapport.import_id)
    else:
        form = _formulaire_import(request)
    return render(
        request,
        "pilotage/imports.html",
        {
            "form": form,
            "rapport": rapport.en_dict() if rapport else None,
            "imports": list(selectors.imports_visibles(request.user)[:20]),
        },
    )


@agent_requis(*ROLES_IMPORT)
def import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    objet = selectors.import_visible(request.user, pk)
    return render(request, "pilotage/import_detail.html", {"objet": objet, "rapport": objet.rapport})


def _tableau_rapport(rapport: dict) -> Tableau:
    lignes = [[r["ligne"], _("rejetée"), r["motif"]] for r in rapport.get("rejets", [])]
    lignes += [[a["ligne"], _("avertissement"), a["message"]] for a in rapport.get("avertissements", [])]
    return Tableau(
        "rapport", _("Rapport d'import"), [_("Ligne"), _("Nature"), _("Message")], sorted(lignes, key=lambda r: r[0])
    )


@agent_requis(*ROLES_IMPORT)
def import_rapport(request: HttpRequest, pk: int, format: str) -> HttpResponse:
    """The report of an import: JSON as written by `--report`, or its rows as CSV / XLSX."""
    objet = selectors.import_visible(request.user, pk)
    if format == "json":
        contenu = json.dumps(objet.rapport, ensure_ascii=False, indent=2).encode("utf-8")
        type_mime = "application/json"
    elif format in exports.TYPES_MIME:
        tableau = _tableau_rapport(objet.rapport)
        contenu = exports.csv_tableau(tableau) if format == "csv" else exports.xlsx_tableau(tableau)
        type_mime = exports.TYPES_MIME[format]
    else:
        raise Http404("Format inconnu.")
    reponse = HttpResponse(contenu, content_type=type_mime)
    reponse["Content-Disposition"] = f'attachment; filename="import-{objet.pk}-rapport.{format}"'
    reponse["X-Content-Type-Options"] = "nosniff"
    return reponse
