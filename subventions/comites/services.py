"""Writes of the comité: séances, ordre du jour, decisions per financeur line (enveloppe rule), closing with PV."""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.db import transaction
from django.db.models import Max, Prefetch, Sum
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from subventions.campagnes.models import Campagne, Enveloppe
from subventions.comites.enums import Decision, KindSeance, StatutSeance
from subventions.comites.models import DecisionLigne, LettreDecision, PointOrdreDuJour, Seance, est_comite_de_seance
from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre
from subventions.demandes.enums import Avis, StatutLigne
from subventions.demandes.models import Demande, LigneFinancement
from subventions.demandes.permissions import est_comite_de_ligne
from subventions.referentiel.models import Financeur, Pilier
from subventions.templatetags.subventions_tags import formater_montant
from workflows.documents import document_enregistrer
from workflows.services import courriel_programmer
from workflows.transitions import TransitionRefusee, transition_appliquer

TRANSITION_PAR_DECISION = {
    Decision.ACCORDEE: "accorder",
    Decision.REFUSEE: "refuser",
    Decision.AJOURNEE: "ajourner",
}
DECIDEES = (StatutLigne.ACCORDEE, StatutLigne.REFUSEE, StatutLigne.AJOURNEE)


# --- Helpers ------------------------------------------------------------------------------------------------------


def _seance_verrouiller(seance: Seance, user) -> Seance:
    """The séance row locked for the rest of the transaction: decisions never race its closing."""
    verrouillee = Seance.objects.select_for_update().get(pk=seance.pk)
    if verrouillee.statut != StatutSeance.OUVERTE:
        raise TransitionRefusee(_("La séance est close : ses décisions sont figées."))
    if not est_comite_de_seance(verrouillee, user):
        raise TransitionRefusee(_("Vous n'avez pas le droit d'agir sur cette séance."))
    return verrouillee


def pilier_de(demande: Demande) -> Pilier | None:
    """The demande's main pilier: that of its first objectif (by pilier number). Uses prefetched objectifs."""
    objectifs = sorted(demande.objectifs.all(), key=lambda o: (o.pilier.numero, o.pilier_id, o.pk))
    return objectifs[0].pilier if objectifs else None


def lignes_sollicitees(demande: Demande) -> list[LigneFinancement]:
    return [ligne for ligne in demande.lignes_financement.all() if ligne.montant_demande > 0]


def ligne_reportee(ligne: LigneFinancement, point: PointOrdreDuJour) -> bool:
    """A line ajournée by an earlier séance and not decided again in this one."""
    return ligne.statut == StatutLigne.AJOURNEE and (ligne.decide_le is None or ligne.decide_le < point.ajoute_le)


def lignes_du_point(point: PointOrdreDuJour, lignes: list[LigneFinancement] | None = None) -> list[LigneFinancement]:
    """The lines this séance decides for the point's demande (a line refused by an earlier séance stays refused).

    `lignes`: the demande's asked lines when the caller already has them."""
    return [
        ligne
        for ligne in (lignes_sollicitees(point.demande) if lignes is None else lignes)
        if ligne.statut == StatutLigne.INSCRITE
        or (ligne.statut in DECIDEES and ligne.decide_le is not None and ligne.decide_le >= point.ajoute_le)
        or ligne_reportee(ligne, point)
    ]


def ligne_a_decider(ligne: LigneFinancement, point: PointOrdreDuJour) -> bool:
    return ligne.statut == StatutLigne.INSCRITE or ligne_reportee(ligne, point)


def _point_de(seance: Seance, demande_id: int) -> PointOrdreDuJour:
    point = PointOrdreDuJour.objects.filter(seance=seance, demande_id=demande_id).first()
    if point is None:
        raise TransitionRefusee(_("Cette demande n'est pas à l'ordre du jour de la séance."))
    return point


