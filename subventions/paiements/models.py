"""Échéancier of each executory acte, its payments (prevu → a_payer → exporte → paye | rejete), the listes de
paiements handed to the bank or the comptable, the imported returns, and the reversements asked back."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q, Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition
from schwifty import BIC, IBAN
from schwifty.exceptions import SchwiftyException

from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre
from subventions.conventions.models import ActeAttribution
from subventions.paiements.enums import NaturePaiement, StatutListe, StatutPaiement, StatutReversement
from subventions.referentiel.models import Financeur

# Finance staff of the financeur pay; administrateurs may do everything finance does.
ROLES_FINANCE = (Role.FINANCE, Role.ADMINISTRATEUR)
MONTANT = {"max_digits": 12, "decimal_places": 2}


def est_finance_de(financeur_id: int, user) -> bool:
    p = perimetre(user, ROLES_FINANCE)
    return not p.vide and (p.tous_financeurs or financeur_id in p.financeur_ids)


def _finance(obj, user) -> bool:
    return est_finance_de(obj.financeur_id, user)


def motif_blocage(porteur) -> str:
    """Why a transfer to this porteur cannot be sent (French), or "" when its IBAN (and BIC, if given) are valid.

    Checked with schwifty whenever a payment is put in a liste or put back to pay: a payment is never exported to an
    account that does not exist. The BIC is optional (SEPA transfers only need the IBAN) but must be valid if set."""
    iban = (porteur.iban or "").replace(" ", "").upper()
    if not iban:
        return gettext("IBAN manquant : la structure doit renseigner ses coordonnées bancaires.")
    try:
        IBAN(iban)
    except SchwiftyException as exc:
        return gettext("IBAN invalide (%(raison)s) : la structure doit corriger ses coordonnées bancaires.") % {
            "raison": exc
        }
    bic = (porteur.bic or "").replace(" ", "").upper()
    if bic:
        try:
            BIC(bic)
        except SchwiftyException as exc:
            return gettext("BIC invalide (%(raison)s) : la structure doit corriger ses coordonnées bancaires.") % {
                "raison": exc
            }
    return ""


class AcomptePrevu(models.Model):
    """An acompte a financeur pays between the advance and the solde: `taux` % of the acte, `delai_mois` months after
    it became executory. Copied into each échéancier when the acte becomes executory."""

    financeur = models.ForeignKey(Financeur, on_delete=models.CASCADE, related_name="acomptes_prevus")
    rang = models.PositiveSmallIntegerField(_("rang"), default=1)
    taux = models.DecimalField(_("part de l'acte (%)"), max_digits=5, decimal_places=2)
    delai_mois = models.PositiveSmallIntegerField(_("échéance (mois après la signature)"), default=6)

    class Meta:
        verbose_name = _("acompte prévu")
        verbose_name_plural = _("acomptes prévus")
        ordering = ["financeur", "rang"]
        constraints = [
            models.UniqueConstraint(fields=["financeur", "rang"], name="acompte_prevu_rang_unique"),
            models.CheckConstraint(condition=Q(taux__gt=0, taux__lte=100), name="acompte_prevu_taux_pourcentage"),
        ]

    def __str__(self) -> str:
        return f"{self.financeur_id} acompte {self.rang} : {self.taux} %"

    def clean(self) -> None:
        if self.financeur_id is None or self.taux is None:
            return
        autres = (
            AcomptePrevu.objects.filter(financeur_id=self.financeur_id)
            .exclude(pk=self.pk)
            .aggregate(t=Sum("taux"))["t"]
            or 0
        )
        if self.financeur.taux_avance + autres + self.taux > 100:
            raise ValidationError(
                {"taux": gettext("L'avance et les acomptes de ce financeur dépasseraient 100 % de l'acte.")}
            )


class Echeancier(models.Model):
    """The payment schedule of one executory acte (convention, arrêté or avenant): created once, when it becomes
    executory; its payments add up to the acte's amount."""

    acte = models.OneToOneField(ActeAttribution, on_delete=models.PROTECT, related_name="echeancier")
    taux_avance = models.DecimalField(_("avance (%)"), max_digits=5, decimal_places=2)
    engagement_juridique = models.CharField(
        _("engagement juridique"),
        max_length=30,
        blank=True,
        help_text=_("Numéro d'engagement juridique (Chorus) ou d'engagement comptable de l'acte."),
    )
    cree_le = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("échéancier")
        verbose_name_plural = _("échéanciers")
        ordering = ["acte"]

    def __str__(self) -> str:
        return gettext("Échéancier de %(acte)s") % {"acte": self.acte.numero}


