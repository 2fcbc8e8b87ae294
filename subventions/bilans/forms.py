"""Forms of the bilans pages: the porteur's compte-rendu (actuals per forecast line, indicators, text), a pièce to
attach, and the instructeur's corrections request."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from subventions.bilans.models import CompteRendu
from subventions.bilans.services import INDICATEURS_LIBRES_MAX, Saisie
from subventions.demandes.forms import Bootstrap, MontantField
from subventions.referentiel.models import TypePiece

NOUVEAUX_INDICATEURS = 2


class CompteRenduForm(Bootstrap, forms.Form):
    """The whole compte-rendu in one form: one amount per forecast line (empty: not entered yet), one value per
    indicator (the name too for those the porteur added), a couple of rows for new indicators, the text fields."""

    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    actions_realisees = forms.CharField(
        label=CompteRendu._meta.get_field("actions_realisees").verbose_name.capitalize(),
        help_text=CompteRendu._meta.get_field("actions_realisees").help_text,
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
    )
    public_touche = forms.CharField(
        label=CompteRendu._meta.get_field("public_touche").verbose_name.capitalize(),
        help_text=CompteRendu._meta.get_field("public_touche").help_text,
        widget=forms.Textarea(attrs={"rows": 3}),
        required=False,
    )
    beneficiaires = forms.IntegerField(
        label=_("Nombre de bénéficiaires"), min_value=0, max_value=10_000_000, required=False
    )
    ecarts_expliques = forms.CharField(
        label=CompteRendu._meta.get_field("ecarts_expliques").verbose_name.capitalize(),
        help_text=CompteRendu._meta.get_field("ecarts_expliques").help_text,
        widget=forms.Textarea(attrs={"rows": 4}),
        required=False,
    )

    def __init__(self, *args, compte_rendu: CompteRendu, lignes, indicateurs, **kwargs):
        kwargs.setdefault(
            "initial",
            {
                "version": compte_rendu.version,
                "actions_realisees": compte_rendu.actions_realisees,
                "public_touche": compte_rendu.public_touche,
                "beneficiaires": compte_rendu.beneficiaires,
                "ecarts_expliques": compte_rendu.ecarts_expliques,
            },
        )
        super().__init__(*args, **kwargs)
        self.lignes, self.indicateurs = lignes, indicateurs
        for ligne in lignes:
            self.fields[f"realise_{ligne.pk}"] = MontantField(
                label=_("Réalisé — %(ligne)s") % {"ligne": ligne.libelle}, initial=ligne.realise
            )
        for ind in indicateurs:
            if ind.indicateur_id is None:
                self.fields[f"indicateur_nom_{ind.pk}"] = forms.CharField(
                    label=_("Indicateur ajouté (nom)"), max_length=200, required=False, initial=ind.nom
                )
            self.fields[f"indicateur_{ind.pk}"] = forms.CharField(
                label=_("Valeur atteinte — %(nom)s") % {"nom": ind.nom},
                max_length=100,
                required=False,
                initial=ind.realise,
            )
        libres = sum(1 for ind in indicateurs if ind.indicateur_id is None)
        self.nouveaux = range(1, max(0, min(NOUVEAUX_INDICATEURS, INDICATEURS_LIBRES_MAX - libres)) + 1)
        for i in self.nouveaux:
            self.fields[f"nouvel_indicateur_nom_{i}"] = forms.CharField(
                label=_("Nouvel indicateur %(n)s (nom)") % {"n": i}, max_length=200, required=False
            )
            self.fields[f"nouvel_indicateur_valeur_{i}"] = forms.CharField(
                label=_("Nouvel indicateur %(n)s (valeur atteinte)") % {"n": i}, max_length=100, required=False
            )
        self.classes_bootstrap()

    def rangs_lignes(self, sens: str):
        return [(ligne, self[f"realise_{ligne.pk}"]) for ligne in self.lignes if ligne.sens == sens]

    def rangs_charges(self):
        return self.rangs_lignes("charge")

    def rangs_produits(self):
        return self.rangs_lignes("produit")

    def rangs_indicateurs(self):
        return [
            (
                ind,
                self[f"indicateur_nom_{ind.pk}"] if ind.indicateur_id is None else None,
                self[f"indicateur_{ind.pk}"],
            )
            for ind in self.indicateurs
        ]

    def rangs_nouveaux(self):
        return [(self[f"nouvel_indicateur_nom_{i}"], self[f"nouvel_indicateur_valeur_{i}"]) for i in self.nouveaux]

    def saisie(self) -> Saisie:
        data = self.cleaned_data
        champs = {nom: data.get(nom) or "" for nom in ("actions_realisees", "public_touche", "ecarts_expliques")}
        champs["beneficiaires"] = data.get("beneficiaires")
        return Saisie(
            champs=champs,
            realises={ligne.pk: data.get(f"realise_{ligne.pk}") for ligne in self.lignes},
            indicateurs={
                ind.pk: (data.get(f"indicateur_nom_{ind.pk}", ind.nom) or "", data.get(f"indicateur_{ind.pk}") or "")
                for ind in self.indicateurs
            },
            nouveaux_indicateurs=[
                (data.get(f"nouvel_indicateur_nom_{i}") or "", data.get(f"nouvel_indicateur_valeur_{i}") or "")
                for i in self.nouveaux
            ],
        )


class PieceForm(Bootstrap, forms.Form):
    type = forms.ModelChoiceField(
        label=_("Type de pièce"), queryset=TypePiece.objects.order_by("ordre", "libelle"), empty_label=None
    )
    libelle = forms.CharField(
        label=_("Libellé"),
        max_length=200,
        required=False,
        help_text=_("Par exemple : factures des ateliers, feuilles d'émargement, bilan d'activité 2015."),
    )
    fichier = forms.FileField(
        label=_("Fichier (PDF, PNG ou JPEG)"),
        widget=forms.ClearableFileInput(attrs={"accept": "application/pdf,image/png,image/jpeg,.pdf,.png,.jpg"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["type"].initial = TypePiece.objects.filter(code="autre").values_list("pk", flat=True).first()


class CorrectionsForm(Bootstrap, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
    commentaire = forms.CharField(
        label=_("Ce que la structure doit corriger"),
        widget=forms.Textarea(attrs={"rows": 4}),
        max_length=4000,
        help_text=_("Le message est envoyé aux membres de la structure ; il reste affiché sur le compte-rendu."),
    )


class ValidationForm(forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)