def _enveloppe_verrouiller(*, campagne_id: int, financeur_id: int) -> Enveloppe:
    """Lock the financeur's global enveloppe row: every grant against it is serialised on this lock."""
    enveloppe = (
        # No default ordering: it joins the nullable pilier, and PostgreSQL cannot lock an outer join.
        Enveloppe.objects.select_for_update()
        .filter(campagne_id=campagne_id, financeur_id=financeur_id, pilier__isnull=True)
        .order_by()
        .first()
    )
    if enveloppe is None:
        financeur = Financeur.objects.get(pk=financeur_id)
        campagne = Campagne.objects.get(pk=campagne_id)
        raise TransitionRefusee(
            _(
                "Aucune enveloppe n'est ouverte pour %(financeur)s dans la campagne « %(campagne)s » : "
                "rien ne peut être accordé."
            )
            % {"financeur": financeur.nom, "campagne": campagne.titre}
        )
    return enveloppe


def montant_engage(*, campagne_id: int, financeur_id: int, sauf_ligne_id: int | None = None) -> Decimal:
    """Sum granted (accordée lines) by a financeur in a campagne, all séances included."""
    qs = LigneFinancement.objects.filter(
        financeur_id=financeur_id, demande__campagne_id=campagne_id, statut=StatutLigne.ACCORDEE
    )
    if sauf_ligne_id is not None:
        qs = qs.exclude(pk=sauf_ligne_id)
    return qs.aggregate(total=Sum("montant_accorde"))["total"] or Decimal("0.00")


def _enveloppe_verifier(enveloppe: Enveloppe, ligne: LigneFinancement, montant: Decimal) -> None:
    """Called with the enveloppe row locked: the sum read here cannot change before this transaction commits."""
    engage = montant_engage(
        campagne_id=enveloppe.campagne_id, financeur_id=enveloppe.financeur_id, sauf_ligne_id=ligne.pk
    )
    if engage + montant > enveloppe.montant:
        financeur = Financeur.objects.get(pk=enveloppe.financeur_id)
        campagne = Campagne.objects.get(pk=enveloppe.campagne_id)
        raise TransitionRefusee(
            _(
                "Enveloppe dépassée pour %(financeur)s : l'enveloppe de la campagne « %(campagne)s » est de "
                "%(enveloppe)s, %(engage)s sont déjà accordés ; accorder %(montant)s la dépasserait "
                "de %(depassement)s."
            )
            % {
                "financeur": financeur.nom,
                "campagne": campagne.titre,
                "enveloppe": formater_montant(enveloppe.montant),
                "engage": formater_montant(engage),
                "montant": formater_montant(montant),
                "depassement": formater_montant(engage + montant - enveloppe.montant),
            }
        )


def _montant_valide(ligne: LigneFinancement, montant) -> Decimal:
    """The comité may vote more or less than the instructeur's proposal, but never more than the porteur asked nor
    more than the financeur's maximum share of the action's budget."""
    from subventions.demandes.services import plafond_financeur

    try:
        montant = Decimal(str(montant)).quantize(Decimal("0.01"))
    except (InvalidOperation, TypeError, ValueError):
        raise TransitionRefusee(_("Indiquez le montant accordé.")) from None
    if montant <= 0:
        raise TransitionRefusee(_("Un montant accordé est supérieur à 0 €."))
    if montant > ligne.montant_demande:
        raise TransitionRefusee(
            _("Le montant accordé (%(montant)s) dépasse le montant demandé (%(demande)s).")
            % {"montant": formater_montant(montant), "demande": formater_montant(ligne.montant_demande)}
        )
    plafond = plafond_financeur(ligne)
    if montant > plafond:
        raise TransitionRefusee(
            _("Le montant accordé (%(montant)s) dépasse la part maximale de %(financeur)s (%(plafond)s).")
            % {
                "montant": formater_montant(montant),
                "financeur": ligne.financeur.nom,
                "plafond": formater_montant(plafond),
            }
        )
    return montant


# --- Séances and ordre du jour ------------------------------------------------------------------------------------


@transaction.atomic
def seance_creer(
    *,
    campagne: Campagne,
    user,
    date: datetime.date,
    kind: str,
    financeurs: Iterable[Financeur],
    membres_presents: str = "",
) -> Seance:
    financeurs = list(financeurs)
    if kind not in KindSeance.values:
        raise TransitionRefusee(_("Choisissez le type de comité : programmation ou pilotage."))
    if not financeurs:
        raise TransitionRefusee(_("Une séance décide pour au moins un financeur."))
    participants = set(campagne.financeurs.values_list("pk", flat=True))
    if any(f.pk not in participants for f in financeurs):
        raise TransitionRefusee(_("Un financeur choisi ne participe pas à la campagne."))
    p = perimetre(user, [Role.COMITE])
    if p.vide or (not p.tous_financeurs and any(f.pk not in p.financeur_ids for f in financeurs)):
        raise TransitionRefusee(_("Vous ne pouvez créer une séance que pour les financeurs de votre périmètre."))
    seance = Seance(campagne=campagne, date=date, kind=kind, membres_presents=membres_presents.strip(), cree_par=user)
    seance.full_clean()
    seance.save()
    seance.financeurs.set(financeurs)
    return seance