class Paiement(ConcurrentTransitionMixin, models.Model):
    """One versement of an échéancier. Its state moves only through workflows.transition_appliquer:
    prevu → a_payer (the acte is executory for the advance, the compte-rendu is validated for the solde) → exporte
    (in exactly one active liste) → paye (mandate or transfer reference and date) | rejete (reason; back to a_payer
    once fixed); prevu, a_payer or rejete → annule (an acompte folded into the solde, a solde not due)."""

    echeancier = models.ForeignKey(Echeancier, on_delete=models.PROTECT, related_name="paiements")
    # The acte's financeur, copied (it never changes) so that scoping and the dashboard need no join.
    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, related_name="paiements")
    nature = models.CharField(_("nature"), max_length=10, choices=NaturePaiement.choices)
    rang = models.PositiveSmallIntegerField(_("rang"), default=1)
    reference = models.CharField(
        _("référence"), max_length=35, unique=True, help_text=_("Identifiant de bout en bout du virement SEPA.")
    )
    montant = models.DecimalField(_("montant (€)"), **MONTANT)
    echeance = models.DateField(_("échéance"))
    statut = FSMField(
        _("statut"), max_length=10, choices=StatutPaiement.choices, default=StatutPaiement.PREVU, protected=True
    )
    reglement_reference = models.CharField(_("référence du mandat ou du virement"), max_length=70, blank=True)
    reglement_date = models.DateField(_("date de paiement"), null=True, blank=True)
    motif_rejet = models.CharField(_("motif du dernier rejet"), max_length=300, blank=True)
    # Optimistic lock: a page carries the version it showed; a write on an older version is refused.
    version = models.PositiveIntegerField(default=0)
    cree_le = models.DateTimeField(_("créé le"), auto_now_add=True)
    maj_le = models.DateTimeField(_("mis à jour le"), auto_now=True)

    class Meta:
        verbose_name = _("paiement")
        verbose_name_plural = _("paiements")
        ordering = ["echeance", "reference"]
        constraints = [
            models.CheckConstraint(condition=Q(montant__gt=0), name="paiement_montant_positif"),
            models.UniqueConstraint(fields=["echeancier", "nature", "rang"], name="paiement_rang_unique"),
            models.UniqueConstraint(
                fields=["echeancier"], condition=Q(nature=NaturePaiement.SOLDE), name="paiement_un_solde"
            ),
            models.CheckConstraint(
                condition=~Q(statut=StatutPaiement.PAYE)
                | (Q(reglement_date__isnull=False) & ~Q(reglement_reference="")),
                name="paiement_paye_reference_et_date",
            ),
            models.CheckConstraint(
                condition=~Q(statut=StatutPaiement.REJETE) | ~Q(motif_rejet=""), name="paiement_rejete_motif"
            ),
        ]
        indexes = [models.Index(fields=["financeur", "statut", "echeance"])]

    def __str__(self) -> str:
        return f"{self.reference} — {self.montant} €"

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude={*(exclude or ()), "statut"})

    @property
    def acte(self) -> ActeAttribution:
        return self.echeancier.acte

    # --- Workflow ------------------------------------------------------------------------------------------------

    @transition(field=statut, source=StatutPaiement.PREVU, target=StatutPaiement.A_PAYER, permission=_finance)
    def rendre_exigible(self) -> None:
        """Its condition is met: the acte became executory (advance), its date came (acompte), the compte-rendu
        financier was validated (solde)."""

    @transition(field=statut, source=StatutPaiement.A_PAYER, target=StatutPaiement.EXPORTE, permission=_finance)
    def exporter(self) -> None:
        """Put in a liste de paiements (the service checks the porteur's bank details first)."""

    @transition(field=statut, source=StatutPaiement.EXPORTE, target=StatutPaiement.A_PAYER, permission=_finance)
    def liberer(self) -> None:
        """Its liste was cancelled: it may go in another one."""

    @transition(field=statut, source=StatutPaiement.EXPORTE, target=StatutPaiement.PAYE, permission=_finance)
    def payer(self) -> None:
        """The comptable or the bank paid it (the service sets the reference and date)."""

    @transition(field=statut, source=StatutPaiement.EXPORTE, target=StatutPaiement.REJETE, permission=_finance)
    def rejeter(self) -> None:
        """Returned unpaid (closed account, wrong IBAN…): the service records the reason."""

    @transition(field=statut, source=StatutPaiement.REJETE, target=StatutPaiement.A_PAYER, permission=_finance)
    def reprendre(self) -> None:
        """The cause of the rejection was fixed (e.g. a new IBAN): to be paid in a new liste."""

    @transition(
        field=statut,
        source=[StatutPaiement.PREVU, StatutPaiement.A_PAYER, StatutPaiement.REJETE],
        target=StatutPaiement.ANNULE,
        permission=_finance,
    )
    def annuler(self) -> None:
        """Nothing to pay any more: a solde reduced to zero or turned into a reversement, an acompte folded into the
        solde."""


