"""A demande (one action, one campagne): its CERFA content, budget lines, co-financing lines and pièces."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Sum
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from associations.enums import RoleMembre
from associations.models import Piece, Porteur
from subventions.campagnes.models import Campagne
from subventions.demandes import permissions as perm
from subventions.demandes.enums import (
    COMPTES,
    Avis,
    DureeDemande,
    NatureAide,
    ObjetDemande,
    StatutDemande,
    StatutLigne,
    TypeDemande,
)
from subventions.referentiel.models import QPV, Financeur, Objectif, Territoire, TypePiece

MONTANT_MAX = Decimal("9999999.99")
MONTANT = [
    MinValueValidator(Decimal("0"), _("Le montant ne peut pas être négatif.")),
    MaxValueValidator(MONTANT_MAX, _("Le montant ne peut pas dépasser 9 999 999,99 €.")),
]
ZERO = Decimal("0.00")


def est_representant_legal(demande: Demande, user) -> bool:
    """A représentant légal of the demande's porteur."""
    return demande.porteur.membres.filter(user=user, role=RoleMembre.REPRESENTANT_LEGAL).exists()


class Demande(ConcurrentTransitionMixin, models.Model):
    campagne = models.ForeignKey(Campagne, on_delete=models.PROTECT, related_name="demandes")
    porteur = models.ForeignKey(Porteur, on_delete=models.PROTECT, related_name="demandes")
    statut = FSMField(
        _("statut"), max_length=20, choices=StatutDemande.choices, default=StatutDemande.BROUILLON, protected=True
    )
    numero = models.CharField(_("numéro de dossier"), max_length=20, blank=True)
    origine = models.ForeignKey(
        "self",
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="renouvellements",
        verbose_name=_("action renouvelée"),
    )
    # Nature of the request (CERFA §1).
    nature = models.CharField(
        _("nature de l'aide"), max_length=12, choices=NatureAide.choices, default=NatureAide.NUMERAIRE
    )
    type_demande = models.CharField(
        _("type de demande"), max_length=16, choices=TypeDemande.choices, default=TypeDemande.PREMIERE
    )
    objet = models.CharField(_("objet"), max_length=16, choices=ObjetDemande.choices, default=ObjetDemande.PROJET)
    duree = models.CharField(_("durée"), max_length=16, choices=DureeDemande.choices, default=DureeDemande.ANNUELLE)
    # The action (CERFA §6).
    intitule = models.CharField(_("intitulé de l'action"), max_length=250)
    objectifs_action = models.TextField(_("objectifs de l'action"), blank=True)
    description = models.TextField(_("description de l'action"), blank=True)
    public_nombre = models.PositiveIntegerField(_("nombre de bénéficiaires"), null=True, blank=True)
    public_age_min = models.PositiveSmallIntegerField(
        _("âge minimum"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    public_age_max = models.PositiveSmallIntegerField(
        _("âge maximum"), null=True, blank=True, validators=[MaxValueValidator(120)]
    )
    public_part_qpv = models.DecimalField(
        _("part du public résidant en QPV (%)"),
        max_digits=5,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    public_description = models.TextField(_("public visé"), blank=True)
    qpvs = models.ManyToManyField(QPV, blank=True, related_name="demandes", verbose_name=_("quartiers prioritaires"))
    territoire = models.ForeignKey(
        Territoire, on_delete=models.PROTECT, null=True, blank=True, related_name="demandes"
    )
    lieu = models.CharField(_("lieu(x) de réalisation"), max_length=250, blank=True)
    date_debut = models.DateField(_("date de début"), null=True, blank=True)
    date_fin = models.DateField(_("date de fin"), null=True, blank=True)
    moyens_benevoles = models.PositiveIntegerField(_("bénévoles affectés"), null=True, blank=True)
    moyens_salaries = models.PositiveIntegerField(_("salariés affectés"), null=True, blank=True)
    moyens_etpt = models.DecimalField(
        _("salariés affectés en ETPT"), max_digits=7, decimal_places=2, null=True, blank=True, validators=MONTANT
    )
    objectifs = models.ManyToManyField(
        Objectif, blank=True, related_name="demandes", verbose_name=_("objectifs du contrat de ville")
    )
    # Déclaration sur l'honneur (CERFA §7), made by a représentant légal at deposit.
    declaration_nom = models.CharField(_("nom et prénom du signataire"), max_length=200, blank=True)
    declaration_qualite = models.CharField(_("qualité du signataire"), max_length=100, blank=True)
    declaration_date = models.DateField(_("date de la déclaration"), null=True, blank=True)
    declaration_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    declaration_engagement_republicain = models.BooleanField(
        _("respect du contrat d'engagement républicain (loi 2021-1109)"), default=False
    )
    declaration_exactitude = models.BooleanField(_("exactitude des informations et des pièces"), default=False)
    # Snapshot of the porteur's identification at deposit: the record of what was filed.
    identification = models.JSONField(_("identification au dépôt"), default=dict, blank=True)
    empreinte = models.CharField(
        _("empreinte SHA-256 du dossier déposé"), max_length=64, blank=True, help_text=_("Imprimée sur le récépissé.")
    )
    cree_par = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cree_le = models.DateTimeField(_("créée le"), auto_now_add=True)
    modifie_le = models.DateTimeField(_("modifiée le"), auto_now=True)
    depose_le = models.DateTimeField(_("déposée le"), null=True, blank=True)
    depose_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    echeance_complements = models.DateField(_("compléments attendus pour le"), null=True, blank=True)
    instructeur = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="demandes_instruites",
        verbose_name=_("instructeur assigné"),
    )

    class Meta:
        verbose_name = _("demande")
        verbose_name_plural = _("demandes")
        ordering = ["-cree_le"]
        constraints = [
            models.UniqueConstraint(
                fields=["campagne", "numero"], condition=~models.Q(numero=""), name="demande_numero_unique"
            ),
        ]
        indexes = [
            models.Index(fields=["campagne", "statut"]),
            models.Index(fields=["porteur", "statut"]),
            # The instructeurs' queue in its default order (latest deposits first, read backwards): its first page
            # without sorting the whole scope.
            models.Index(fields=["depose_le", "id"], name="demande_depot_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.numero or 'Brouillon'} — {self.intitule}"

    def clean_fields(self, exclude=None) -> None:
        # The state is protected (django-fsm): clean_fields() would assign it again and raise; only transitions
        # change it, so it is never "cleaned" here.
        super().clean_fields(exclude={*(exclude or ()), "statut"})

    def clean(self) -> None:
        errors = {}
        if self.date_debut and self.date_fin and self.date_fin < self.date_debut:
            errors["date_fin"] = _("La date de fin doit suivre la date de début.")
        if (
            self.public_age_min is not None
            and self.public_age_max is not None
            and self.public_age_max < self.public_age_min
        ):
            errors["public_age_max"] = _("L'âge maximum doit être supérieur ou égal à l'âge minimum.")
        if errors:
            raise ValidationError(errors)

    # --- Workflow (the next stages add their transitions here).
    @transition(
        field=statut,
        source=StatutDemande.BROUILLON,
        target=StatutDemande.DEPOSEE,
        permission=lambda demande, user: est_representant_legal(demande, user),
    )
    def deposer(self) -> None:
        """Deposit by a représentant légal; the service checks completeness and the closing date."""

    @transition(
        field=statut,
        source=StatutDemande.DEPOSEE,
        target=StatutDemande.A_COMPLETER,
        permission=perm.est_instructeur_de,
    )
    def demander_complements(self) -> None:
        """The instructeur lists what is missing, with a deadline; the porteur may edit and deposit again."""

    @transition(
        field=statut,
        source=StatutDemande.A_COMPLETER,
        target=StatutDemande.DEPOSEE,
        permission=lambda demande, user: est_representant_legal(demande, user),
    )
    def redeposer(self) -> None:
        """The porteur sends the completed file back."""

    @transition(
        field=statut,
        source=[StatutDemande.DEPOSEE, StatutDemande.A_COMPLETER],
        target=StatutDemande.IRRECEVABLE,
        permission=perm.est_instructeur_de,
    )
    def declarer_irrecevable(self) -> None:
        """Incomplete or ineligible: closed with a reason given to the porteur."""

    @transition(
        field=statut,
        source=StatutDemande.DEPOSEE,
        target=StatutDemande.EN_INSTRUCTION,
        permission=perm.est_instructeur_de,
    )
    def declarer_recevable(self) -> None:
        """Complete and eligible: the study starts."""

    @transition(
        field=statut,
        source=StatutDemande.EN_INSTRUCTION,
        target=StatutDemande.INSTRUITE,
        conditions=[lambda demande: demande.toutes_lignes_avisees],
        permission=perm.est_instructeur_de,
    )
    def terminer_instruction(self) -> None:
        """Every financeur line has its avis."""

    @transition(
        field=statut,
        source=StatutDemande.INSTRUITE,
        target=StatutDemande.INSCRITE,
        permission=perm.est_comite_de,
    )
    def inscrire(self) -> None:
        """Put on a comité's ordre du jour."""

    @transition(
        field=statut,
        source=StatutDemande.INSCRITE,
        target=StatutDemande.INSTRUITE,
        permission=perm.est_comite_de,
    )
    def desinscrire(self) -> None:
        """Taken off the ordre du jour before the séance is closed."""

    @transition(
        field=statut, source=StatutDemande.INSCRITE, target=StatutDemande.VALIDEE, permission=perm.est_comite_de
    )
    def valider(self) -> None:
        """At the séance's close: at least one line granted."""

    @transition(
        field=statut, source=StatutDemande.VALIDEE, target=StatutDemande.CONVENTIONNEE, permission=perm.systeme_seul
    )
    def conventionner(self) -> None:
        """Its granted lines are in an executory convention or arrêté: taken by the system, never from a page."""

    @transition(
        field=statut,
        source=StatutDemande.CONVENTIONNEE,
        target=StatutDemande.BILAN_DEPOSE,
        permission=perm.systeme_seul,
    )
    def enregistrer_bilan(self) -> None:
        """Its compte-rendu financier was validated (subventions.bilans): the solde can be paid."""

    @transition(
        field=statut, source=StatutDemande.INSCRITE, target=StatutDemande.REFUSEE, permission=perm.est_comite_de
    )
    def refuser(self) -> None:
        """At the séance's close: every line refused."""

    @transition(
        field=statut, source=StatutDemande.INSCRITE, target=StatutDemande.AJOURNEE, permission=perm.est_comite_de
    )
    def ajourner(self) -> None:
        """At the séance's close: decision postponed to a later séance."""

    @transition(
        field=statut,
        source=StatutDemande.AJOURNEE,
        target=StatutDemande.INSTRUITE,
        permission=perm.est_comite_de,
    )
    def representer(self) -> None:
        """An ajournée demande goes back to the instruite pool, for a later séance."""

    @transition(
        field=statut,
        source=[StatutDemande.BROUILLON, StatutDemande.DEPOSEE, StatutDemande.A_COMPLETER,
                StatutDemande.EN_INSTRUCTION, StatutDemande.INSTRUITE],
        target=StatutDemande.RETIREE,
        permission=lambda demande, user: est_representant_legal(demande, user),
    )  # fmt: skip
    def retirer(self) -> None:
        """The porteur withdraws its request before the decision."""

    @transition(
        field=statut,
        source=[StatutDemande.DEPOSEE, StatutDemande.A_COMPLETER, StatutDemande.EN_INSTRUCTION,
                StatutDemande.INSTRUITE, StatutDemande.AJOURNEE],
        target=StatutDemande.SANS_SUITE,
        permission=perm.est_instructeur_de,
    )  # fmt: skip
    def classer_sans_suite(self) -> None:
        """Closed without decision (the action was cancelled, the porteur no longer answers…)."""

    @property
    def toutes_lignes_avisees(self) -> bool:
        lignes = [ligne for ligne in self.lignes_financement.all() if ligne.montant_demande > 0]
        return bool(lignes) and all(ligne.statut != StatutLigne.DEMANDEE for ligne in lignes)

    @property
    def modifiable_par_porteur(self) -> bool:
        return self.statut in (StatutDemande.BROUILLON, StatutDemande.A_COMPLETER)

    # --- Budget figures (Decimal, computed from the lines).
    def totaux(self) -> dict[str, Decimal]:
        lignes = {
            row["sens"]: row["total"] or ZERO
            for row in self.lignes_budget.values("sens").annotate(total=Sum("montant")).order_by()
        }
        demande = self.lignes_financement.aggregate(total=Sum("montant_demande"))["total"] or ZERO
        return totaux_budget(lignes, demande)


def totaux_budget(sommes_par_sens: dict[str, Decimal], demande: Decimal) -> dict[str, Decimal]:
    """Charges, produits (the amounts asked of the financeurs, line 74, included), amount asked and the gap, from
    the budget lines summed by sens and the total asked."""
    charges = sommes_par_sens.get("charge", ZERO)
    produits = sommes_par_sens.get("produit", ZERO) + demande
    return {"charges": charges, "produits": produits, "demande": demande, "ecart": charges - produits}


class LigneBudget(models.Model):
    """One line of the budget prévisionnel, on the plan comptable associatif (except 74 per financeur)."""

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="lignes_budget")
    compte = models.CharField(_("compte"), max_length=12, choices=COMPTES)
    sens = models.CharField(_("sens"), max_length=8, editable=False)
    detail = models.CharField(_("détail"), max_length=200, blank=True)
    montant = models.DecimalField(_("montant (€)"), max_digits=12, decimal_places=2, default=ZERO, validators=MONTANT)

    class Meta:
        verbose_name = _("ligne de budget")
        verbose_name_plural = _("lignes de budget")
        ordering = ["demande", "compte"]
        constraints = [
            models.UniqueConstraint(fields=["demande", "compte"], name="ligne_budget_unique"),
            models.CheckConstraint(condition=models.Q(montant__gte=0), name="ligne_budget_montant_positif"),
        ]

    def __str__(self) -> str:
        return f"{self.compte} : {self.montant} €"

    def save(self, *args, **kwargs) -> None:
        from subventions.demandes.enums import SENS_PAR_COMPTE

        self.sens = SENS_PAR_COMPTE[self.compte]
        super().save(*args, **kwargs)


class LigneFinancement(ConcurrentTransitionMixin, models.Model):
    """What the demande asks one financeur of the campagne (its line 74). Each financeur decides its own part."""

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="lignes_financement")
    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, related_name="lignes_financement")
    montant_demande = models.DecimalField(
        _("montant demandé (€)"), max_digits=12, decimal_places=2, default=ZERO, validators=MONTANT
    )
    statut = FSMField(
        _("statut"), max_length=16, choices=StatutLigne.choices, default=StatutLigne.DEMANDEE, protected=True
    )
    avis = models.CharField(_("avis"), max_length=12, choices=Avis.choices, blank=True)
    montant_propose = models.DecimalField(
        _("montant proposé (€)"), max_digits=12, decimal_places=2, null=True, blank=True, validators=MONTANT
    )
    motivation = models.TextField(_("motivation de l'avis"), blank=True)
    avis_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    avis_le = models.DateTimeField(_("avis donné le"), null=True, blank=True)
    montant_accorde = models.DecimalField(
        _("montant accordé (€)"), max_digits=12, decimal_places=2, null=True, blank=True, validators=MONTANT
    )
    decide_le = models.DateTimeField(_("décidé le"), null=True, blank=True)
    # Optimistic lock: a page carries the version it showed; a write on an older version is refused.
    version = models.PositiveIntegerField(default=0)

    champ_etat = "statut"

    class Meta:
        verbose_name = _("ligne de financement")
        verbose_name_plural = _("lignes de financement")
        ordering = ["demande", "financeur__nom"]
        constraints = [
            models.UniqueConstraint(fields=["demande", "financeur"], name="ligne_financement_unique"),
            models.CheckConstraint(
                condition=models.Q(montant_demande__gte=0), name="ligne_financement_montant_positif"
            ),
            models.CheckConstraint(
                condition=models.Q(montant_propose__isnull=True)
                | models.Q(montant_propose__lte=models.F("montant_demande")),
                name="ligne_financement_propose_au_plus_demande",
            ),
            models.CheckConstraint(
                condition=models.Q(montant_accorde__isnull=True) | models.Q(montant_accorde__gt=0),
                name="ligne_financement_accorde_positif",
            ),
        ]
        indexes = [models.Index(fields=["financeur", "statut"])]

    def __str__(self) -> str:
        return f"{self.financeur} : {self.montant_demande} €"

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude={*(exclude or ()), "statut"})

    @transition(
        field=statut,
        source=[StatutLigne.DEMANDEE, StatutLigne.AVIS_DONNE],
        target=StatutLigne.AVIS_DONNE,
        conditions=[lambda ligne: ligne.demande.statut == StatutDemande.EN_INSTRUCTION],
        permission=perm.est_instructeur_de_ligne,
    )
    def donner_avis(self) -> None:
        """Avis and proposed amount of this financeur, revisable until the demande is instruite."""

    @transition(
        field=statut, source=StatutLigne.AVIS_DONNE, target=StatutLigne.INSCRITE, permission=perm.est_comite_de_ligne
    )
    def inscrire(self) -> None:
        """On a séance's ordre du jour with its demande."""

    @transition(
        field=statut, source=StatutLigne.INSCRITE, target=StatutLigne.AVIS_DONNE, permission=perm.est_comite_de_ligne
    )
    def desinscrire(self) -> None:
        """Taken off the ordre du jour, or back for a later séance after an ajournement."""

    @transition(
        field=statut,
        source=[StatutLigne.INSCRITE, StatutLigne.ACCORDEE, StatutLigne.REFUSEE, StatutLigne.AJOURNEE],
        target=StatutLigne.ACCORDEE,
        permission=perm.est_comite_de_ligne,
    )
    def accorder(self) -> None:
        """Decided in séance (changeable until the séance is closed)."""

    @transition(
        field=statut,
        source=[StatutLigne.INSCRITE, StatutLigne.ACCORDEE, StatutLigne.REFUSEE, StatutLigne.AJOURNEE],
        target=StatutLigne.REFUSEE,
        permission=perm.est_comite_de_ligne,
    )
    def refuser(self) -> None:
        """Refused in séance."""

    @transition(
        field=statut,
        source=[StatutLigne.INSCRITE, StatutLigne.ACCORDEE, StatutLigne.REFUSEE, StatutLigne.AJOURNEE],
        target=StatutLigne.AJOURNEE,
        permission=perm.est_comite_de_ligne,
    )
    def ajourner(self) -> None:
        """Postponed in séance."""


