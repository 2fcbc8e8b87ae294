"""Every write of the finance app: échéanciers, payment transitions, listes de paiements and their files, returns,
the solde made due after the compte-rendu financier (and the reversement when too much was paid)."""

from __future__ import annotations

import calendar
import csv
import datetime
import io
import unicodedata
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from subventions.campagnes.models import Campagne
from subventions.conventions.models import ActeAttribution
from subventions.paiements import exports
from subventions.paiements.enums import DOCUMENTS_LISTE, FormatExport, NaturePaiement, StatutPaiement
from subventions.paiements.models import (
    AcomptePrevu,
    CompteurListes,
    Echeancier,
    LigneListe,
    ListePaiements,
    Paiement,
    RetourPaiements,
    Reversement,
    est_finance_de,
    motif_blocage,
)
from subventions.referentiel.models import Financeur
from workflows.documents import document_enregistrer
from workflows.transitions import TransitionRefusee, transition_appliquer

ZERO = Decimal("0.00")
CENTIME = Decimal("0.01")
CENT = Decimal("100")
SUFFIXES = {NaturePaiement.AVANCE: "AV", NaturePaiement.ACOMPTE: "AC", NaturePaiement.SOLDE: "SO"}


class PaiementRefuse(Exception):
    """A finance action that cannot be done; the message is French and shown as is."""


class RienAPayer(PaiementRefuse):
    """No payment due matches: no liste is created. `bloques` lists the due payments held by bad bank details."""

    def __init__(self, message: str, *, bloques: Sequence[tuple[Paiement, str]] = ()):
        super().__init__(message)
        self.bloques = list(bloques)


# --- Échéancier ------------------------------------------------------------------------------------------------------


def arrondi(montant: Decimal) -> Decimal:
    return montant.quantize(CENTIME, rounding=ROUND_HALF_UP)


def echeancier_repartir(
    *, montant_total: Decimal, taux_avance: Decimal, taux_acomptes: Sequence[Decimal] = ()
) -> list[tuple[str, int, Decimal]]:
    """Split `montant_total` into [(nature, rang, montant)]: the advance at `taux_avance` %, then each acompte at its
    rate, then the solde, which takes the rest (so the parts add up exactly to the total, to the cent).

    Rounding is cumulative (each part is the rounded running total minus the previous one), so no rounding can make
    the parts exceed the total; rates beyond 100 % in total are capped. A part worth zero is left out: there is no
    zero payment, and an advance of 100 % has no solde."""
    if montant_total < 0 or montant_total != montant_total.quantize(CENTIME):
        raise ValueError("montant_total must be a non-negative amount in cents")
    parts: list[tuple[str, int, Decimal]] = []
    cumul_taux = ZERO
    deja = ZERO
    for nature, rang, taux in [
        (NaturePaiement.AVANCE, 1, taux_avance),
        *((NaturePaiement.ACOMPTE, i, t) for i, t in enumerate(taux_acomptes, start=1)),
    ]:
        if taux < 0:
            raise ValueError("rates must be non-negative")
        cumul_taux = min(CENT, cumul_taux + taux)
        cumul = arrondi(montant_total * cumul_taux / CENT)
        if cumul - deja > 0:
            parts.append((nature, rang, cumul - deja))
        deja = cumul
    if montant_total - deja > 0:
        parts.append((NaturePaiement.SOLDE, 1, montant_total - deja))
    return parts


def _ctx(acte: ActeAttribution) -> dict[str, str]:
    return {"numero": acte.numero}


def _ajouter_mois(jour: datetime.date, mois: int) -> datetime.date:
    annee, m = divmod(jour.month - 1 + mois, 12)
    annee += jour.year
    return jour.replace(year=annee, month=m + 1, day=min(jour.day, calendar.monthrange(annee, m + 1)[1]))


def reference_paiement(acte: ActeAttribution, nature: str, rang: int) -> str:
    """ETAT-2015-0001-AV, -AC1, -SO: readable, unique, in the SEPA character set and at most 35 characters (the
    end-to-end id of the transfer)."""
    suffixe = SUFFIXES[nature] + (str(rang) if nature == NaturePaiement.ACOMPTE else "")
    reference = exports.identifiant_sepa(f"{acte.numero}-{suffixe}")
    if len(f"{acte.numero}-{suffixe}") > 35:  # a very long financeur code: fall back on the acte's id
        reference = f"ACTE-{acte.pk}-{suffixe}"
    return reference


