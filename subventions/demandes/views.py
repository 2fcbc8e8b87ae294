"""Pages of the online request for the porteur's members: new request, step-by-step form, deposit, follow-up.

Every view loads the demande through `selectors.demande_pour_membre` (404 for a non-member) and checks the member's
role before a write (403 for a lecteur; only a représentant légal deposits). Writes happen on the locked row.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, push_url

from associations.enums import RoleMembre
from associations.models import Membre, Porteur
from associations.selectors import membre_de, porteurs_de
from subventions.campagnes.selectors import campagnes_ouvertes
from subventions.demandes import services_instruction
from subventions.demandes.enums import ATTENTE_PORTEUR, COMPTES_CHARGES, COMPTES_PRODUITS, StatutDemande
from subventions.demandes.etapes import LIBELLES_ETAPES, NOMS_ETAPES, demande_manques
from subventions.demandes.forms import (
    ETAPES_FORMULAIRES,
    BudgetForm,
    DeclarationForm,
    NouvelleDemandeForm,
    RenouvelerForm,
)
from subventions.demandes.forms_instruction import TexteForm
from subventions.demandes.models import Demande
from subventions.demandes.selectors import demande_pour_membre, demandes_des_porteurs_de
from subventions.demandes.services import (
    ROLES_EDITION,
    DepotRefuse,
    demande_creer,
    demande_deposer,
    demande_redeposer,
    demande_renouveler,
    identification_porteur,
    recepisse_assurer,
)
from workflows.documents import document_courant
from workflows.telechargements import fichier_prive
from workflows.transitions import TransitionRefusee, historique_libelle

# --- Helpers shared by the pages (and by the porteur's home, subventions.views.espace_association).


def url_ou_rien(nom: str, *args, **kwargs) -> str | None:
    """The URL, or None while the page is not built yet (another part of the portal)."""
    try:
        return reverse(nom, args=args or None, kwargs=kwargs or None)
    except NoReverseMatch:
        return None


def url_etape(demande: Demande, etape: str) -> str:
    return reverse("demandes:etape", kwargs={"pk": demande.pk, "etape": etape})


def demandes_annotees(demandes: list[Demande]) -> list[Demande]:
    """Adds what a list shows to each demande, at a constant query cost: label, expectation, amount asked,
    récépissé available. Expects `lignes_financement` prefetched (selectors.demandes_des_porteurs_de).

    A numbered demande has a récépissé: the task queue renders it just after the deposit, and the download renders
    it if the queue has not yet (`recepisse_assurer`)."""
    for demande in demandes:
        demande.attente = ATTENTE_PORTEUR.get(demande.statut, "")
        demande.montant_demande_total = sum(lf.montant_demande for lf in demande.lignes_financement.all())
        demande.a_recepisse = bool(demande.numero)
        demande.a_deposer_avant = demande.campagne.cloture if demande.statut == StatutDemande.BROUILLON else None
    return demandes


def _charger(request: HttpRequest, pk: int) -> tuple[Demande, Membre]:
    demande = demande_pour_membre(request.user, pk)
    return demande, membre_de(request.user, demande.porteur_id)


def _verifier_edition(membre: Membre) -> None:
    if membre.role not in ROLES_EDITION:
        raise PermissionDenied(_("Votre rôle dans cette structure (lecteur) permet de consulter, pas de modifier."))


def _rediriger(request: HttpRequest, url: str) -> HttpResponse:
    if request.htmx:
        return HttpResponseClientRedirect(url)
    return redirect(url)


def _representants(demande: Demande) -> list[Membre]:
    return list(
        demande.porteur.membres.filter(role=RoleMembre.REPRESENTANT_LEGAL).select_related("user").order_by("pk")
    )


def _identification(demande: Demande) -> list[tuple[str, object]]:
    """(label, value) of the porteur's identification: the snapshot once deposited, the live porteur before."""
    donnees = demande.identification or identification_porteur(demande.porteur)
    lignes = []
    for champ, valeur in donnees.items():
        try:
            champ_modele = Porteur._meta.get_field(champ)
        except FieldDoesNotExist:  # a key of an older snapshot
            lignes.append((champ, valeur))
            continue
        libelle = champ_modele.verbose_name
        if champ_modele.choices:
            valeur = dict(champ_modele.flatchoices).get(valeur, valeur)
        elif isinstance(valeur, bool):
            valeur = _("oui") if valeur else _("non")
        lignes.append((libelle, valeur))
    return lignes