@transaction.atomic
def seance_modifier_presents(*, seance: Seance, user, membres_presents: str) -> Seance:
    seance = _seance_verrouiller(seance, user)
    seance.membres_presents = membres_presents.strip()
    seance.save(update_fields=["membres_presents"])
    return seance


@transaction.atomic
def odj_ajouter(*, seance: Seance, user, demandes: Iterable[Demande]) -> list[PointOrdreDuJour]:
    """Put instruite demandes on the ordre du jour: the demande and each line it asks are inscribed."""
    seance = _seance_verrouiller(seance, user)
    financeurs_seance = {f.pk for f in seance.financeurs.all()}
    ordre = seance.points.aggregate(m=Max("ordre"))["m"] or 0
    points = []
    for demande in sorted(demandes, key=lambda d: d.pk):  # one lock order for every caller
        if demande.campagne_id != seance.campagne_id:
            raise TransitionRefusee(
                _("La demande %(numero)s n'est pas de la campagne de la séance.") % {"numero": demande.numero}
            )
        lignes = [lf for lf in demande.lignes_financement.all() if lf.montant_demande > 0]
        if not financeurs_seance & {lf.financeur_id for lf in lignes}:
            raise TransitionRefusee(
                _("La demande %(numero)s ne sollicite aucun financeur de la séance.") % {"numero": demande.numero}
            )

        def apres(inscrite: Demande, lignes=lignes) -> None:
            for ligne in lignes:
                if ligne.statut == StatutLigne.AVIS_DONNE:
                    # The line follows its demande: the comité's right was checked on the demande.
                    transition_appliquer(obj=ligne, transition="inscrire", acteur=user, verifier_permission=False)

        transition_appliquer(obj=demande, transition="inscrire", acteur=user, apres=apres, extra={"seance": seance.pk})
        ordre += 1
        points.append(PointOrdreDuJour.objects.create(seance=seance, demande=demande, ordre=ordre, ajoute_par=user))
    return points


@transaction.atomic
def odj_retirer(*, seance: Seance, user, point: PointOrdreDuJour) -> None:
    """Take a demande off the ordre du jour, as long as none of its lines has been decided in this séance."""
    seance = _seance_verrouiller(seance, user)
    point = PointOrdreDuJour.objects.select_related("demande").get(pk=point.pk, seance=seance)
    lignes = list(LigneFinancement.objects.select_for_update().filter(demande=point.demande, montant_demande__gt=0))
    if any(not ligne_a_decider(lf, point) for lf in lignes_du_point(point, lignes)):
        raise TransitionRefusee(_("Une décision a déjà été prise pour cette demande : elle reste à l'ordre du jour."))

    def apres(_d: Demande) -> None:
        for ligne in lignes:
            if ligne.statut == StatutLigne.INSCRITE:
                transition_appliquer(obj=ligne, transition="desinscrire", acteur=user, verifier_permission=False)

    transition_appliquer(obj=point.demande, transition="desinscrire", acteur=user, apres=apres)
    point.delete()


# --- Decisions ----------------------------------------------------------------------------------------------------