def echeancier_creer(*, acte: ActeAttribution, acteur=None) -> Echeancier:
    """The échéancier of an executory acte: advance at the financeur's rate (due now), its acomptes prévus, the solde
    (prevu until the compte-rendu financier is validated). Idempotent: a second call returns the existing one and
    creates nothing. Runs in the caller's transaction (the signature's), under the acte's row lock."""
    with transaction.atomic():
        acte = ActeAttribution.objects.select_for_update().select_related("financeur").get(pk=acte.pk)
        existant = Echeancier.objects.filter(acte=acte).first()
        if existant is not None:
            return existant
        if not acte.est_executoire:
            raise PaiementRefuse(_("L'acte %(numero)s n'est pas exécutoire : pas encore d'échéancier.") % _ctx(acte))
        financeur = acte.financeur
        acomptes = list(AcomptePrevu.objects.filter(financeur=financeur).order_by("rang"))
        echeancier = Echeancier.objects.create(acte=acte, taux_avance=financeur.taux_avance)
        depart = timezone.localdate(acte.executoire_le) if acte.executoire_le else timezone.localdate()
        delais = {rang: acompte.delai_mois for rang, acompte in enumerate(acomptes, start=1)}
        parts = echeancier_repartir(
            montant_total=acte.montant_total,
            taux_avance=financeur.taux_avance,
            taux_acomptes=[a.taux for a in acomptes],
        )
        paiements = []
        for nature, rang, montant in parts:
            if nature == NaturePaiement.AVANCE:
                echeance = depart
            elif nature == NaturePaiement.ACOMPTE:
                echeance = _ajouter_mois(depart, delais[rang])
            else:  # the solde: after the compte-rendu, due within 6 months after the exercice
                echeance = datetime.date(acte.exercice + 1, 6, 30)
            paiements.append(
                Paiement.objects.create(
                    echeancier=echeancier,
                    financeur=financeur,
                    nature=nature,
                    rang=rang,
                    reference=reference_paiement(acte, nature, rang),
                    montant=montant,
                    echeance=echeance,
                )
            )
        for paiement in paiements:
            if paiement.nature == NaturePaiement.AVANCE:
                transition_appliquer(
                    obj=paiement,
                    transition="rendre_exigible",
                    acteur=acteur,
                    verifier_permission=False,
                    commentaire=_("Acte exécutoire : l'avance est due."),
                )
    return echeancier


def echeancier_modifier_engagement(*, echeancier: Echeancier, acteur, engagement_juridique: str) -> Echeancier:
    """Record the engagement juridique (Chorus) of the acte; it is printed in the listes created afterwards."""
    if not est_finance_de(echeancier.acte.financeur_id, acteur):
        raise PaiementRefuse(_("Vous n'avez pas le droit d'effectuer cette action sur ce dossier."))
    valeur = (engagement_juridique or "").strip()
    Echeancier.objects.filter(pk=echeancier.pk).update(engagement_juridique=valeur)
    echeancier.engagement_juridique = valeur
    return echeancier


def paiement_rendre_exigible(*, paiement: Paiement, acteur) -> Paiement:
    """An acompte whose condition is met (finance decides): prevu → a_payer. The solde is made due only by
    `solde_rendre_exigible`, after the compte-rendu financier."""
    if paiement.nature != NaturePaiement.ACOMPTE:
        raise PaiementRefuse(
            _("Seuls les acomptes se rendent exigibles ici ; le solde suit le compte-rendu financier.")
        )
    return transition_appliquer(
        obj=paiement,
        transition="rendre_exigible",
        acteur=acteur,
        version=paiement.version,
        commentaire=_("Acompte rendu exigible."),
    )


# --- Solde and reversement (called by the compte-rendu financier) ---------------------------------------------------


@dataclass
class ResultatSolde:
    solde: Paiement | None  # the solde now to pay (None when nothing is due)
    reversement: Reversement | None  # what the porteur must pay back (None when nothing was overpaid)
    deja_verse: Decimal