def _recapitulatif(demande: Demande) -> dict:
    lignes = {ligne.compte: ligne for ligne in demande.lignes_budget.all()}
    return {
        "identification": _identification(demande),
        "qpvs": list(demande.qpvs.order_by("code")),
        "objectifs": list(demande.objectifs.select_related("pilier").order_by("pilier__numero", "ordre", "code")),
        "indicateurs": list(demande.indicateurs.all()),
        "budget_charges": [(libelle, lignes[code]) for code, libelle in COMPTES_CHARGES if code in lignes],
        "budget_produits": [(libelle, lignes[code]) for code, libelle in COMPTES_PRODUITS if code in lignes],
        "financements": list(demande.lignes_financement.select_related("financeur").order_by("financeur__nom")),
        "totaux": demande.totaux(),
        "pieces": list(demande.pieces.select_related("piece", "type").order_by("type__ordre")),
    }


# --- The list of the user's demandes.


@login_required
def liste(request: HttpRequest) -> HttpResponse:
    demandes = demandes_annotees(list(demandes_des_porteurs_de(request.user)))
    return render(request, "demandes/liste.html", {"demandes": demandes})


# --- Nouvelle demande.


@login_required
@require_http_methods(["GET", "POST"])
def nouvelle(request: HttpRequest, campagne_pk: int) -> HttpResponse:
    campagne = get_object_or_404(campagnes_ouvertes(), pk=campagne_pk)
    porteurs = list(porteurs_de(request.user).filter(membres__user=request.user, membres__role__in=ROLES_EDITION))
    contexte = {"campagne": campagne, "porteur_creer": url_ou_rien("associations:porteur_creer")}
    if not porteurs:
        if request.method == "POST":
            raise PermissionDenied(_("Seuls les représentants légaux et gestionnaires peuvent préparer une demande."))
        contexte["membre_quelque_part"] = porteurs_de(request.user).exists()
        return render(request, "demandes/nouvelle.html", contexte)
    queryset = Porteur.objects.filter(pk__in=[p.pk for p in porteurs]).order_by("nom")
    if request.method == "POST":
        form = NouvelleDemandeForm(request.POST, porteurs=queryset)
        if form.is_valid():
            porteur, intitule = form.cleaned_data["porteur"], form.cleaned_data["intitule"]
            # A double click on "Créer" gives the same brouillon, not two.
            recente = Demande.objects.filter(
                porteur=porteur,
                campagne=campagne,
                intitule=intitule,
                cree_par=request.user,
                statut=StatutDemande.BROUILLON,
                cree_le__gte=timezone.now() - timedelta(minutes=1),
            ).first()
            try:
                demande = recente or demande_creer(
                    porteur=porteur, campagne=campagne, user=request.user, intitule=intitule
                )
            except DepotRefuse as exc:
                form.add_error(None, str(exc))
            else:
                messages.success(request, _("La demande est créée. Complétez-la étape par étape."))
                return redirect(url_etape(demande, NOMS_ETAPES[0]))
    else:
        initial = {}
        choisi = request.GET.get("porteur", "")
        if choisi.isdigit() and any(p.pk == int(choisi) for p in porteurs):
            initial["porteur"] = int(choisi)
        form = NouvelleDemandeForm(initial=initial, porteurs=queryset)
    contexte["form"] = form
    return render(request, "demandes/nouvelle.html", contexte)


# --- The step-by-step form.


def _etapes_sidebar(demande: Demande, courante: str, manques) -> list[dict]:
    incompletes = {m.etape for m in manques}
    return [
        {
            "nom": nom,
            "numero": i,
            "libelle": LIBELLES_ETAPES[nom],
            "url": url_etape(demande, nom),
            "complete": nom not in incompletes if nom != "depot" else demande.statut != StatutDemande.BROUILLON,
            "courante": nom == courante,
        }
        for i, nom in enumerate(NOMS_ETAPES, start=1)
    ]