def _decider(
    *, seance: Seance, user, ligne: LigneFinancement, decision: str, montant, version: int | None = None
) -> LigneFinancement:
    """One line's decision, inside the caller's transaction, séance locked. Grants lock the enveloppe first."""
    if decision not in TRANSITION_PAR_DECISION:
        raise TransitionRefusee(_("Choisissez une décision : accordée, refusée ou ajournée."))
    ligne = LigneFinancement.objects.select_related("financeur", "demande").get(pk=ligne.pk)
    _point_de(seance, ligne.demande_id)
    if ligne.montant_demande <= 0:
        raise TransitionRefusee(_("Ce financeur n'est pas sollicité par la demande."))
    enveloppe = None
    if decision == Decision.ACCORDEE:
        montant = _montant_valide(ligne, montant)
        # The enveloppe is locked before the line (same order as the bulk decision, so no deadlock).
        enveloppe = _enveloppe_verrouiller(campagne_id=seance.campagne_id, financeur_id=ligne.financeur_id)
    else:
        montant = None

    def avant(verrouillee: LigneFinancement) -> None:
        if enveloppe is not None:
            _enveloppe_verifier(enveloppe, verrouillee, montant)
        verrouillee.montant_accorde = montant
        verrouillee.decide_le = timezone.now()

    return transition_appliquer(
        obj=ligne,
        transition=TRANSITION_PAR_DECISION[decision],
        acteur=user,
        avant=avant,
        version=version,
        extra={"seance": seance.pk, "decision": decision, "montant": None if montant is None else str(montant)},
    )


@transaction.atomic
def decider_ligne(
    *, seance: Seance, user, ligne: LigneFinancement, decision: str, montant=None, version: int | None = None
) -> LigneFinancement:
    """Record one line's decision (changeable until the séance is closed)."""
    seance = _seance_verrouiller(seance, user)
    return _decider(seance=seance, user=user, ligne=ligne, decision=decision, montant=montant, version=version)


@transaction.atomic
def decider_en_bloc(*, seance: Seance, user) -> int:
    """Accept every proposal not decided yet: favorable/réservé → accordée at the proposed amount, défavorable →
    refusée. Lines outside the user's financeurs are left alone; exceptions are then changed one by one. All or
    nothing: one overrun refuses the whole batch, with the message naming it. Returns the number of lines decided."""
    seance = _seance_verrouiller(seance, user)
    points = list(
        seance.points.select_related("demande").prefetch_related(
            Prefetch("demande__lignes_financement", queryset=LigneFinancement.objects.select_related("financeur"))
        )
    )
    a_decider = [
        ligne
        for point in points
        for ligne in lignes_du_point(point)
        if ligne_a_decider(ligne, point) and est_comite_de_ligne(ligne, user)
    ]
    # Enveloppes first, in one order (pk), then lines: the same order as single decisions.
    financeurs = sorted({lf.financeur_id for lf in a_decider if lf.avis != Avis.DEFAVORABLE})
    for financeur_id in financeurs:
        _enveloppe_verrouiller(campagne_id=seance.campagne_id, financeur_id=financeur_id)
    for ligne in sorted(a_decider, key=lambda lf: lf.pk):
        if ligne.avis == Avis.DEFAVORABLE or not ligne.montant_propose:
            _decider(seance=seance, user=user, ligne=ligne, decision=Decision.REFUSEE, montant=None)
        else:
            _decider(seance=seance, user=user, ligne=ligne, decision=Decision.ACCORDEE, montant=ligne.montant_propose)
    return len(a_decider)


# --- Closing ------------------------------------------------------------------------------------------------------


def _points_pour_cloture(seance: Seance) -> list[PointOrdreDuJour]:
    return list(
        seance.points.select_related("demande__porteur", "demande__campagne").prefetch_related(
            Prefetch(
                "demande__lignes_financement",
                queryset=LigneFinancement.objects.select_related("financeur"),
            ),
            "demande__objectifs__pilier",
        )
    )