def solde_rendre_exigible(acte: ActeAttribution, *, montant_du: Decimal, acteur, motif: str = "") -> ResultatSolde:
    """Make the solde of `acte` due once its compte-rendu financier is validated. For the `bilans` app.

    `montant_du` is the amount finally owed to the porteur for the whole acte (≤ `acte.montant_total`): the granted
    total, or less when the action cost less than planned beyond the financeur's tolerance (the caller computes the
    reduction). What was already paid is the sum of the acte's paid advance and acomptes.

    - Acomptes still `prevu` are cancelled: their amount is folded into the solde.
    - An advance or acompte still on its way (a_payer, exporte, rejete) must be settled first: PaiementRefuse.
    - `montant_du` − paid > 0: the solde takes that amount (created if the échéancier had none) and goes a_payer,
      due today.
    - = 0: the solde, if any, is cancelled; nothing to pay, nothing to pay back.
    - < 0: the solde, if any, is cancelled and a `Reversement` of the difference is recorded (a_emettre), to be
      listed for a titre de recette.

    Runs in one transaction under the échéancier's payment locks; every state change goes through
    workflows.transition_appliquer and is logged with `acteur` and `motif`. The permission is the caller's (the
    instructeur who validates the compte-rendu is not finance staff): transitions are not permission-checked here.
    Calling it again for the same acte is refused (the solde is no longer prevu, or a reversement exists)."""
    montant_du = Decimal(montant_du)
    if montant_du < 0 or montant_du != montant_du.quantize(CENTIME):
        raise PaiementRefuse(_("Le montant dû doit être un montant positif ou nul, au centime."))
    with transaction.atomic():
        acte = ActeAttribution.objects.select_for_update().get(pk=acte.pk)
        if montant_du > acte.montant_total:
            raise PaiementRefuse(
                _("Le montant dû (%(du)s €) dépasse le montant attribué (%(total)s €).")
                % {"du": montant_du, "total": acte.montant_total}
            )
        echeancier = Echeancier.objects.filter(acte=acte).first()
        if echeancier is None:
            raise PaiementRefuse(_("L'acte %(numero)s n'a pas d'échéancier : il n'est pas exécutoire.") % _ctx(acte))
        paiements = list(echeancier.paiements.select_for_update().order_by("pk"))
        solde = next((p for p in paiements if p.nature == NaturePaiement.SOLDE), None)
        if (solde is not None and solde.statut != StatutPaiement.PREVU) or acte.reversements.exists():
            raise PaiementRefuse(_("Le solde de l'acte %(numero)s a déjà été traité.") % _ctx(acte))
        autres = [p for p in paiements if p.nature != NaturePaiement.SOLDE]
        en_cours = [
            p for p in autres if p.statut in (StatutPaiement.A_PAYER, StatutPaiement.EXPORTE, StatutPaiement.REJETE)
        ]
        if en_cours:
            raise PaiementRefuse(
                _("Paiement %(reference)s pas encore réglé : réglez-le avant de rendre le solde exigible.")
                % {"reference": en_cours[0].reference}
            )
        commentaire = motif or _("Compte-rendu financier validé.")
        for acompte in autres:
            if acompte.statut == StatutPaiement.PREVU:
                transition_appliquer(
                    obj=acompte,
                    transition="annuler",
                    acteur=acteur,
                    verifier_permission=False,
                    commentaire=_("Acompte non versé, reporté sur le solde. %(motif)s") % {"motif": commentaire},
                )
        deja_verse = sum((p.montant for p in autres if p.statut == StatutPaiement.PAYE), ZERO)
        reste = montant_du - deja_verse
        reversement = None
        if reste > 0:
            if solde is None:
                solde = Paiement.objects.create(
                    echeancier=echeancier,
                    financeur_id=acte.financeur_id,
                    nature=NaturePaiement.SOLDE,
                    rang=1,
                    reference=reference_paiement(acte, NaturePaiement.SOLDE, 1),
                    montant=reste,
                    echeance=timezone.localdate(),
                )

            def _fixer(paiement: Paiement) -> None:
                paiement.montant = reste
                paiement.echeance = timezone.localdate()

            solde = transition_appliquer(
                obj=solde,
                transition="rendre_exigible",
                acteur=acteur,
                verifier_permission=False,
                avant=_fixer,
                commentaire=commentaire,
                extra={"montant_du": str(montant_du), "deja_verse": str(deja_verse)},
            )
            return ResultatSolde(solde=solde, reversement=None, deja_verse=deja_verse)
        if solde is not None:
            transition_appliquer(
                obj=solde,
                transition="annuler",
                acteur=acteur,
                verifier_permission=False,
                commentaire=commentaire,
                extra={"montant_du": str(montant_du), "deja_verse": str(deja_verse)},
            )
        if reste < 0:
            reversement = Reversement(
                acte=acte,
                financeur_id=acte.financeur_id,
                montant=-reste,
                motif=_("Versé %(verse)s € pour %(du)s € dus. %(motif)s")
                % {"verse": deja_verse, "du": montant_du, "motif": commentaire},
                cree_par=acteur if getattr(acteur, "pk", None) else None,
            )
            reversement.full_clean()
            reversement.save()
        return ResultatSolde(solde=None, reversement=reversement, deja_verse=deja_verse)


