"""Historical records (django-simple-history) of every amount, IBAN/BIC and decision, for models other apps own.

Only the fields that matter for an audit are tracked (an amount, a bank detail, a decision, a state, and the keys that
say what the row is about), and a history row is written only when one of them changed, so a porteur saving a draft
step ten times does not bury the one change an auditor looks for.

Bulk writes (``bulk_create``, ``QuerySet.update``, ``bulk_update``) send no signal: the next time such a row is saved,
the state found in the database is recorded first when the history does not already end with it (marked with the
reason), then the change. Who made a bulk write is in the transition log or the caller's own journal.
"""

from __future__ import annotations

from contextlib import suppress

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db.models.signals import pre_save
from django.utils import timezone
from django.utils.text import format_lazy
from simple_history import register
from simple_history.models import HistoricalRecords

from associations.models import Porteur
from subventions.bilans.models import CompteRendu
from subventions.comites.models import DecisionLigne
from subventions.conventions.models import ActeAttribution, ActeLigne
from subventions.demandes.models import Demande, LigneFinancement
from subventions.paiements.models import Paiement, Reversement

APP = "subventions.audit"
MOTIF_ETAT_INITIAL = "État constaté avant la première modification suivie (écriture groupée ou antérieure à l'audit)."
MOTIF_HORS_SUIVI = "État constaté en base, écrit par une mise à jour groupée (hors suivi) depuis la ligne précédente."


class HistoriqueAudit(HistoricalRecords):
    """HistoricalRecords that skips saves changing no tracked field and back-fills the state before a first change."""

    def finalize(self, sender, **kwargs):
        super().finalize(sender, **kwargs)
        if sender is self.cls:
            pre_save.connect(self.pre_save, sender=sender, weak=False, dispatch_uid=f"audit-{sender._meta.label}")

    def _champs(self, instance) -> list:
        return self.fields_included(instance)

    def pre_save(self, instance, raw=False, **kwargs):
        if raw or instance._state.adding or instance.pk is None or hasattr(instance, "skip_history_when_saving"):
            return
        if not getattr(settings, "SIMPLE_HISTORY_ENABLED", True):
            return
        historique = getattr(type(instance), self.manager_name).model
        champs = self._champs(instance)
        noms = [f.attname for f in champs]
        # The row as stored now is the "before" (it may differ from the last history row after a bulk write).
        en_base = type(instance)._base_manager.filter(pk=instance.pk).values(*noms).first()
        if en_base is None:
            return
        dernier = (
            historique.objects.filter(**{instance._meta.pk.attname: instance.pk})
            .order_by("-history_date", "-history_id")
            .values(*noms)
            .first()
        )
        if dernier is None or not _egaux(champs, dernier, en_base):
            historique.objects.create(
                history_date=timezone.now(),
                history_type="~",
                history_user=None,
                history_change_reason=MOTIF_ETAT_INITIAL if dernier is None else MOTIF_HORS_SUIVI,
                **en_base,
            )
        instance._audit_precedent = en_base

    def post_save(self, instance, created, using=None, **kwargs):
        precedent = instance.__dict__.pop("_audit_precedent", None)
        if not created and precedent is not None and not kwargs.get("raw", False):
            actuel = {f.attname: getattr(instance, f.attname) for f in self._champs(instance)}
            if _egaux(self._champs(instance), precedent, actuel):
                return
        super().post_save(instance, created, using=using, **kwargs)


def _egaux(champs, a: dict, b: dict) -> bool:
    for field in champs:
        avant, apres = a[field.attname], b[field.attname]
        with suppress(ValidationError, TypeError, ValueError):  # an unparsable value compares as is
            avant, apres = field.to_python(avant), field.to_python(apres)
        if avant != apres:
            return False
    return True


# Model → the fields kept in its history (the primary key is always kept).
SUIVIS: dict = {
    Porteur: ["nom", "siret", "iban", "bic"],
    Demande: ["numero", "porteur", "campagne", "intitule", "statut"],
    LigneFinancement: [
        "demande",
        "financeur",
        "montant_demande",
        "statut",
        "avis",
        "montant_propose",
        "montant_accorde",
    ],
    DecisionLigne: ["seance", "ligne", "financeur", "decision", "montant", "montant_propose"],
    ActeAttribution: ["financeur", "porteur", "exercice", "nature", "numero", "statut", "montant_total"],
    ActeLigne: ["acte", "ligne", "montant"],
    Paiement: ["financeur", "echeancier", "nature", "reference", "montant", "echeance", "statut", "motif_rejet"],
    Reversement: ["acte", "financeur", "montant", "statut", "titre_numero"],
    CompteRendu: ["acte", "demande", "statut", "montant_accorde", "cout_prevu", "cout_reel", "montant_retenu"],
}


def _enregistrer() -> None:
    for modele, champs in SUIVIS.items():
        pk = modele._meta.pk.name
        exclus = [f.name for f in modele._meta.fields if f.name not in champs and f.name != pk]
        register(
            modele,
            app=APP,
            records_class=HistoriqueAudit,
            excluded_fields=exclus,
            user_model=settings.AUTH_USER_MODEL,
            verbose_name=format_lazy("historique : {}", modele._meta.verbose_name),
            verbose_name_plural=format_lazy("historique des modifications : {}", modele._meta.verbose_name_plural),
        )


_enregistrer()