def _afficher(
    request: HttpRequest,
    demande: Demande,
    membre: Membre,
    etape: str,
    *,
    form=None,
    form_declaration=None,
    confirmation: str = "",
    ligne_vide: bool = False,
    erreur_depot: str = "",
    manques_depot=None,
) -> HttpResponse:
    peut_modifier = membre.role in ROLES_EDITION
    manques = demande_manques(demande)
    index = NOMS_ETAPES.index(etape)
    contexte = {
        "demande": demande,
        "membre": membre,
        "peut_modifier": peut_modifier,
        "etape": etape,
        "numero_etape": index + 1,
        "libelle_etape": LIBELLES_ETAPES[etape],
        "etapes": _etapes_sidebar(demande, etape, manques),
        "url_etape": url_etape(demande, etape),
        "etape_precedente": url_etape(demande, NOMS_ETAPES[index - 1]) if index else None,
        "gabarit_etape": f"demandes/etapes/{etape}.html",
        "confirmation": confirmation,
        "campagne_close": not demande.campagne.est_ouverte,
    }
    if etape == "depot":
        est_representant = membre.role == RoleMembre.REPRESENTANT_LEGAL
        if form_declaration is None and est_representant:
            form_declaration = DeclarationForm(
                initial={"nom": request.user.get_full_name(), "qualite": demande.porteur.representant_qualite}
            )
        contexte.update(
            _recapitulatif(demande),
            manques=[(m, url_etape(demande, m.etape)) for m in manques],
            form=form_declaration,
            est_representant=est_representant,
            representants=_representants(demande),
            erreur_depot=erreur_depot,
            manques_depot=[(m, url_etape(demande, m.etape)) for m in (manques_depot or [])],
        )
    else:
        if form is None:
            options = {"ligne_vide": True} if etape == "objectifs" and ligne_vide else {}
            form = ETAPES_FORMULAIRES[etape](demande=demande, **options)
            if not peut_modifier:
                form.lecture_seule()
        contexte["form"] = form
        if etape == "budget":
            contexte["totaux"] = form.totaux()
        if etape == "pieces":
            coffre = url_ou_rien("associations:coffre", demande.porteur_id)
            contexte["url_coffre"] = (
                f"{coffre}?{urlencode({'next': url_etape(demande, 'pieces')})}" if coffre else None
            )
    # htmx swaps the step area; a history restore (back button, cache miss) needs the whole page.
    partiel = request.htmx and not request.htmx.history_restore_request
    reponse = render(request, "demandes/_etape.html" if partiel else "demandes/etape.html", contexte)
    patch_vary_headers(reponse, ("HX-Request",))
    return reponse


def _refuser_si_deposee(request: HttpRequest, demande: Demande, etape: str) -> HttpResponse:
    url = reverse("demandes:detail", kwargs={"pk": demande.pk})
    if request.method == "POST" and etape == "depot":
        # A replayed or double-clicked deposit: the file is already in, show it.
        messages.info(
            request, _("Cette demande a déjà été déposée (dossier n° %(numero)s).") % {"numero": demande.numero}
        )
    elif request.method == "POST":
        messages.error(
            request,
            _("Cette demande a été déposée : elle ne peut plus être modifiée, sauf si le service instructeur vous "
              "demande des compléments. Vos modifications n'ont pas été enregistrées."),
        )  # fmt: skip
    else:
        messages.info(request, _("Cette demande a été déposée : elle se consulte ici en lecture seule."))
    return _rediriger(request, url)


@login_required
@require_http_methods(["GET", "POST"])
def etape(request: HttpRequest, pk: int, etape: str) -> HttpResponse:
    if etape not in NOMS_ETAPES:
        raise Http404("Étape inconnue.")
    demande, membre = _charger(request, pk)
    if request.method == "POST":
        _verifier_edition(membre)
    if not demande.modifiable_par_porteur:
        return _refuser_si_deposee(request, demande, etape)
    if request.method == "GET":
        return _afficher(request, demande, membre, etape, ligne_vide=request.GET.get("ligne") == "nouvelle")
    if etape == "depot":
        return _deposer(request, demande, membre)
    return _enregistrer(request, demande, membre, etape)