# --- Listes de paiements ---------------------------------------------------------------------------------------------


@dataclass
class Criteres:
    """What a liste takes: the due payments of one financeur, narrowed by campagne, due date, porteur or ids."""

    financeur: Financeur
    campagne: Campagne | None = None
    echeance_max: datetime.date | None = None
    porteur: str = ""  # name or SIRET, contains
    paiement_ids: Iterable[int] | None = None

    def filtrer(self, qs: QuerySet[Paiement]) -> QuerySet[Paiement]:
        qs = qs.filter(financeur=self.financeur, statut=StatutPaiement.A_PAYER)
        if self.campagne is not None:
            qs = qs.filter(echeancier__acte__campagne=self.campagne)
        if self.echeance_max is not None:
            qs = qs.filter(echeance__lte=self.echeance_max)
        if self.porteur.strip():
            terme = self.porteur.strip()
            qs = qs.filter(
                Q(echeancier__acte__porteur__nom__icontains=terme)
                | Q(echeancier__acte__porteur__siret=terme.replace(" ", ""))
            )
        if self.paiement_ids is not None:
            qs = qs.filter(pk__in=list(self.paiement_ids))
        return qs

    def en_json(self) -> dict[str, str]:
        return {
            "campagne": self.campagne.titre if self.campagne else "",
            "echeance_max": self.echeance_max.isoformat() if self.echeance_max else "",
            "porteur": self.porteur.strip(),
            "selection": "oui" if self.paiement_ids is not None else "",
        }


@dataclass
class ResultatListe:
    liste: ListePaiements
    bloques: list[tuple[Paiement, str]] = field(default_factory=list)
    existante: bool = False  # the same form was submitted again: its liste is returned, nothing is created


def sepa_configure(financeur: Financeur) -> bool:
    return bool(financeur.sepa_iban)


def _numero_liste(financeur: Financeur, annee: int) -> str:
    """LP-ETAT-2025-0001, under the counter's row lock (a rollback gives the number back)."""
    try:
        with transaction.atomic():
            CompteurListes.objects.get_or_create(financeur=financeur, annee=annee)
    except IntegrityError:
        pass  # created meanwhile by a concurrent run
    compteur = CompteurListes.objects.select_for_update().get(financeur=financeur, annee=annee)
    compteur.dernier += 1
    compteur.save(update_fields=["dernier"])
    numero = f"LP-{financeur.code.upper()}-{annee}-{compteur.dernier:04d}"
    return numero if len(numero) <= 35 else f"LP-{financeur.pk}-{annee}-{compteur.dernier:04d}"


def _paiements_a_verrouiller() -> QuerySet[Paiement]:
    return Paiement.objects.select_related(
        "financeur", "echeancier__acte__porteur", "echeancier__acte__campagne"
    ).order_by("pk")


def ligne_export(paiement: Paiement, *, iban: str, bic: str) -> exports.LigneExport:
    acte = paiement.echeancier.acte
    financeur = paiement.financeur
    return exports.LigneExport(
        reference=paiement.reference,
        financeur=financeur.nom,
        acte_numero=acte.numero,
        exercice=acte.exercice,
        porteur=acte.porteur.nom,
        siret=acte.porteur.siret,
        iban=iban,
        bic=bic,
        nature=paiement.get_nature_display(),
        montant=paiement.montant,
        echeance=paiement.echeance,
        engagement_juridique=paiement.echeancier.engagement_juridique,
        centre_financier=financeur.chorus_centre_financier,
        domaine_fonctionnel=financeur.chorus_domaine_fonctionnel,
        activite=financeur.chorus_activite,
    )