class CompteurListes(models.Model):
    """The last liste number given for a financeur and year; locked to give the next one."""

    financeur = models.ForeignKey(Financeur, on_delete=models.CASCADE, related_name="+")
    annee = models.PositiveSmallIntegerField(_("année"))
    dernier = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("compteur de listes de paiements")
        constraints = [models.UniqueConstraint(fields=["financeur", "annee"], name="compteur_listes_unique")]

    def __str__(self) -> str:
        return f"{self.financeur_id} {self.annee} : {self.dernier}"


class ListePaiements(ConcurrentTransitionMixin, models.Model):
    """A batch of due payments of one financeur, handed to the bank (SEPA file) or the comptable (CSV, XLSX).

    Created atomically with its files; emise → annulee releases its payments (unless some are already paid)."""

    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, related_name="listes_paiements")
    numero = models.CharField(_("numéro"), max_length=35, unique=True)
    statut = FSMField(
        _("statut"), max_length=10, choices=StatutListe.choices, default=StatutListe.EMISE, protected=True
    )
    # The creation form's one-time key: submitting the same form twice gives the same liste, never two.
    cle = models.UUIDField(_("clé de création"), unique=True, null=True, blank=True, editable=False)
    criteres = models.JSONField(_("critères de sélection"), default=dict, blank=True)
    nb_paiements = models.PositiveIntegerField(_("nombre de paiements"), default=0)
    montant_total = models.DecimalField(_("montant total (€)"), default=Decimal("0.00"), **MONTANT)
    date_execution = models.DateField(_("date d'exécution demandée"))
    cree_par = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("créée par"),
        help_text=_("Vide : créée par la commande payments_export."),
    )
    cree_le = models.DateTimeField(_("créée le"), default=timezone.now)
    annulee_le = models.DateTimeField(_("annulée le"), null=True, blank=True)
    motif_annulation = models.CharField(_("motif de l'annulation"), max_length=300, blank=True)
    version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("liste de paiements")
        verbose_name_plural = _("listes de paiements")
        ordering = ["-cree_le", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(montant_total__gt=0), name="liste_montant_positif"),
            models.CheckConstraint(
                condition=~Q(statut=StatutListe.ANNULEE) | Q(annulee_le__isnull=False), name="liste_annulee_datee"
            ),
        ]

    def __str__(self) -> str:
        return self.numero

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude={*(exclude or ()), "statut"})

    @property
    def est_active(self) -> bool:
        return self.statut != StatutListe.ANNULEE

    @transition(field=statut, source=StatutListe.EMISE, target=StatutListe.ANNULEE, permission=_finance)
    def annuler(self) -> None:
        self.annulee_le = timezone.now()