def _enregistrer(request: HttpRequest, demande: Demande, membre: Membre, etape: str) -> HttpResponse:
    with transaction.atomic():
        verrouillee = (
            Demande.objects.select_for_update(of=("self",)).select_related("campagne", "porteur").get(pk=demande.pk)
        )
        if not verrouillee.modifiable_par_porteur:
            return _refuser_si_deposee(request, verrouillee, etape)
        form = ETAPES_FORMULAIRES[etape](request.POST, demande=verrouillee)
        valide = form.is_valid()
        if valide:
            form.enregistrer(verrouillee)
    if not valide:
        return _afficher(request, demande, membre, etape, form=form)

    action = request.POST.get("action", "")
    ligne_vide = etape == "objectifs" and action == "ajouter"
    if action == "continuer":
        destination = NOMS_ETAPES[NOMS_ETAPES.index(etape) + 1]
        confirmation = _("« %(etape)s » est enregistrée.") % {"etape": LIBELLES_ETAPES[etape]}
    else:
        destination = etape
        confirmation = _("Vos modifications sont enregistrées.")
    url = url_etape(demande, destination) + ("?ligne=nouvelle" if ligne_vide else "")
    if not request.htmx:
        messages.success(request, confirmation)
        return redirect(url)
    fraiche = demande_pour_membre(request.user, demande.pk)
    reponse = _afficher(request, fraiche, membre, destination, confirmation=confirmation, ligne_vide=ligne_vide)
    return push_url(reponse, url)


def _deposer(request: HttpRequest, demande: Demande, membre: Membre) -> HttpResponse:
    if membre.role != RoleMembre.REPRESENTANT_LEGAL:
        raise PermissionDenied(_("Seul un représentant légal de la structure peut attester et déposer la demande."))
    form = DeclarationForm(request.POST)
    if not form.is_valid():
        return _afficher(request, demande, membre, "depot", form_declaration=form)
    try:
        if demande.statut == StatutDemande.A_COMPLETER:
            # Complements asked: the completed file goes back to the instructeur (transition `redeposer`).
            deposee = demande_redeposer(demande=demande, user=request.user)
            messages.success(
                request,
                _("Votre demande complétée (dossier n° %(numero)s) est renvoyée au service instructeur.")
                % {"numero": deposee.numero},
            )
            return _rediriger(request, reverse("demandes:detail", kwargs={"pk": deposee.pk}))
        deposee = demande_deposer(
            demande=demande,
            user=request.user,
            nom=form.cleaned_data["nom"],
            qualite=form.cleaned_data["qualite"],
            engagement_republicain=form.cleaned_data["engagement_republicain"],
            exactitude=form.cleaned_data["exactitude"],
        )
    except DepotRefuse as exc:
        return _afficher(
            request, demande, membre, "depot", form_declaration=form, erreur_depot=str(exc), manques_depot=exc.manques
        )
    except TransitionRefusee as exc:
        actuel = Demande.objects.filter(pk=demande.pk).values_list("statut", flat=True).first()
        if actuel != demande.statut:
            # Deposited meanwhile (another tab, a double click): one deposit, shown as such.
            fraiche = demande_pour_membre(request.user, demande.pk)
            return _refuser_si_deposee(request, fraiche, "depot")
        return _afficher(request, demande, membre, "depot", form_declaration=form, erreur_depot=str(exc))
    messages.success(
        request,
        _("Votre demande est déposée sous le numéro %(numero)s. Le récépissé est disponible ci-dessous ; "
          "il vous est aussi envoyé par courriel.") % {"numero": deposee.numero},
    )  # fmt: skip
    return _rediriger(request, reverse("demandes:detail", kwargs={"pk": deposee.pk}))


@login_required
@require_POST
def budget_totaux(request: HttpRequest, pk: int) -> HttpResponse:
    """htmx partial: the budget totals of what is typed, computed on the server (nothing is saved)."""
    demande, _membre = _charger(request, pk)
    form = BudgetForm(request.POST, demande=demande)
    return render(request, "demandes/_budget_totaux.html", {"totaux": form.totaux()})


# --- Follow-up: the demande page, the récépissé, the renewal.


