"""Forms of the instructeurs' pages: queue filters, recevabilité decisions, avis, notes and messages."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from subventions.campagnes.models import Campagne
from subventions.demandes.enums import Avis, StatutDemande
from subventions.demandes.forms import MontantField
from subventions.demandes.selectors_instruction import TRI_DEFAUT, Filtres
from subventions.referentiel.models import Financeur, Objectif, Pilier, Territoire

TRIS_CHOIX = [
    ("-depot", _("Dépôt le plus récent")),
    ("depot", _("Dépôt le plus ancien")),
    ("numero", _("Numéro croissant")),
    ("-numero", _("Numéro décroissant")),
    ("-montant", _("Montant décroissant")),
    ("montant", _("Montant croissant")),
    ("porteur", _("Porteur (A → Z)")),
    ("-porteur", _("Porteur (Z → A)")),
]


class _Bootstrap:
    def _styler(self) -> None:
        for champ in self.fields.values():
            classe = "form-select" if isinstance(champ.widget, forms.Select) else "form-control"
            champ.widget.attrs.setdefault("class", classe)


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs=None):
        super().__init__(attrs, format="%Y-%m-%d")


class FiltreFileForm(_Bootstrap, forms.Form):
    """GET filters of the queue; an invalid criterion is ignored (and shown as an error), never a 500."""

    q = forms.CharField(label=_("Recherche (intitulé, porteur, numéro)"), required=False, max_length=100)
    campagne = forms.ModelChoiceField(label=_("Campagne"), queryset=Campagne.objects.none(), required=False)
    statut = forms.ChoiceField(label=_("Statut"), choices=[("", "—"), *StatutDemande.choices], required=False)
    financeur = forms.ModelChoiceField(label=_("Financeur"), queryset=Financeur.objects.none(), required=False)
    pilier = forms.ModelChoiceField(label=_("Pilier"), queryset=Pilier.objects.none(), required=False)
    objectif = forms.ModelChoiceField(label=_("Objectif"), queryset=Objectif.objects.none(), required=False)
    territoire = forms.ModelChoiceField(label=_("Territoire"), queryset=Territoire.objects.none(), required=False)
    qpv = forms.CharField(label=_("Code QPV"), required=False, max_length=8)
    porteur = forms.IntegerField(widget=forms.HiddenInput, required=False)
    montant_min = MontantField(label=_("Montant demandé minimum (€)"))
    montant_max = MontantField(label=_("Montant demandé maximum (€)"))
    instructeur = forms.ChoiceField(label=_("Instructeur assigné"), required=False)
    depose_du = forms.DateField(label=_("Déposée du"), required=False, widget=DateInput)
    depose_au = forms.DateField(label=_("au"), required=False, widget=DateInput)
    tri = forms.ChoiceField(label=_("Trier par"), choices=TRIS_CHOIX, required=False)

    def __init__(self, *args, campagnes, financeurs, territoires, instructeurs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["campagne"].queryset = campagnes
        self.fields["financeur"].queryset = financeurs
        contrats = campagnes.values("contrat_id")
        self.fields["pilier"].queryset = Pilier.objects.filter(contrat_id__in=contrats).order_by("numero")
        self.fields["objectif"].queryset = (
            Objectif.objects.filter(pilier__contrat_id__in=contrats)
            .select_related("pilier")
            .order_by("pilier__numero", "ordre", "code")
        )
        self.fields["territoire"].queryset = territoires
        self.fields["instructeur"].choices = [
            ("", "—"),
            ("moi", _("Moi")),
            ("aucun", _("Non assigné")),
            *[(str(u.pk), u.get_full_name() or u.email) for u in instructeurs],
        ]
        self._styler()

    def filtres(self) -> Filtres:
        self.is_valid()  # an invalid criterion is dropped from cleaned_data; the others still apply
        donnees = self.cleaned_data
        objet = lambda nom: donnees.get(nom).pk if donnees.get(nom) else None  # noqa: E731
        return Filtres(
            campagne=objet("campagne"),
            statut=donnees.get("statut") or "",
            financeur=objet("financeur"),
            pilier=objet("pilier"),
            objectif=objet("objectif"),
            territoire=objet("territoire"),
            qpv=donnees.get("qpv") or "",
            porteur=donnees.get("porteur"),
            montant_min=donnees.get("montant_min"),
            montant_max=donnees.get("montant_max"),
            instructeur=donnees.get("instructeur") or "",
            depose_du=donnees.get("depose_du"),
            depose_au=donnees.get("depose_au"),
            recherche=donnees.get("q") or "",
            tri=donnees.get("tri") or TRI_DEFAUT,
        )


class ComplementsForm(_Bootstrap, forms.Form):
    message = forms.CharField(
        label=_("Ce qui manque (message envoyé au porteur)"), widget=forms.Textarea(attrs={"rows": 3})
    )
    echeance = forms.DateField(label=_("Compléments attendus pour le"), widget=DateInput)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._styler()


class IrrecevableForm(_Bootstrap, forms.Form):
    motif = forms.CharField(
        label=_("Motif d'irrecevabilité (communiqué au porteur)"), widget=forms.Textarea(attrs={"rows": 3})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._styler()


class AvisForm(_Bootstrap, forms.Form):
    avis = forms.ChoiceField(label=_("Avis"), choices=Avis.choices, widget=forms.RadioSelect)
    montant_propose = MontantField(label=_("Montant proposé (€)"))
    motivation = forms.CharField(label=_("Motivation"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    version = forms.IntegerField(widget=forms.HiddenInput, min_value=0)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._styler()
        self.fields["avis"].widget.attrs["class"] = "form-check-input"


class TexteForm(_Bootstrap, forms.Form):
    texte = forms.CharField(label=_("Texte"), widget=forms.Textarea(attrs={"rows": 3}), max_length=10000)

    def __init__(self, *args, label=None, **kwargs):
        super().__init__(*args, **kwargs)
        if label:
            self.fields["texte"].label = label
        self._styler()
