"""Every write of the bilans: open the comptes-rendus of an executory acte, save and deposit one (PDF stored), ask for
corrections, validate it, and, once every action of the acte is validated, settle the acte (solde or reversement)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from associations.services import piece_deposer
from subventions.bilans import notifications
from subventions.bilans.calculs import bilan, lisible
from subventions.bilans.enums import A_FAIRE, NATURE_DOCUMENT, StatutCompteRendu
from subventions.bilans.models import (
    CompteRendu,
    DecompteSolde,
    IndicateurRealise,
    LigneRealisee,
    PieceCompteRendu,
    est_editeur_du_porteur,
    instruit_pour,
)
from subventions.bilans.pdf import compte_rendu_pdf
from subventions.conventions.models import STATUTS_EXECUTOIRES, ActeAttribution, ActeLigne
from subventions.demandes.enums import COMPTES, SENS_PAR_COMPTE, StatutDemande
from subventions.demandes.models import Demande
from subventions.paiements.services import PaiementRefuse, solde_rendre_exigible
from workflows.documents import document_enregistrer
from workflows.models import TransitionLog
from workflows.transitions import TransitionRefusee, transition_appliquer

ZERO = Decimal("0.00")
# The Demande transition conventionnee → bilan_depose, taken when a compte-rendu of the action is validated.
TRANSITION_DEMANDE = "enregistrer_bilan"
INDICATEURS_LIBRES_MAX = 5


class CompteRenduRefuse(Exception):
    """An action on a compte-rendu that cannot be done now; the message is French and shown as is."""


def echeance_de(exercice: int) -> datetime.date:
    """Due six months after the end of the exercice (CERFA 15059): 30 June of the next year."""
    return datetime.date(exercice + 1, 6, 30)


# --- Opening: one compte-rendu per action of an executory acte ------------------------------------------------------


def _lignes_prevues(demande: Demande) -> list[LigneRealisee]:
    """The forecast budget of the action, in the CERFA order: charges, then produits with the subsidies asked of the
    campagne's financeurs (line 74) before the other subsidies."""
    ordre_compte = {code: i for i, (code, _l) in enumerate(COMPTES)}
    libelles = dict(COMPTES)
    lignes = []
    for lb in demande.lignes_budget.all():
        lignes.append(
            (
                ordre_compte.get(lb.compte, 99) * 100,
                LigneRealisee(
                    cle=lb.compte,
                    sens=SENS_PAR_COMPTE.get(lb.compte, lb.sens),
                    compte=lb.compte,
                    libelle=(str(libelles.get(lb.compte, lb.compte)) + (f" — {lb.detail}" if lb.detail else ""))[:250],
                    prevu=lb.montant,
                ),
            )
        )
    rang_74 = ordre_compte["74-autres"] * 100 - 50
    for i, lf in enumerate(sorted(demande.lignes_financement.all(), key=lambda lf: lf.financeur.nom)):
        if lf.montant_demande > 0:
            lignes.append(
                (
                    rang_74 + i,
                    LigneRealisee(
                        cle=f"74-{lf.financeur_id}",
                        sens="produit",
                        compte="74",
                        financeur_id=lf.financeur_id,
                        libelle=(_("74 – Subvention %(financeur)s") % {"financeur": lf.financeur.nom})[:250],
                        prevu=lf.montant_demande,
                    ),
                )
            )
    lignes.sort(key=lambda paire: paire[0])
    for ordre, (_rang, ligne) in enumerate(lignes, start=1):
        ligne.ordre = ordre
    return [ligne for _rang, ligne in lignes]