def liste_creer(*, criteres: Criteres, acteur, cle: uuid.UUID | None = None) -> ResultatListe:
    """Create a liste of the due payments matching `criteres`, with its files, in one transaction.

    The matching payments are locked (in id order); those whose porteur has no valid IBAN/BIC are left out and
    returned in `bloques`; the others go `exporte`, each in one active LigneListe — the partial unique index
    refuses a payment in two active listes even if two finance users create listes at the same moment. The CSV, XLSX
    and (when the financeur has a SEPA account) SEPA files are written and stored with their SHA-256 in the same
    transaction: if anything fails, there is no liste, no file row and no payment marked.

    `cle` is the creation form's one-time key: the same key again returns the liste already made (`existante`).
    Raises RienAPayer when nothing is left to pay, PaiementRefuse when a file cannot be written."""
    if cle is not None and (existante := ListePaiements.objects.filter(cle=cle).first()) is not None:
        return ResultatListe(liste=existante, existante=True)
    financeur = criteres.financeur
    if acteur is not None and not est_finance_de(financeur.pk, acteur):
        raise PaiementRefuse(_("Vous n'avez pas le droit de payer pour %(financeur)s.") % {"financeur": financeur.nom})
    try:
        with transaction.atomic():
            # Lock the candidates; PostgreSQL re-checks the filter on rows another liste took meanwhile (skipped).
            paiements = list(criteres.filtrer(_paiements_a_verrouiller().select_for_update(of=("self",))))
            if cle is not None and (existante := ListePaiements.objects.filter(cle=cle).first()) is not None:
                return ResultatListe(liste=existante, existante=True)
            bloques, payables = [], []
            for paiement in paiements:
                motif = motif_blocage(paiement.echeancier.acte.porteur)
                if motif:
                    bloques.append((paiement, motif))
                else:
                    payables.append(paiement)
            if not payables:
                raise RienAPayer(
                    _("Aucun paiement à payer pour %(financeur)s selon ces critères.") % {"financeur": financeur.nom}
                    if not bloques
                    else _("Aucun paiement ne peut être mis en liste : %(n)s paiement(s) bloqué(s).")
                    % {"n": len(bloques)},
                    bloques=bloques,
                )
            maintenant = timezone.now()
            liste = ListePaiements.objects.create(
                financeur=financeur,
                numero=_numero_liste(financeur, timezone.localdate(maintenant).year),
                cle=cle,
                criteres=criteres.en_json(),
                nb_paiements=len(payables),
                montant_total=sum((p.montant for p in payables), ZERO),
                date_execution=timezone.localdate(maintenant),
                cree_par=acteur if getattr(acteur, "pk", None) else None,
                cree_le=maintenant,
            )
            lignes = []
            for paiement in payables:
                porteur = paiement.echeancier.acte.porteur
                lignes.append(
                    LigneListe(
                        liste=liste,
                        paiement=paiement,
                        montant=paiement.montant,
                        iban=porteur.iban.replace(" ", "").upper(),
                        bic=porteur.bic.replace(" ", "").upper(),
                    )
                )
            LigneListe.objects.bulk_create(lignes)
            for paiement in payables:
                transition_appliquer(
                    obj=paiement,
                    transition="exporter",
                    acteur=acteur,
                    commentaire=_("Liste %(numero)s") % {"numero": liste.numero},
                    extra={"liste": liste.pk},
                )
            fichiers_enregistrer(liste=liste, lignes=lignes, paiements=payables)
            return ResultatListe(liste=liste, bloques=bloques)
    except IntegrityError as exc:
        # The partial unique index: another liste took one of these payments between our read and our write.
        raise PaiementRefuse(_("Un de ces paiements vient d'être mis dans une autre liste : recommencez.")) from exc


def fichiers_enregistrer(
    *, liste: ListePaiements, lignes: Sequence[LigneListe], paiements: Sequence[Paiement]
) -> None:
    """Write the liste's files (CSV, XLSX, and SEPA when the financeur has an account) and store each once."""
    financeur = liste.financeur
    entete = exports.EnteteListe(
        numero=liste.numero,
        cree_le=timezone.localtime(liste.cree_le),
        date_execution=liste.date_execution,
        debiteur_nom=financeur.sepa_nom or financeur.nom,
        debiteur_iban=financeur.sepa_iban,
        debiteur_bic=financeur.sepa_bic,
    )
    rangs = [ligne_export(p, iban=ligne.iban, bic=ligne.bic) for p, ligne in zip(paiements, lignes, strict=True)]
    ecrivains = {FormatExport.CSV: exports.csv_liste, FormatExport.XLSX: exports.xlsx_liste}
    if sepa_configure(financeur):
        ecrivains[FormatExport.SEPA] = exports.sepa_liste
    contenus = {}
    for format_, ecrire in ecrivains.items():
        try:
            contenus[format_] = ecrire(entete, rangs)
        except exports.ExportImpossible as exc:
            raise PaiementRefuse(str(exc)) from exc
    # Storage last, once every file was written: a failing writer leaves no file behind, and a failing storage
    # removes what it had already written (the rows go with the transaction's rollback).
    enregistres = []
    try:
        for format_, contenu in contenus.items():
            nature, extension, _mime = DOCUMENTS_LISTE[format_]
            enregistres.append(
                document_enregistrer(obj=liste, nature=nature, contenu=contenu, nom=f"{liste.numero}.{extension}")
            )
    except BaseException:
        for document in enregistres:
            document.fichier.delete(save=False)
        raise


