"""Comptes-rendus financiers (CERFA n° 15059): one per action of an executory acte, its actual budget lines,
indicators and pièces; and the décompte that turned the validated comptes-rendus of an acte into its solde."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from associations.enums import RoleMembre
from associations.models import Piece
from subventions.bilans import calculs
from subventions.bilans.enums import A_FAIRE, StatutCompteRendu
from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre
from subventions.conventions.models import STATUTS_EXECUTOIRES, ActeAttribution, ActeLigne
from subventions.demandes.models import Demande, Indicateur
from subventions.paiements.models import Paiement, Reversement
from subventions.referentiel.models import Financeur

MONTANT = {"max_digits": 12, "decimal_places": 2}
POSITIF = [MinValueValidator(Decimal("0"), _("Le montant ne peut pas être négatif."))]
# Staff who check comptes-rendus and validate them; administrateurs may do everything an instructeur does.
ROLES_INSTRUCTION = (Role.INSTRUCTEUR, Role.ADMINISTRATEUR)
ROLES_EDITION_PORTEUR = (RoleMembre.REPRESENTANT_LEGAL, RoleMembre.GESTIONNAIRE)


def instruit_pour(financeur_id: int, user) -> bool:
    p = perimetre(user, ROLES_INSTRUCTION)
    return not p.vide and (p.tous_financeurs or financeur_id in p.financeur_ids)


def est_instructeur_du_financeur(compte_rendu, user) -> bool:
    """An instructeur (or administrateur) of the acte's financeur: the Ville never validates the État's."""
    return instruit_pour(compte_rendu.acte.financeur_id, user)


def est_editeur_du_porteur(compte_rendu, user) -> bool:
    """A représentant légal or a gestionnaire of the porteur (a lecteur only reads)."""
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return False
    return compte_rendu.acte.porteur.membres.filter(user=user, role__in=ROLES_EDITION_PORTEUR).exists()


def acte_executoire(compte_rendu) -> bool:
    """compte_rendu.acte.statut in (signee, notifiee): the acte is executory."""
    return compte_rendu.acte.statut in STATUTS_EXECUTOIRES


class CompteRendu(ConcurrentTransitionMixin, models.Model):
    """The compte-rendu financier of one action (demande) funded by one acte (convention, arrêté or avenant).

    Opened (a_deposer) when the acte becomes executory, with the forecast budget and indicators of the action
    copied; the porteur enters the actuals and deposits it (a PDF is stored at each deposit); the instructeur of
    the financeur validates it or sends it back for corrections. Statut: a django-fsm-2 workflow taken only through
    workflows.transition_appliquer: a_deposer → depose → valide | a_corriger → depose…"""

    acte = models.ForeignKey(ActeAttribution, on_delete=models.PROTECT, related_name="comptes_rendus")
    acte_ligne = models.OneToOneField(ActeLigne, on_delete=models.PROTECT, related_name="compte_rendu")
    demande = models.ForeignKey(Demande, on_delete=models.PROTECT, related_name="comptes_rendus")
    statut = FSMField(
        _("statut"),
        max_length=12,
        choices=StatutCompteRendu.choices,
        default=StatutCompteRendu.A_DEPOSER,
        protected=True,
    )
    echeance = models.DateField(
        _("à déposer au plus tard le"), help_text=_("Six mois après la fin de l'exercice : le 30 juin suivant.")
    )
    montant_accorde = models.DecimalField(_("subvention accordée (€)"), **MONTANT)
    # CERFA 15059, qualitative part.
    actions_realisees = models.TextField(
        _("actions réalisées"),
        blank=True,
        help_text=_("Ce qui a été fait, où, quand, avec quels moyens ; ce qui n'a pas pu l'être."),
    )
    public_touche = models.TextField(
        _("public touché"), blank=True, help_text=_("Qui a bénéficié de l'action (âges, quartiers, part en QPV).")
    )
    beneficiaires = models.PositiveIntegerField(_("nombre de bénéficiaires"), null=True, blank=True)
    ecarts_expliques = models.TextField(
        _("explication des écarts"),
        blank=True,
        help_text=_(
            "Obligatoire lorsque le coût réel s'écarte du budget prévisionnel au-delà de la tolérance du financeur."
        ),
    )
    commentaire_instructeur = models.TextField(_("corrections demandées"), blank=True)
    depose_le = models.DateTimeField(_("déposé le"), null=True, blank=True)
    depose_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    valide_le = models.DateTimeField(_("validé le"), null=True, blank=True)
    valide_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, null=True, blank=True, related_name="+"
    )
    # Frozen at validation: the part of the grant finally due for this action.
    cout_prevu = models.DecimalField(_("coût prévu (€)"), null=True, blank=True, **MONTANT)
    cout_reel = models.DecimalField(_("coût réel (€)"), null=True, blank=True, **MONTANT)
    montant_retenu = models.DecimalField(_("montant retenu (€)"), null=True, blank=True, **MONTANT)
    # Optimistic lock: a page carries the version it showed; a write on an older version is refused.
    version = models.PositiveIntegerField(default=0)
    cree_le = models.DateTimeField(_("ouvert le"), auto_now_add=True)
    maj_le = models.DateTimeField(_("mis à jour le"), auto_now=True)

    class Meta:
        verbose_name = _("compte-rendu financier")
        verbose_name_plural = _("comptes-rendus financiers")
        ordering = ["echeance", "acte", "demande"]
        constraints = [
            models.UniqueConstraint(fields=["acte", "demande"], name="compte_rendu_unique_par_acte_et_action"),
            models.CheckConstraint(condition=Q(montant_accorde__gt=0), name="compte_rendu_accorde_positif"),
            models.CheckConstraint(
                condition=Q(montant_retenu__isnull=True)
                | Q(montant_retenu__gte=0, montant_retenu__lte=models.F("montant_accorde")),
                name="compte_rendu_retenu_au_plus_accorde",
            ),
            models.CheckConstraint(
                condition=~Q(statut=StatutCompteRendu.VALIDE) | Q(montant_retenu__isnull=False),
                name="compte_rendu_valide_a_un_montant_retenu",
            ),
        ]
        indexes = [models.Index(fields=["statut", "echeance"])]

    def __str__(self) -> str:
        return f"{self.acte.numero} — {self.demande.numero}"

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude={*(exclude or ()), "statut"})

    @property
    def modifiable(self) -> bool:
        return self.statut in A_FAIRE

    # --- Workflow ------------------------------------------------------------------------------------------------

    @transition(
        field=statut,
        source=StatutCompteRendu.A_DEPOSER,
        target=StatutCompteRendu.DEPOSE,
        conditions=[acte_executoire],
        permission=est_editeur_du_porteur,
    )
    def deposer(self) -> None:
        """Filed by a représentant légal or a gestionnaire (the service checks it is complete first)."""

    @transition(
        field=statut,
        source=StatutCompteRendu.A_CORRIGER,
        target=StatutCompteRendu.DEPOSE,
        conditions=[acte_executoire],
        permission=est_editeur_du_porteur,
    )
    def redeposer(self) -> None:
        """Filed again after the corrections asked by the instructeur."""

    @transition(
        field=statut,
        source=StatutCompteRendu.DEPOSE,
        target=StatutCompteRendu.A_CORRIGER,
        permission=est_instructeur_du_financeur,
    )
    def demander_corrections(self) -> None:
        """Sent back to the porteur with the instructeur's comment."""

    @transition(
        field=statut,
        source=StatutCompteRendu.DEPOSE,
        target=StatutCompteRendu.VALIDE,
        conditions=[acte_executoire],
        permission=est_instructeur_du_financeur,
    )
    def valider(self) -> None:
        """Accepted: the amount retained for the action is frozen (the service computes it)."""