def comptes_rendus_ouvrir(*, acte: ActeAttribution) -> list[CompteRendu]:
    """Open the compte-rendu of each action of an executory acte (a_deposer), with the action's forecast budget and
    indicators copied. Idempotent: an action that has one already is skipped; returns those created now."""
    with transaction.atomic():
        acte = ActeAttribution.objects.select_for_update().get(pk=acte.pk)
        if acte.statut not in STATUTS_EXECUTOIRES:
            return []
        deja = set(CompteRendu.objects.filter(acte=acte).values_list("acte_ligne_id", flat=True))
        lignes_acte = [
            al
            for al in ActeLigne.objects.filter(acte=acte)
            .select_related("ligne__demande")
            .prefetch_related(
                "ligne__demande__lignes_budget",
                "ligne__demande__lignes_financement__financeur",
                "ligne__demande__indicateurs",
            )
            .order_by("ligne__demande__numero", "pk")
            if al.pk not in deja
        ]
        crees = []
        for al in lignes_acte:
            demande = al.ligne.demande
            compte_rendu = CompteRendu.objects.create(
                acte=acte,
                acte_ligne=al,
                demande=demande,
                echeance=echeance_de(acte.exercice),
                montant_accorde=al.montant,
            )
            lignes = _lignes_prevues(demande)
            for ligne in lignes:
                ligne.compte_rendu = compte_rendu
            LigneRealisee.objects.bulk_create(lignes)
            IndicateurRealise.objects.bulk_create(
                [
                    IndicateurRealise(
                        compte_rendu=compte_rendu, indicateur=ind, ordre=i, nom=ind.nom[:200], cible=ind.cible
                    )
                    for i, ind in enumerate(demande.indicateurs.all(), start=1)
                ]
            )
            crees.append(compte_rendu)
    return crees


def comptes_rendus_ouvrir_manquants(*, exercice: int | None = None) -> int:
    """Open the comptes-rendus of every executory acte that lacks some (an acte signed while the task queue was down,
    or before this app existed). Returns how many were opened."""
    actes = ActeAttribution.objects.filter(statut__in=STATUTS_EXECUTOIRES, lignes__compte_rendu__isnull=True)
    if exercice is not None:
        actes = actes.filter(exercice=exercice)
    total = 0
    for acte in actes.distinct().order_by("pk"):
        total += len(comptes_rendus_ouvrir(acte=acte))
    return total


# --- The porteur: save, attach pièces, deposit ----------------------------------------------------------------------


@dataclass
class Saisie:
    """What the porteur's form carries: the text fields, the actual amount per line id, the value per indicator id,
    and the indicators the porteur adds (name, value)."""

    champs: dict = field(default_factory=dict)
    realises: dict[int, Decimal | None] = field(default_factory=dict)
    indicateurs: dict[int, tuple[str, str]] = field(default_factory=dict)  # id → (name, value); name "" deletes
    nouveaux_indicateurs: list[tuple[str, str]] = field(default_factory=list)


CHAMPS_PORTEUR = ("actions_realisees", "public_touche", "beneficiaires", "ecarts_expliques")


def _exiger_editeur(compte_rendu: CompteRendu, user) -> None:
    if not est_editeur_du_porteur(compte_rendu, user):
        raise PermissionDenied(
            _("Seuls les représentants légaux et les gestionnaires de la structure remplissent le compte-rendu.")
        )


def _verrouiller_modifiable(compte_rendu: CompteRendu, version: int | None) -> CompteRendu:
    verrouille = CompteRendu.objects.select_for_update(of=("self",)).select_related("acte").get(pk=compte_rendu.pk)
    if version is not None and verrouille.version != version:
        raise CompteRenduRefuse(_("Le compte-rendu a changé entre-temps : rechargez la page et recommencez."))
    if verrouille.statut not in A_FAIRE:
        raise CompteRenduRefuse(_("Ce compte-rendu est déposé : il ne peut plus être modifié."))
    return verrouille