class LigneListe(models.Model):
    """A payment in a liste, with the bank details it was sent to. `active` while the liste is not cancelled and the
    payment was not rejected then put back to pay: the partial unique index makes "a payment is in at most one
    active liste" a database rule, whatever the code or the concurrency."""

    liste = models.ForeignKey(ListePaiements, on_delete=models.PROTECT, related_name="lignes")
    paiement = models.ForeignKey(Paiement, on_delete=models.PROTECT, related_name="lignes_liste")
    montant = models.DecimalField(_("montant (€)"), **MONTANT)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("ligne d'une liste de paiements")
        verbose_name_plural = _("lignes des listes de paiements")
        ordering = ["liste", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["liste", "paiement"], name="ligne_liste_unique"),
            models.UniqueConstraint(
                fields=["paiement"], condition=Q(active=True), name="paiement_une_seule_liste_active"
            ),
            models.CheckConstraint(condition=Q(montant__gt=0), name="ligne_liste_montant_positif"),
        ]

    def __str__(self) -> str:
        return f"{self.liste_id} : {self.paiement_id}"


class RetourPaiements(models.Model):
    """A return file (the comptable's or the bank's) applied to the payments; the file is kept as a Document."""

    nom_fichier = models.CharField(_("fichier"), max_length=200)
    importe_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+", verbose_name=_("importé par")
    )
    importe_le = models.DateTimeField(_("importé le"), auto_now_add=True)
    nb_payes = models.PositiveIntegerField(_("paiements payés"), default=0)
    nb_rejetes = models.PositiveIntegerField(_("paiements rejetés"), default=0)
    nb_deja = models.PositiveIntegerField(_("lignes déjà enregistrées"), default=0)

    class Meta:
        verbose_name = _("retour de paiements")
        verbose_name_plural = _("retours de paiements")
        ordering = ["-importe_le", "-pk"]

    def __str__(self) -> str:
        return self.nom_fichier


class Reversement(ConcurrentTransitionMixin, models.Model):
    """Money the porteur must pay back (more was paid than is due after the compte-rendu financier): listed for a
    titre de recette. a_emettre → emis → recouvre."""

    acte = models.ForeignKey(ActeAttribution, on_delete=models.PROTECT, related_name="reversements")
    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, related_name="reversements")
    montant = models.DecimalField(_("montant (€)"), **MONTANT)
    motif = models.TextField(_("motif"))
    statut = FSMField(
        _("statut"),
        max_length=10,
        choices=StatutReversement.choices,
        default=StatutReversement.A_EMETTRE,
        protected=True,
    )
    titre_numero = models.CharField(_("numéro du titre de recette"), max_length=40, blank=True)
    titre_date = models.DateField(_("date du titre de recette"), null=True, blank=True)
    cree_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    cree_le = models.DateTimeField(_("créé le"), auto_now_add=True)

    class Meta:
        verbose_name = _("reversement")
        verbose_name_plural = _("reversements")
        ordering = ["-cree_le", "-pk"]
        constraints = [models.CheckConstraint(condition=Q(montant__gt=0), name="reversement_montant_positif")]

    def __str__(self) -> str:
        return f"{self.acte_id} : {self.montant} €"

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude={*(exclude or ()), "statut"})

    @transition(field=statut, source=StatutReversement.A_EMETTRE, target=StatutReversement.EMIS, permission=_finance)
    def emettre_titre(self) -> None:
        """The titre de recette was issued (the service records its number and date)."""

    @transition(field=statut, source=StatutReversement.EMIS, target=StatutReversement.RECOUVRE, permission=_finance)
    def constater_recouvrement(self) -> None:
        pass