def liste_annuler(*, liste: ListePaiements, acteur, motif: str) -> ListePaiements:
    """Cancel a liste the bank or the comptable will not process: its exported payments go back to a_payer (free for
    another liste); refused once one of them is paid."""
    motif = (motif or "").strip()
    if not motif:
        raise PaiementRefuse(_("Indiquez le motif de l'annulation."))
    with transaction.atomic():
        lignes = list(LigneListe.objects.filter(liste=liste, active=True).order_by("paiement_id"))
        paiements = list(
            Paiement.objects.select_for_update().filter(pk__in=[ligne.paiement_id for ligne in lignes]).order_by("pk")
        )
        payes = [p for p in paiements if p.statut == StatutPaiement.PAYE]
        if payes:
            raise PaiementRefuse(
                _("%(n)s paiement(s) de cette liste sont déjà payés : elle ne peut plus être annulée.")
                % {"n": len(payes)}
            )
        liste = transition_appliquer(
            obj=liste,
            transition="annuler",
            acteur=acteur,
            commentaire=motif,
            avant=lambda verrouillee: setattr(verrouillee, "motif_annulation", motif[:300]),
        )
        LigneListe.objects.filter(liste=liste, active=True).update(active=False)
        for paiement in paiements:
            if paiement.statut == StatutPaiement.EXPORTE:
                transition_appliquer(
                    obj=paiement,
                    transition="liberer",
                    acteur=acteur,
                    commentaire=_("Liste %(numero)s annulée : %(motif)s") % {"numero": liste.numero, "motif": motif},
                )
    return liste


# --- Payment results: one by one, or from a return file ------------------------------------------------------------


def _liste_active_de(paiement: Paiement) -> ListePaiements | None:
    ligne = LigneListe.objects.select_related("liste").filter(paiement=paiement, active=True).first()
    return ligne.liste if ligne else None


def _verifier_date(paiement: Paiement, jour: datetime.date) -> None:
    if jour > timezone.localdate():
        raise PaiementRefuse(
            _("%(reference)s : la date de paiement %(date)s est dans le futur.")
            % {"reference": paiement.reference, "date": jour.strftime("%d/%m/%Y")}
        )
    liste = _liste_active_de(paiement)
    if liste is not None and jour < timezone.localdate(liste.cree_le):
        raise PaiementRefuse(
            _("%(reference)s : la date de paiement %(date)s précède la liste %(liste)s du %(cree)s.")
            % {
                "reference": paiement.reference,
                "date": jour.strftime("%d/%m/%Y"),
                "liste": liste.numero,
                "cree": timezone.localdate(liste.cree_le).strftime("%d/%m/%Y"),
            }
        )


def paiement_payer(
    *, paiement: Paiement, acteur, reference: str, date: datetime.date, version: int | None = None, extra=None
) -> Paiement:
    """The comptable or the bank paid it: exporte → paye, with the mandate or transfer reference and the date."""
    reference = (reference or "").strip()
    if not reference:
        raise PaiementRefuse(_("Indiquez la référence du mandat ou du virement."))
    _verifier_date(paiement, date)

    def _fixer(p: Paiement) -> None:
        p.reglement_reference = reference[:70]
        p.reglement_date = date

    return transition_appliquer(
        obj=paiement,
        transition="payer",
        acteur=acteur,
        avant=_fixer,
        version=version,
        commentaire=_("Payé le %(date)s, référence %(ref)s") % {"date": date.strftime("%d/%m/%Y"), "ref": reference},
        extra=extra,
    )


def paiement_rejeter(*, paiement: Paiement, acteur, motif: str, version: int | None = None, extra=None) -> Paiement:
    """Returned unpaid: exporte → rejete, with the reason. It stays in its liste until it is put back to pay."""
    motif = (motif or "").strip()
    if not motif:
        raise PaiementRefuse(_("Indiquez le motif du rejet."))
    return transition_appliquer(
        obj=paiement,
        transition="rejeter",
        acteur=acteur,
        avant=lambda p: setattr(p, "motif_rejet", motif[:300]),
        version=version,
        commentaire=motif,
        extra=extra,
    )