def compte_rendu_enregistrer(
    *, compte_rendu: CompteRendu, user, saisie: Saisie, version: int | None = None
) -> CompteRendu:
    """Save the porteur's entries (a draft: nothing is required yet). Refused once deposited, or for a lecteur."""
    _exiger_editeur(compte_rendu, user)
    with transaction.atomic():
        cr = _verrouiller_modifiable(compte_rendu, version)
        for nom in CHAMPS_PORTEUR:
            if nom in saisie.champs:
                valeur = saisie.champs[nom]
                setattr(cr, nom, valeur.strip() if isinstance(valeur, str) else valeur)
        cr.version += 1
        cr.full_clean(exclude=["acte", "acte_ligne", "demande", "depose_par", "valide_par"])
        cr.save()
        lignes = {ligne.pk: ligne for ligne in cr.lignes.all()}
        modifiees = []
        for pk, montant in saisie.realises.items():
            ligne = lignes.get(pk)
            if ligne is None:
                continue
            if montant is not None and montant < 0:
                raise ValidationError(_("Le montant réalisé de « %(l)s » ne peut pas être négatif.") % {"l": ligne})
            ligne.realise = montant
            modifiees.append(ligne)
        LigneRealisee.objects.bulk_update(modifiees, ["realise"])
        indicateurs = {i.pk: i for i in cr.indicateurs.all()}
        for pk, (nom, valeur) in saisie.indicateurs.items():
            ind = indicateurs.get(pk)
            if ind is None:
                continue
            if ind.indicateur_id is None and not nom.strip():
                ind.delete()  # an indicator the porteur added, emptied: removed
                continue
            if ind.indicateur_id is None:
                ind.nom = nom.strip()[:200]
            ind.realise = valeur.strip()[:100]
            ind.save(update_fields=["nom", "realise"])
        libres = sum(1 for i in indicateurs.values() if i.indicateur_id is None)
        rang = max((i.ordre for i in indicateurs.values()), default=0)
        for nom, valeur in saisie.nouveaux_indicateurs:
            if not nom.strip() or libres >= INDICATEURS_LIBRES_MAX:
                continue
            rang, libres = rang + 1, libres + 1
            IndicateurRealise.objects.create(
                compte_rendu=cr, ordre=rang, nom=nom.strip()[:200], realise=valeur.strip()[:100]
            )
    return cr


def manques(compte_rendu: CompteRendu) -> list[str]:
    """What is still missing before the compte-rendu can be deposited (French messages; empty when complete)."""
    erreurs = []
    lignes = list(compte_rendu.lignes.all())
    vides = [lg.libelle for lg in lignes if lg.realise is None]
    if vides:
        erreurs.append(
            _("Montant réalisé à indiquer (0 si rien) pour : %(lignes)s.") % {"lignes": " ; ".join(vides[:8])}
            + (" …" if len(vides) > 8 else "")
        )
    if not compte_rendu.actions_realisees.strip():
        erreurs.append(_("Décrivez les actions réalisées."))
    if not compte_rendu.public_touche.strip():
        erreurs.append(_("Décrivez le public touché."))
    chiffres = bilan(compte_rendu, lignes)
    if chiffres.complet and chiffres.cout_prevu > 0 and not compte_rendu.ecarts_expliques.strip():
        ecart = abs(chiffres.ecart_cout) * 100
        if ecart > chiffres.tolerance * chiffres.cout_prevu:
            erreurs.append(
                _(
                    "Le coût réel s'écarte de %(pct)s %% du budget prévisionnel (tolérance : %(tol)s %%) : "
                    "expliquez les écarts."
                )
                % {"pct": lisible(chiffres.ecart_cout_pourcent), "tol": lisible(chiffres.tolerance)}
            )
    sans_valeur = [i.nom for i in compte_rendu.indicateurs.all() if i.cible and not i.realise.strip()]
    if sans_valeur:
        erreurs.append(_("Valeur atteinte à indiquer pour : %(i)s.") % {"i": " ; ".join(sans_valeur)})
    return erreurs


def nom_document(compte_rendu: CompteRendu) -> str:
    return f"compte-rendu-{compte_rendu.acte.numero}-{compte_rendu.demande.numero or compte_rendu.demande_id}.pdf"