class LigneRealisee(models.Model):
    """One line of the compte-rendu's budget: the forecast copied from the demande, the actual entered by the porteur.

    `cle` is the account ("60"…"87"), or "74-<financeur id>" for the subsidy asked of a financeur of the campagne."""

    compte_rendu = models.ForeignKey(CompteRendu, on_delete=models.CASCADE, related_name="lignes")
    ordre = models.PositiveSmallIntegerField(_("ordre"))
    cle = models.CharField(_("clé"), max_length=20)
    sens = models.CharField(_("sens"), max_length=8)
    compte = models.CharField(_("compte"), max_length=12)
    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    libelle = models.CharField(_("libellé"), max_length=250)
    prevu = models.DecimalField(_("prévu (€)"), **MONTANT)
    realise = models.DecimalField(_("réalisé (€)"), null=True, blank=True, validators=POSITIF, **MONTANT)

    class Meta:
        verbose_name = _("ligne du compte-rendu")
        verbose_name_plural = _("lignes du compte-rendu")
        ordering = ["compte_rendu", "ordre"]
        constraints = [
            models.UniqueConstraint(fields=["compte_rendu", "cle"], name="ligne_realisee_unique"),
            models.CheckConstraint(condition=Q(realise__isnull=True) | Q(realise__gte=0), name="realise_positif"),
        ]

    def __str__(self) -> str:
        return f"{self.libelle} : {self.prevu} → {self.realise}"

    @property
    def ecart(self) -> Decimal | None:
        return calculs.ecart(self.prevu, self.realise)[0]

    @property
    def ecart_pourcent(self) -> Decimal | None:
        return calculs.ecart(self.prevu, self.realise)[1]