def paiement_reprendre(*, paiement: Paiement, acteur, version: int | None = None) -> Paiement:
    """The cause of a rejection is fixed: rejete → a_payer, out of its old liste, to go in a new one. Refused while
    the porteur's bank details are still invalid."""
    with transaction.atomic():
        porteur = paiement.echeancier.acte.porteur
        porteur.refresh_from_db(fields=["iban", "bic"])
        motif = motif_blocage(porteur)
        if motif:
            raise PaiementRefuse(
                _("%(reference)s reste bloqué : %(motif)s") % {"reference": paiement.reference, "motif": motif}
            )
        paiement = transition_appliquer(
            obj=paiement,
            transition="reprendre",
            acteur=acteur,
            version=version,
            commentaire=_("Remis à payer après correction."),
        )
        LigneListe.objects.filter(paiement=paiement, active=True).update(active=False)
    return paiement


@dataclass
class LigneRapport:
    numero: int  # line number in the file (the header is line 1)
    reference: str
    resultat: str  # "paye", "rejete", "deja" (already recorded, skipped) or "erreur"
    message: str = ""
    paiement: Paiement | None = None


@dataclass
class RapportRetour:
    lignes: list[LigneRapport]
    applique: bool
    retour: RetourPaiements | None = None
    erreur: str = ""  # a problem with the whole file (encoding, columns)

    def nb(self, resultat: str) -> int:
        return sum(1 for ligne in self.lignes if ligne.resultat == resultat)

    @property
    def reconnues(self) -> list[LigneRapport]:
        return [ligne for ligne in self.lignes if ligne.resultat != "erreur"]

    @property
    def non_reconnues(self) -> list[LigneRapport]:
        return [ligne for ligne in self.lignes if ligne.resultat == "erreur"]


def _colonne(entete: str) -> str | None:
    """Which field a return file's column holds, from its header, however the comptable or the bank spelled it."""
    nom = _simplifier(entete)
    if not nom:
        return None
    if any(mot in nom for mot in ("mandat", "reglement", "virement")):
        return "reglement"
    if "motif" in nom:
        return "motif"
    if "statut" in nom or nom == "etat":
        return "statut"
    if nom.startswith("date"):
        return "date"
    if "reference" in nom or "bout en bout" in nom or nom in ("ref", "endtoendid", "end to end id"):
        return "reference"
    return None


STATUTS_RETOUR = {
    "": "paye",
    "paye": "paye",
    "payee": "paye",
    "ok": "paye",
    "rejete": "rejete",
    "rejetee": "rejete",
    "rejet": "rejete",
}


def _simplifier(texte: str) -> str:
    sans_accents = unicodedata.normalize("NFKD", texte).encode("ascii", "ignore").decode()
    return " ".join(sans_accents.lower().replace("_", " ").replace("-", " ").replace(".", " ").split())


def _lire_date(valeur: str) -> datetime.date | None:
    valeur = valeur.strip()
    for motif in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.datetime.strptime(valeur, motif).date()  # noqa: DTZ007 - a calendar date, no time
        except ValueError:
            continue
    return None


def _lire_csv(contenu: bytes) -> list[list[str]]:
    try:
        texte = contenu.decode("utf-8-sig")
    except UnicodeDecodeError:
        texte = contenu.decode("cp1252")
    premiere = texte.split("\n", 1)[0]
    separateur = max((";", ",", "\t"), key=premiere.count)
    return list(csv.reader(io.StringIO(texte, newline=""), delimiter=separateur))


