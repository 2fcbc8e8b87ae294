"""The upload form of an import of past subsidies (administrateurs)."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from subventions.pilotage.lecture import TAILLE_MAX


class ImportForm(forms.Form):
    fichier = forms.FileField(
        label=_("Fichier CSV ou XLSX"),
        help_text=_(
            "Colonnes SCDL (toute version) ou ancienne disposition COLL_/ATTRIB_/SUB_ ; séparateur point-virgule, "
            "virgule ou tabulation ; UTF-8 ou Windows-1252. 20 Mo au plus."
        ),
    )
    financeur = forms.ModelChoiceField(
        label=_("Financeur de toutes les lignes"),
        queryset=None,
        required=False,
        help_text=_("Laissez vide pour lire l'attribuant de chaque ligne dans le fichier (il est créé s'il manque)."),
    )
    annee = forms.IntegerField(
        label=_("Exercice des lignes sans date"),
        min_value=2000,
        max_value=2100,
        required=False,
        help_text=_("Utilisé seulement pour les lignes sans date de convention ni période de versement."),
    )
    simulation = forms.BooleanField(
        label=_("Simulation : tout vérifier sans rien enregistrer"), required=False, initial=True
    )

    def __init__(self, *args, financeurs, tous_financeurs: bool, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["financeur"].queryset = financeurs
        self.tous_financeurs = tous_financeurs
        if not tous_financeurs:
            self.fields["financeur"].required = True
            self.fields["financeur"].empty_label = None
            self.fields["financeur"].help_text = _("Les lignes sont attribuées à ce financeur de votre périmètre.")

    def clean_fichier(self):
        fichier = self.cleaned_data["fichier"]
        if fichier.size > TAILLE_MAX:
            raise forms.ValidationError(_("Le fichier dépasse 20 Mo."))
        return fichier