def compte_rendu_deposer(*, compte_rendu: CompteRendu, user, version: int | None = None) -> CompteRendu:
    """Deposit the compte-rendu (first time, or again after corrections): refused while incomplete
    (ValidationError listing what is missing) or when the acte is not executory. The PDF of what was deposited is
    rendered and stored as a new version, in the same transaction."""
    _exiger_editeur(compte_rendu, user)
    with transaction.atomic():
        cr = _verrouiller_modifiable(compte_rendu, version)
        if cr.acte.statut not in STATUTS_EXECUTOIRES:
            raise CompteRenduRefuse(
                _("L'acte %(numero)s n'est pas exécutoire : aucun compte-rendu ne peut être déposé.")
                % {"numero": cr.acte.numero}
            )
        erreurs = manques(cr)
        if erreurs:
            raise ValidationError(erreurs)
        nom = "deposer" if cr.statut == StatutCompteRendu.A_DEPOSER else "redeposer"

        def _fixer(verrouille: CompteRendu) -> None:
            verrouille.depose_le = timezone.now()
            verrouille.depose_par = user

        cr = transition_appliquer(obj=cr, transition=nom, acteur=user, avant=_fixer, version=cr.version)
        complet = CompteRendu.objects.select_related(
            "acte__financeur", "acte__porteur", "acte__campagne", "demande", "depose_par"
        ).get(pk=cr.pk)
        document_enregistrer(
            obj=complet, nature=NATURE_DOCUMENT, contenu=compte_rendu_pdf(complet), nom=nom_document(complet)
        )
    return cr


def piece_ajouter(*, compte_rendu: CompteRendu, user, type_piece, fichier, libelle: str = "") -> PieceCompteRendu:
    """Put a file in the porteur's vault (the vault's checks: PDF, PNG or JPEG, size, integrity) and attach it."""
    _exiger_editeur(compte_rendu, user)
    if compte_rendu.statut not in A_FAIRE:
        raise CompteRenduRefuse(_("Ce compte-rendu est déposé : ses pièces ne peuvent plus changer."))
    piece = piece_deposer(
        porteur=compte_rendu.acte.porteur, user=user, type_piece=type_piece, fichier=fichier, libelle=libelle
    )
    with transaction.atomic():
        _verrouiller_modifiable(compte_rendu, None)
        lien, _cree = PieceCompteRendu.objects.get_or_create(
            compte_rendu=compte_rendu, piece=piece, defaults={"ajoutee_par": user}
        )
    return lien


def piece_retirer(*, compte_rendu: CompteRendu, user, piece_id: int) -> None:
    """Detach a pièce before the deposit (it stays in the vault)."""
    _exiger_editeur(compte_rendu, user)
    with transaction.atomic():
        _verrouiller_modifiable(compte_rendu, None)
        PieceCompteRendu.objects.filter(compte_rendu=compte_rendu, piece_id=piece_id).delete()


# --- The instructeur: corrections, validation, the acte's settlement ------------------------------------------------


def _nombre_de(compte_rendu: CompteRendu, transition: str) -> int:
    return TransitionLog.objects.filter(
        content_type=ContentType.objects.get_for_model(CompteRendu), object_id=compte_rendu.pk, transition=transition
    ).count()


def compte_rendu_demander_corrections(
    *, compte_rendu: CompteRendu, acteur, commentaire: str, version: int | None = None
) -> CompteRendu:
    """Send the deposited compte-rendu back to the porteur with what to correct (required); the porteur's members
    are emailed after commit."""
    commentaire = (commentaire or "").strip()
    if not commentaire:
        raise CompteRenduRefuse(_("Indiquez ce que la structure doit corriger."))
    with transaction.atomic():
        cr = transition_appliquer(
            obj=compte_rendu,
            transition="demander_corrections",
            acteur=acteur,
            commentaire=commentaire,
            version=version,
            avant=lambda verrouille: setattr(verrouille, "commentaire_instructeur", commentaire),
        )
        notifications.notifier_corrections(compte_rendu=cr, numero=_nombre_de(cr, "demander_corrections"))
    return cr