def retour_importer(*, contenu: bytes, nom_fichier: str, acteur, paiements: QuerySet[Paiement]) -> RapportRetour:
    """Apply a return file (the comptable's or the bank's) to the exported payments of `paiements` (the user's
    scope): columns référence and date (JJ/MM/AAAA or AAAA-MM-JJ), optional statut (payé / rejeté), motif and
    mandat (the mandate or transfer reference; the payment reference otherwise).

    All or nothing: every line is checked first; the file is applied only if every line matches a payment that can
    take it (a line already recorded the same way is skipped, so importing a file twice is harmless); otherwise
    nothing changes and the report says which lines did not match and why. An applied file is kept."""
    try:
        rangees = _lire_csv(contenu)
    except (UnicodeDecodeError, csv.Error) as exc:
        return RapportRetour(lignes=[], applique=False, erreur=_("Fichier illisible : %(e)s") % {"e": exc})
    rangees = [r for r in rangees if any(c.strip() for c in r)]
    if not rangees:
        return RapportRetour(lignes=[], applique=False, erreur=_("Le fichier est vide."))
    colonnes: dict[str, int] = {}
    for i, entete in enumerate(rangees[0]):
        if (champ := _colonne(entete)) is not None:
            colonnes.setdefault(champ, i)
    manquantes = [c for c in ("reference", "date") if c not in colonnes]
    if manquantes:
        return RapportRetour(
            lignes=[],
            applique=False,
            erreur=_(
                "Colonnes obligatoires absentes de la première ligne : %(c)s (colonnes attendues : référence, "
                "date, et au choix statut, motif, mandat)."
            )
            % {"c": ", ".join(manquantes)},
        )

    def cellule(rangee: list[str], nom: str) -> str:
        i = colonnes.get(nom)
        return rangee[i].strip() if i is not None and i < len(rangee) else ""

    references = [cellule(r, "reference") for r in rangees[1:]]
    trouves = {p.reference: p for p in paiements.filter(reference__in=[r for r in references if r])}
    lignes: list[LigneRapport] = []
    vues: set[str] = set()
    for numero, rangee in enumerate(rangees[1:], start=2):
        reference = cellule(rangee, "reference")
        ligne = LigneRapport(numero=numero, reference=reference, resultat="erreur")
        lignes.append(ligne)
        statut = STATUTS_RETOUR.get(_simplifier(cellule(rangee, "statut")))
        jour = _lire_date(cellule(rangee, "date"))
        paiement = trouves.get(reference)
        if not reference:
            ligne.message = _("Référence absente.")
        elif reference in vues:
            ligne.message = _("Référence en double dans le fichier.")
        elif paiement is None:
            ligne.message = _("Aucun paiement de votre périmètre ne porte cette référence.")
        elif statut is None:
            ligne.message = _("Statut « %(s)s » inconnu : payé ou rejeté.") % {"s": cellule(rangee, "statut")}
        elif statut == "paye" and jour is None:
            ligne.message = _("Date « %(d)s » illisible : JJ/MM/AAAA ou AAAA-MM-JJ.") % {"d": cellule(rangee, "date")}
        elif statut == "rejete" and not cellule(rangee, "motif"):
            ligne.message = _("Motif du rejet absent.")
        else:
            ligne.paiement = paiement
            ligne.resultat, ligne.message = _resultat_retour(paiement, statut, jour)
        vues.add(reference)
    if not lignes:
        return RapportRetour(lignes=[], applique=False, erreur=_("Le fichier ne contient aucune ligne de paiement."))
    rapport = RapportRetour(lignes=lignes, applique=False)
    if rapport.non_reconnues:
        return rapport
    try:
        with transaction.atomic():
            retour = RetourPaiements.objects.create(nom_fichier=nom_fichier[:200], importe_par=acteur)
            for ligne, rangee in zip(lignes, rangees[1:], strict=True):
                extra = {"retour": retour.pk, "ligne": ligne.numero}
                if ligne.resultat == "paye":
                    paiement_payer(
                        paiement=ligne.paiement,
                        acteur=acteur,
                        reference=cellule(rangee, "reglement") or ligne.reference,
                        date=_lire_date(cellule(rangee, "date")),
                        extra=extra,
                    )
                elif ligne.resultat == "rejete":
                    paiement_rejeter(
                        paiement=ligne.paiement, acteur=acteur, motif=cellule(rangee, "motif"), extra=extra
                    )
            retour.nb_payes, retour.nb_rejetes, retour.nb_deja = (
                rapport.nb("paye"),
                rapport.nb("rejete"),
                rapport.nb("deja"),
            )
            retour.save(update_fields=["nb_payes", "nb_rejetes", "nb_deja"])
            document_enregistrer(obj=retour, nature="retour_paiements", contenu=contenu, nom=nom_fichier[:200])
    except (PaiementRefuse, TransitionRefusee) as exc:
        return RapportRetour(lignes=lignes, applique=False, erreur=str(exc))
    rapport.applique, rapport.retour = True, retour
    return rapport


def _resultat_retour(paiement: Paiement, statut: str, jour: datetime.date | None) -> tuple[str, str]:
    """What a return line would do to this payment: ("paye"|"rejete"|"deja"|"erreur", message)."""
    if statut == "paye" and paiement.statut == StatutPaiement.PAYE and paiement.reglement_date == jour:
        return "deja", _("Déjà enregistré comme payé.")
    if statut == "rejete" and paiement.statut == StatutPaiement.REJETE:
        return "deja", _("Déjà enregistré comme rejeté.")
    if paiement.statut != StatutPaiement.EXPORTE:
        return "erreur", _("Le paiement est « %(s)s » : seul un paiement exporté peut être payé ou rejeté.") % {
            "s": paiement.get_statut_display()
        }
    if statut == "paye":
        try:
            _verifier_date(paiement, jour)
        except PaiementRefuse as exc:
            return "erreur", str(exc)
        return "paye", _("Payé le %(d)s.") % {"d": jour.strftime("%d/%m/%Y")}
    return "rejete", _("Rejeté.")