def seance_cloturer(*, seance: Seance, user) -> Seance:
    """Freeze the decisions, move each demande on, render and store the PV and one letter per porteur.

    Closing a closed séance does nothing more: the documents are never rendered twice."""
    from subventions.comites.pdf import lettre_pdf, pv_pdf

    if seance.statut == StatutSeance.CLOSE:
        return seance
    if not est_comite_de_seance(seance, user):
        raise TransitionRefusee(_("Vous n'avez pas le droit d'agir sur cette séance."))

    def avant(s: Seance) -> None:
        points = _points_pour_cloture(s)
        if not points:
            raise TransitionRefusee(_("L'ordre du jour est vide : il n'y a rien à clore."))
        restantes = [
            f"{p.demande.numero} ({lf.financeur.nom})"
            for p in points
            for lf in lignes_du_point(p)
            if lf.statut == StatutLigne.INSCRITE
        ]
        if restantes:
            raise TransitionRefusee(
                _("Des lignes n'ont pas encore de décision : %(lignes)s.") % {"lignes": ", ".join(restantes)}
            )

    def apres(s: Seance) -> None:
        s.closed_at = timezone.now()
        s.closed_by = user
        s.save(update_fields=["closed_at", "closed_by"])
        decisions = []
        for point in _points_pour_cloture(s):
            demande = point.demande
            pilier = pilier_de(demande)
            lignes = lignes_du_point(point)
            for ligne in lignes:
                decisions.append(
                    DecisionLigne(
                        seance=s,
                        ligne=ligne,
                        financeur=ligne.financeur,
                        pilier=pilier,
                        decision=ligne.statut,
                        montant=ligne.montant_accorde if ligne.statut == StatutLigne.ACCORDEE else None,
                        montant_propose=ligne.montant_propose,
                    )
                )
            statuts = {ligne.statut for ligne in lignes}
            # Consequences of the séance's close, whose right was checked on the séance: no per-demande check.
            if StatutLigne.ACCORDEE in statuts:
                transition_appliquer(obj=demande, transition="valider", acteur=user, verifier_permission=False)
            elif StatutLigne.AJOURNEE in statuts:
                ajournee = transition_appliquer(
                    obj=demande, transition="ajourner", acteur=user, verifier_permission=False
                )
                transition_appliquer(
                    obj=ajournee,
                    transition="representer",
                    acteur=user,
                    verifier_permission=False,
                    commentaire=_("Ajournée : à présenter à une prochaine séance."),
                )
            else:
                transition_appliquer(obj=demande, transition="refuser", acteur=user, verifier_permission=False)
        DecisionLigne.objects.bulk_create(decisions)
        s.points.update(seance_ouverte=False)
        figees = list(
            DecisionLigne.objects.filter(seance=s)
            .select_related("ligne__demande__porteur", "financeur", "pilier")
            .order_by("ligne__demande__porteur__nom", "ligne__demande__numero", "financeur__nom")
        )
        document_enregistrer(
            obj=s, nature="proces_verbal", contenu=pv_pdf(s, figees), nom=f"proces-verbal-{s.date:%Y-%m-%d}-{s.pk}.pdf"
        )
        par_porteur = defaultdict(list)
        for d in figees:
            par_porteur[d.ligne.demande.porteur].append(d)
        for porteur, siennes in par_porteur.items():
            lettre = LettreDecision.objects.create(seance=s, porteur=porteur)
            lettre.document = document_enregistrer(
                obj=lettre,
                nature="lettre_decision",
                contenu=lettre_pdf(s, porteur, siennes),
                nom=f"decision-{s.date:%Y-%m-%d}-{porteur.pk}.pdf",
            )
            lettre.save(update_fields=["document"])
            _notifier_porteur(lettre)

    with transaction.atomic():
        try:
            return transition_appliquer(obj=seance, transition="cloturer", acteur=user, avant=avant, apres=apres)
        except TransitionRefusee:
            # Closed meanwhile by someone else: nothing more to do.
            courante = Seance.objects.get(pk=seance.pk)
            if courante.statut == StatutSeance.CLOSE:
                return courante
            raise


def _notifier_porteur(lettre: LettreDecision) -> None:
    destinataires = sorted(
        {m.user.email for m in lettre.porteur.membres.select_related("user").filter(user__is_active=True)}
    )
    if not destinataires:
        return
    site = getattr(settings, "SUBVENTIONS_SITE_URL", "http://127.0.0.1:8000")
    seance = lettre.seance
    courriel_programmer(
        destinataires=destinataires,
        sujet=_("Décision du comité du %(date)s") % {"date": f"{seance.date:%d/%m/%Y}"},
        texte=_(
            "Bonjour,\n\nLe %(comite)s du %(date)s a statué sur les demandes de %(porteur)s. Le courrier de décision "
            "est disponible dans votre espace : %(site)s%(chemin)s\n\nCordialement."
        )
        % {
            "comite": seance.get_kind_display().lower(),
            "date": f"{seance.date:%d/%m/%Y}",
            "porteur": lettre.porteur.nom,
            "site": site.rstrip("/"),
            "chemin": reverse("comites:lettre_telecharger", args=[lettre.pk]),
        },
        modele=f"comites.lettre_decision.{lettre.pk}",
    )