@login_required
def detail(request: HttpRequest, pk: int) -> HttpResponse:
    demande, membre = _charger(request, pk)
    peut_modifier = membre.role in ROLES_EDITION
    renouvellements = []
    if peut_modifier:
        existants = dict(demande.renouvellements.values_list("campagne_id", "pk"))
        for campagne in campagnes_ouvertes().filter(exercice__gt=demande.campagne.exercice).order_by("exercice"):
            renouvellements.append((campagne, existants.get(campagne.pk)))
    journal = historique_libelle(demande)
    contexte = {
        "demande": demande,
        "membre": membre,
        "peut_modifier": peut_modifier,
        "attente": ATTENTE_PORTEUR.get(demande.statut, ""),
        "historique": journal,
        "recepisse": document_courant(demande, "recepisse"),
        "renouvellements": renouvellements,
        "premiere_etape": url_etape(demande, NOMS_ETAPES[0]),
        "etape_depot": url_etape(demande, "depot"),
        # The thread only: the instruction team's internal notes are never read here.
        "fil": list(demande.fil_messages.select_related("auteur")),
        "form_message": (
            TexteForm(label=_("Votre message au service instructeur"), prefix="message")
            if peut_modifier and demande.statut != StatutDemande.BROUILLON
            else None
        ),
        "url_courriers": reverse("espace_association") + "#courriers",
        **_recapitulatif(demande),
    }
    return render(request, "demandes/detail.html", contexte)


@login_required
@require_POST
def message(request: HttpRequest, pk: int) -> HttpResponse:
    """A message of the porteur to the instruction team (représentant légal or gestionnaire; 403 for a lecteur)."""
    demande, membre = _charger(request, pk)
    _verifier_edition(membre)
    form = TexteForm(request.POST, prefix="message")
    texte = form.cleaned_data["texte"] if form.is_valid() else ""
    try:
        services_instruction.message_porteur_envoyer(demande=demande, user=request.user, texte=texte)
    except TransitionRefusee as exc:
        messages.error(request, str(exc))
    else:
        messages.success(request, _("Votre message est envoyé au service instructeur."))
    return redirect(reverse("demandes:detail", kwargs={"pk": demande.pk}) + "#messages")


@login_required
def recepisse(request: HttpRequest, pk: int) -> FileResponse:
    """The récépissé de dépôt, for the porteur's members only, never from a public media URL."""
    demande, _membre = _charger(request, pk)
    # Rendered right after the deposit's commit; rendered here if that step did not happen (a worker stopped).
    document = recepisse_assurer(demande)
    if document is None:
        raise Http404("Pas de récépissé pour cette demande.")
    return fichier_prive(document.fichier, nom=document.nom, type_mime="application/pdf")


@login_required
@require_POST
def renouveler(request: HttpRequest, pk: int) -> HttpResponse:
    """Start next year's request from this action: content copied; decisions and amounts granted are not."""
    origine, membre = _charger(request, pk)
    _verifier_edition(membre)
    form = RenouvelerForm(request.POST)
    campagne = None
    if form.is_valid():
        campagne = (
            campagnes_ouvertes()
            .filter(pk=form.cleaned_data["campagne"], exercice__gt=origine.campagne.exercice)
            .first()
        )
    if campagne is None:
        messages.error(request, _("Choisissez un appel à projets ouvert, d'un exercice suivant, pour renouveler."))
        return redirect("demandes:detail", pk=origine.pk)
    with transaction.atomic():
        # One renewal per campagne, even on a double click: serialised on the original demande's row.
        Demande.objects.select_for_update(of=("self",)).get(pk=origine.pk)
        existante = Demande.objects.filter(origine=origine, campagne=campagne).first()
        if existante is not None:
            messages.info(request, _("Cette action est déjà renouvelée pour %(campagne)s.") % {"campagne": campagne})
            return redirect(url_etape(existante, NOMS_ETAPES[0]))
        try:
            nouvelle_demande = demande_renouveler(origine=origine, campagne=campagne, user=request.user)
        except DepotRefuse as exc:
            messages.error(request, str(exc))
            return redirect("demandes:detail", pk=origine.pk)
    messages.success(
        request,
        _("Le renouvellement pour %(campagne)s est créé à partir de l'action de %(exercice)s : vérifiez chaque "
          "étape, mettez à jour le budget et les dates, puis déposez.")
        % {"campagne": campagne, "exercice": origine.campagne.exercice},
    )  # fmt: skip
    return redirect(url_etape(nouvelle_demande, NOMS_ETAPES[0]))