class Indicateur(models.Model):
    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="indicateurs")
    nom = models.CharField(_("indicateur"), max_length=200)
    cible = models.CharField(_("valeur cible"), max_length=100)
    ordre = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("indicateur d'évaluation")
        verbose_name_plural = _("indicateurs d'évaluation")
        ordering = ["demande", "ordre", "pk"]

    def __str__(self) -> str:
        return f"{self.nom} (cible : {self.cible})"


class PieceDemande(models.Model):
    """A pièce the campagne requires, attached to the demande from the porteur's vault."""

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="pieces")
    type = models.ForeignKey(TypePiece, on_delete=models.PROTECT, related_name="+")
    piece = models.ForeignKey(Piece, on_delete=models.PROTECT, related_name="demandes")

    class Meta:
        verbose_name = _("pièce de la demande")
        verbose_name_plural = _("pièces de la demande")
        constraints = [models.UniqueConstraint(fields=["demande", "type"], name="piece_demande_unique_par_type")]

    def __str__(self) -> str:
        return f"{self.type} → {self.piece}"


class CompteurDossiers(models.Model):
    """The last dossier number given in a campagne; locked to give the next one (2015-000123)."""

    campagne = models.OneToOneField(Campagne, on_delete=models.CASCADE, related_name="compteur_dossiers")
    dernier = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("compteur de dossiers")

    def __str__(self) -> str:
        return f"{self.campagne} : {self.dernier}"