@dataclass
class ResultatValidation:
    compte_rendu: CompteRendu
    decompte: DecompteSolde | None = None  # the acte's settlement, when this was its last compte-rendu to validate
    en_attente: list[CompteRendu] = field(default_factory=list)  # the acte's comptes-rendus not validated yet
    blocage: str = ""  # why the solde could not be settled now (an advance still on its way…)


def compte_rendu_valider(*, compte_rendu: CompteRendu, acteur, version: int | None = None) -> ResultatValidation:
    """Validate a deposited compte-rendu: the part of the grant retained for the action is frozen (reduced in
    proportion when the action cost less than planned beyond the financeur's tolerance), the demande moves to
    bilan_depose, the porteur is told. When it was the acte's last compte-rendu to validate, the acte is settled
    (`solde_etablir`) in a savepoint: if the finance side refuses (an advance not paid yet), the validation stands,
    the reason is returned, and the settlement is retried once that payment is made."""
    with transaction.atomic():
        # The acte first: two instructeurs validating its last two comptes-rendus at once are served one after the
        # other, so the second one sees the first validated and settles the acte.
        list(ActeAttribution.objects.select_for_update().filter(pk=compte_rendu.acte_id).values_list("pk", flat=True))
        # Then the row itself: the figures are those of the row being validated, not of a page read earlier.
        verrouille = CompteRendu.objects.select_for_update().get(pk=compte_rendu.pk)
        if verrouille.statut != compte_rendu.statut:
            raise TransitionRefusee(_("Le dossier a changé entre-temps : rechargez la page et recommencez."))
        chiffres = bilan(verrouille)

        def _fixer(cr: CompteRendu) -> None:
            cr.cout_prevu, cr.cout_reel = chiffres.cout_prevu, chiffres.cout_reel
            cr.montant_retenu = chiffres.montant_retenu
            cr.valide_le, cr.valide_par = timezone.now(), acteur
            cr.commentaire_instructeur = ""

        if chiffres.hors_tolerance:
            commentaire = _(
                "Coût réel %(reel)s € pour %(prevu)s € prévus (−%(ecart)s %%, tolérance %(tol)s %%) : "
                "subvention retenue %(retenu)s € sur %(accorde)s €."
            ) % {
                "reel": chiffres.cout_reel,
                "prevu": chiffres.cout_prevu,
                "ecart": lisible(chiffres.sous_realisation),
                "tol": lisible(chiffres.tolerance),
                "retenu": chiffres.montant_retenu,
                "accorde": chiffres.montant_accorde,
            }
        else:
            commentaire = _("Subvention retenue en totalité : %(retenu)s €.") % {"retenu": chiffres.montant_retenu}
        cr = transition_appliquer(
            obj=verrouille,
            transition="valider",
            acteur=acteur,
            avant=_fixer,
            version=version,
            commentaire=commentaire,
            extra={
                "cout_prevu": str(chiffres.cout_prevu),
                "cout_reel": str(chiffres.cout_reel),
                "montant_retenu": str(chiffres.montant_retenu),
            },
        )
        _demande_enregistrer_bilan(cr, acteur)
        notifications.notifier_validation(compte_rendu=cr)
        resultat = ResultatValidation(compte_rendu=cr)
        resultat.en_attente = list(
            CompteRendu.objects.filter(acte_id=cr.acte_id)
            .exclude(statut=StatutCompteRendu.VALIDE)
            .select_related("demande")
            .order_by("demande__numero")
        )
        if not resultat.en_attente:
            try:
                with transaction.atomic():
                    resultat.decompte = solde_etablir(acte=cr.acte, acteur=acteur)
            except (PaiementRefuse, CompteRenduRefuse) as exc:
                resultat.blocage = str(exc)
    return resultat


