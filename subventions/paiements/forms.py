"""Forms of the finance pages: liste filters and creation, one-by-one results, cancellation, return import."""

from __future__ import annotations

import uuid

from django import forms
from django.utils.translation import gettext_lazy as _

from subventions.campagnes.models import Campagne
from subventions.paiements.services import Criteres
from subventions.referentiel.models import Financeur

TAILLE_MAX_RETOUR = 2 * 1024 * 1024


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class _Bootstrap:
    def _styler(self) -> None:
        for champ in self.fields.values():
            if isinstance(champ.widget, forms.HiddenInput):
                continue
            classe = "form-select" if isinstance(champ.widget, forms.Select) else "form-control"
            champ.widget.attrs.setdefault("class", classe)


class FiltresListeForm(_Bootstrap, forms.Form):
    """The selection of a new liste: due payments of one financeur, narrowed by campagne, due date and porteur."""

    financeur = forms.ModelChoiceField(label=_("Financeur"), queryset=Financeur.objects.none())
    campagne = forms.ModelChoiceField(label=_("Campagne"), queryset=Campagne.objects.none(), required=False)
    echeance_max = forms.DateField(label=_("Échéance jusqu'au (inclus)"), required=False, widget=DateInput)
    porteur = forms.CharField(label=_("Porteur (nom ou SIRET)"), required=False, max_length=100)

    def __init__(self, *args, financeurs, campagnes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["financeur"].queryset = financeurs
        self.fields["campagne"].queryset = campagnes
        self.fields["campagne"].empty_label = _("Toutes")
        self._styler()

    def criteres(self, *, paiement_ids=None) -> Criteres:
        data = self.cleaned_data
        return Criteres(
            financeur=data["financeur"],
            campagne=data.get("campagne"),
            echeance_max=data.get("echeance_max"),
            porteur=data.get("porteur") or "",
            paiement_ids=paiement_ids,
        )


class CreationListeForm(FiltresListeForm):
    """The same filters and the form's one-time key: submitting it twice gives one liste. The ticked payments come
    as `paiements` ids; the scoped selection decides which of them exist and are due."""

    cle = forms.UUIDField(widget=forms.HiddenInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["cle"].initial = uuid.uuid4()


class PayerForm(_Bootstrap, forms.Form):
    reference = forms.CharField(label=_("Référence du mandat ou du virement"), max_length=70)
    date = forms.DateField(label=_("Date de paiement"), widget=DateInput)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._styler()


class RejeterForm(_Bootstrap, forms.Form):
    motif = forms.CharField(label=_("Motif du rejet"), max_length=300)
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._styler()


class AnnulerListeForm(_Bootstrap, forms.Form):
    motif = forms.CharField(label=_("Motif de l'annulation"), max_length=300)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._styler()


class EngagementForm(_Bootstrap, forms.Form):
    engagement_juridique = forms.CharField(label=_("Engagement juridique"), max_length=30, required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._styler()


class RetourForm(_Bootstrap, forms.Form):
    fichier = forms.FileField(
        label=_("Fichier de retour (CSV)"),
        help_text=_(
            "Une ligne d'en-tête puis une ligne par paiement. Colonnes : référence, date (JJ/MM/AAAA ou AAAA-MM-JJ) ; "
            "facultatives : statut (payé ou rejeté), motif (obligatoire pour un rejet), mandat (référence du mandat "
            "ou du virement). Séparateur point-virgule ou virgule."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._styler()
        self.fields["fichier"].widget.attrs["accept"] = ".csv,text/csv"

    def clean_fichier(self):
        fichier = self.cleaned_data["fichier"]
        if fichier.size > TAILLE_MAX_RETOUR:
            raise forms.ValidationError(_("Le fichier dépasse 2 Mo."))
        # A bank return is text: a NUL byte in its first kilobyte means a binary file (spreadsheet, PDF, image).
        debut = fichier.read(1024)
        fichier.seek(0)
        if b"\x00" in debut:
            raise forms.ValidationError(
                _("Ce fichier n'est pas un CSV (contenu binaire) : enregistrez le retour au format CSV.")
            )
        return fichier