class NoteInterne(models.Model):
    """A note of the instruction team on a demande: never shown to the porteur."""

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="notes_internes")
    # RESTRICT for traceability, like the transition log: who wrote a note stays known.
    auteur = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+")
    texte = models.TextField(_("note"))
    cree_le = models.DateTimeField(_("écrite le"), auto_now_add=True)

    class Meta:
        verbose_name = _("note interne")
        verbose_name_plural = _("notes internes")
        ordering = ["demande", "cree_le", "pk"]

    def __str__(self) -> str:
        return f"{self.demande_id} — {self.auteur_id} — {self.cree_le:%d/%m/%Y}"


class Message(models.Model):
    """One message of the thread between the instruction team and the porteur about a demande."""

    demande = models.ForeignKey(Demande, on_delete=models.CASCADE, related_name="fil_messages")
    auteur = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.RESTRICT, related_name="+")
    texte = models.TextField(_("message"))
    cree_le = models.DateTimeField(_("envoyé le"), auto_now_add=True)
    de_l_instruction = models.BooleanField(_("envoyé par le service instructeur"), default=False)

    class Meta:
        verbose_name = _("message")
        verbose_name_plural = _("messages")
        ordering = ["demande", "cree_le", "pk"]

    def __str__(self) -> str:
        return f"{self.demande_id} — {self.auteur_id} — {self.cree_le:%d/%m/%Y}"