def _demande_enregistrer_bilan(compte_rendu: CompteRendu, acteur) -> None:
    """conventionnee → bilan_depose, once, when the Demande workflow has that transition (see TRANSITION_DEMANDE)."""
    if not hasattr(Demande, TRANSITION_DEMANDE):
        return
    demande = compte_rendu.demande
    demande.refresh_from_db(fields=["statut"])
    if demande.statut != StatutDemande.CONVENTIONNEE:
        return
    transition_appliquer(
        obj=demande,
        transition=TRANSITION_DEMANDE,
        acteur=acteur,
        verifier_permission=False,
        commentaire=_("Compte-rendu financier validé (%(numero)s).") % {"numero": compte_rendu.acte.numero},
    )


def solde_etablir(*, acte: ActeAttribution, acteur) -> DecompteSolde:
    """Settle an acte whose comptes-rendus are all validated: the amount finally due is the granted total less each
    action's reduction; `paiements.solde_rendre_exigible` then makes the solde due, cancels it, or records a
    reversement of what was overpaid. Written once: a second call returns the décompte already made.

    `acteur` is the validating instructeur (checked against the financeur), or None when the system retries after
    the advance was paid. Raises CompteRenduRefuse (a compte-rendu not validated) or PaiementRefuse (the finance
    side: an advance still on its way)."""
    if acteur is not None and not instruit_pour(acte.financeur_id, acteur):
        raise CompteRenduRefuse(_("Vous n'avez pas le droit d'établir le solde de cet acte."))
    with transaction.atomic():
        acte = ActeAttribution.objects.select_for_update().get(pk=acte.pk)
        existant = DecompteSolde.objects.filter(acte=acte).first()
        if existant is not None:
            return existant
        comptes_rendus = list(CompteRendu.objects.filter(acte=acte).select_related("demande").order_by("pk"))
        nb_actions = ActeLigne.objects.filter(acte=acte).count()
        if len(comptes_rendus) != nb_actions or any(c.statut != StatutCompteRendu.VALIDE for c in comptes_rendus):
            raise CompteRenduRefuse(
                _("Tous les comptes-rendus de l'acte %(numero)s doivent être validés avant d'établir le solde.")
                % {"numero": acte.numero}
            )
        reductions = [(c, c.montant_accorde - c.montant_retenu) for c in comptes_rendus]
        montant_du = max(ZERO, acte.montant_total - sum((r for _c, r in reductions), ZERO))
        details = [
            _("%(dossier)s : %(retenu)s € retenus sur %(accorde)s €")
            % {"dossier": c.demande.numero, "retenu": c.montant_retenu, "accorde": c.montant_accorde}
            for c, r in reductions
            if r > 0
        ]
        motif = _("Comptes-rendus financiers validés : %(n)s action(s).") % {"n": len(comptes_rendus)}
        if details:
            motif += " " + _("Réduction pour sous-réalisation — %(d)s.") % {"d": " ; ".join(details)}
        resultat = solde_rendre_exigible(acte, montant_du=montant_du, acteur=acteur, motif=motif)
        return DecompteSolde.objects.create(
            acte=acte,
            montant_attribue=acte.montant_total,
            montant_du=montant_du,
            deja_verse=resultat.deja_verse,
            solde=resultat.solde,
            reversement=resultat.reversement,
            etabli_par=acteur if getattr(acteur, "pk", None) else None,
        )


def soldes_en_attente_etablir(*, acte_ids: list[int] | None = None) -> int:
    """Retry the settlement of actes whose comptes-rendus are all validated but which have no décompte yet (the
    advance was not paid at validation time). Returns how many were settled now; refusals are left for later."""
    candidats = (
        ActeAttribution.objects.filter(comptes_rendus__statut=StatutCompteRendu.VALIDE, decompte_solde__isnull=True)
        .exclude(comptes_rendus__statut__in=[s for s in StatutCompteRendu.values if s != StatutCompteRendu.VALIDE])
        .distinct()
        .order_by("pk")
    )
    if acte_ids is not None:
        candidats = candidats.filter(pk__in=acte_ids)
    etablis = 0
    for acte in candidats:
        try:
            solde_etablir(acte=acte, acteur=None)
        except (PaiementRefuse, CompteRenduRefuse, TransitionRefusee):
            continue
        etablis += 1
    return etablis