class IndicateurRealise(models.Model):
    """An evaluation indicator: the target from the demande (if any), the value the porteur reports."""

    compte_rendu = models.ForeignKey(CompteRendu, on_delete=models.CASCADE, related_name="indicateurs")
    indicateur = models.ForeignKey(Indicateur, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    ordre = models.PositiveSmallIntegerField(_("ordre"), default=0)
    nom = models.CharField(_("indicateur"), max_length=200)
    cible = models.CharField(_("valeur cible"), max_length=100, blank=True)
    realise = models.CharField(_("valeur atteinte"), max_length=100, blank=True)

    class Meta:
        verbose_name = _("indicateur réalisé")
        verbose_name_plural = _("indicateurs réalisés")
        ordering = ["compte_rendu", "ordre", "pk"]

    def __str__(self) -> str:
        return f"{self.nom} : {self.realise or '—'} / {self.cible or '—'}"

    @property
    def taux(self) -> Decimal | None:
        return calculs.taux(self.realise, self.cible)


class PieceCompteRendu(models.Model):
    """A pièce of the porteur's vault attached to a compte-rendu (justificatifs, bilan d'activité…)."""

    compte_rendu = models.ForeignKey(CompteRendu, on_delete=models.CASCADE, related_name="pieces")
    piece = models.ForeignKey(Piece, on_delete=models.PROTECT, related_name="comptes_rendus")
    ajoutee_par = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+")
    ajoutee_le = models.DateTimeField(_("ajoutée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("pièce du compte-rendu")
        verbose_name_plural = _("pièces du compte-rendu")
        ordering = ["compte_rendu", "ajoutee_le", "pk"]
        constraints = [models.UniqueConstraint(fields=["compte_rendu", "piece"], name="piece_compte_rendu_unique")]

    def __str__(self) -> str:
        return f"{self.compte_rendu_id} → {self.piece_id}"


class DecompteSolde(models.Model):
    """The settlement of an acte once every compte-rendu of it is validated: what was granted, what is finally due,
    what had been paid, and what came of it (the solde to pay, or the reversement to ask). Written once."""

    acte = models.OneToOneField(ActeAttribution, on_delete=models.PROTECT, related_name="decompte_solde")
    montant_attribue = models.DecimalField(_("montant attribué (€)"), **MONTANT)
    montant_du = models.DecimalField(_("montant dû (€)"), **MONTANT)
    deja_verse = models.DecimalField(_("déjà versé (€)"), **MONTANT)
    solde = models.ForeignKey(Paiement, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    reversement = models.ForeignKey(Reversement, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    etabli_par = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.RESTRICT,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Vide : établi automatiquement, une fois l'avance payée."),
    )
    etabli_le = models.DateTimeField(_("établi le"), auto_now_add=True)

    class Meta:
        verbose_name = _("décompte du solde")
        verbose_name_plural = _("décomptes des soldes")
        ordering = ["-etabli_le", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(montant_du__gte=0, montant_du__lte=models.F("montant_attribue")),
                name="decompte_du_au_plus_attribue",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.acte_id} : {self.montant_du} €"

    @property
    def reduction(self) -> Decimal:
        return self.montant_attribue - self.montant_du
