"""Comité séances, their ordre du jour, the decisions frozen at close and the decision letters."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from associations.models import Porteur
from subventions.campagnes.models import Campagne
from subventions.comites.enums import Decision, KindSeance, StatutSeance
from subventions.comptes.enums import Role
from subventions.comptes.scopes import perimetre
from subventions.demandes.models import Demande, LigneFinancement
from subventions.referentiel.models import Financeur, Pilier


def est_comite_de_seance(seance: Seance, user) -> bool:
    """A comité secretary of at least one of the séance's financeurs."""
    p = perimetre(user, [Role.COMITE])
    if p.vide:
        return False
    return p.tous_financeurs or bool(p.financeur_ids & {f.pk for f in seance.financeurs.all()})


class Seance(ConcurrentTransitionMixin, models.Model):
    campagne = models.ForeignKey(Campagne, on_delete=models.PROTECT, related_name="seances")
    date = models.DateField(_("date de la séance"))
    kind = models.CharField(_("type de comité"), max_length=16, choices=KindSeance.choices)
    financeurs = models.ManyToManyField(Financeur, related_name="seances", verbose_name=_("financeurs"))
    membres_presents = models.TextField(_("membres présents"), blank=True)
    statut = FSMField(
        _("statut"), max_length=10, choices=StatutSeance.choices, default=StatutSeance.OUVERTE, protected=True
    )
    cree_par = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    cree_le = models.DateTimeField(_("créée le"), auto_now_add=True)
    closed_at = models.DateTimeField(_("close le"), null=True, blank=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        verbose_name = _("séance de comité")
        verbose_name_plural = _("séances de comité")
        ordering = ["-date", "-pk"]
        indexes = [models.Index(fields=["campagne", "date"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} du {self.date:%d/%m/%Y}"

    def clean_fields(self, exclude=None) -> None:
        super().clean_fields(exclude={*(exclude or ()), "statut"})

    @property
    def est_ouverte(self) -> bool:
        return self.statut == StatutSeance.OUVERTE

    @transition(field=statut, source=StatutSeance.OUVERTE, target=StatutSeance.CLOSE, permission=est_comite_de_seance)
    def cloturer(self) -> None:
        """Decisions are frozen; demandes move to validee, refusee or ajournee; PV and letters are issued."""


class PointOrdreDuJour(models.Model):
    seance = models.ForeignKey(Seance, on_delete=models.CASCADE, related_name="points")
    demande = models.ForeignKey(Demande, on_delete=models.PROTECT, related_name="points_odj")
    ordre = models.PositiveIntegerField(default=0)
    # Copy of "the séance is open", so that the database itself forbids one demande on two open séances.
    seance_ouverte = models.BooleanField(default=True, editable=False)
    ajoute_par = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    ajoute_le = models.DateTimeField(_("ajouté le"), auto_now_add=True)

    class Meta:
        verbose_name = _("point de l'ordre du jour")
        verbose_name_plural = _("ordre du jour")
        ordering = ["seance", "ordre", "pk"]
        # A séance's agenda page by page in agenda order, without joining and sorting its every point first.
        indexes = [models.Index(fields=["seance", "ordre", "id"], name="odj_seance_ordre_idx")]
        constraints = [
            models.UniqueConstraint(fields=["seance", "demande"], name="odj_demande_unique_par_seance"),
            models.UniqueConstraint(
                fields=["demande"], condition=models.Q(seance_ouverte=True), name="odj_demande_une_seance_ouverte"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.seance} — {self.demande}"


class DecisionLigne(models.Model):
    """A financeur line's decision as frozen when the séance closed (the record the PV and letters print)."""

    seance = models.ForeignKey(Seance, on_delete=models.PROTECT, related_name="decisions")
    ligne = models.ForeignKey(LigneFinancement, on_delete=models.PROTECT, related_name="decisions_comite")
    financeur = models.ForeignKey(Financeur, on_delete=models.PROTECT, related_name="+")
    pilier = models.ForeignKey(Pilier, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    decision = models.CharField(_("décision"), max_length=10, choices=Decision.choices)
    montant = models.DecimalField(_("montant accordé (€)"), max_digits=12, decimal_places=2, null=True, blank=True)
    montant_propose = models.DecimalField(
        _("montant proposé (€)"), max_digits=12, decimal_places=2, null=True, blank=True
    )

    class Meta:
        verbose_name = _("décision")
        verbose_name_plural = _("décisions")
        ordering = ["seance", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["seance", "ligne"], name="decision_ligne_unique_par_seance"),
            models.CheckConstraint(
                condition=models.Q(decision="accordee", montant__gt=0)
                | (~models.Q(decision="accordee") & models.Q(montant__isnull=True)),
                name="decision_montant_si_accordee",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.ligne} : {self.get_decision_display()}"


class LettreDecision(models.Model):
    """One decision letter per porteur and séance; its PDF is a workflows Document (SHA-256, never re-rendered)."""

    seance = models.ForeignKey(Seance, on_delete=models.PROTECT, related_name="lettres")
    porteur = models.ForeignKey(Porteur, on_delete=models.PROTECT, related_name="lettres_decision")
    document = models.OneToOneField(
        "workflows.Document", on_delete=models.PROTECT, null=True, blank=True, related_name="lettre_decision"
    )

    class Meta:
        verbose_name = _("lettre de décision")
        verbose_name_plural = _("lettres de décision")
        ordering = ["seance", "porteur__nom"]
        constraints = [models.UniqueConstraint(fields=["seance", "porteur"], name="lettre_unique_par_porteur")]

    def __str__(self) -> str:
        return f"{self.seance} — {self.porteur}"
