"""Forms of the instructeurs' pages: queue filters, recevabilité decisions, avis, notes and messages."""

from __future__ import annotations

from django import forms
from django.forms.utils import flatatt
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from subventions.demandes.enums import Avis, StatutDemande
from subventions.demandes.forms import MontantField
from subventions.demandes.selectors_instruction import TRI_DEFAUT, ChoixFiltres, Filtres

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


class SelectListe(forms.Select):
    """A <select> whose options are written in Python: Django's Select renders each <option> through a template
    include, a large share of the queue's rendering time once the lists hold hundreds of instructeurs or objectifs.
    Same markup: the attributes Django gives the widget, and the option(s) of the value selected."""

    def render(self, name, value, attrs=None, renderer=None):
        choisies = set(self.format_value(value))
        options = format_html_join(
            "",
            '<option value="{}"{}>{}</option>',
            ((v, " selected" if str(v) in choisies else "", libelle) for v, libelle in self.choices),
        )
        return format_html(
            '<select name="{}"{}>{}</select>', name, flatatt(self.build_attrs(self.attrs, attrs)), options
        )


def _choix_id(label) -> forms.TypedChoiceField:
    """A select of (pk, label) pairs given at construction; the cleaned value is the pk (None when empty)."""
    return forms.TypedChoiceField(
        label=label, choices=(), coerce=int, empty_value=None, required=False, widget=SelectListe
    )


class FiltreFileForm(_Bootstrap, forms.Form):
    """GET filters of the queue; an invalid criterion is ignored (and shown as an error), never a 500.

    The lists come as plain (pk, label) pairs (`selectors_instruction.choix_filtres`): a chosen value is checked
    against them in memory, where a ModelChoiceField would query the database once per criterion."""

    q = forms.CharField(label=_("Recherche (intitulé, porteur, numéro)"), required=False, max_length=100)
    campagne = _choix_id(_("Campagne"))
    statut = forms.ChoiceField(
        label=_("Statut"), choices=[("", "—"), *StatutDemande.choices], required=False, widget=SelectListe
    )
    financeur = _choix_id(_("Financeur"))
    pilier = _choix_id(_("Pilier"))
    objectif = _choix_id(_("Objectif"))
    territoire = _choix_id(_("Territoire"))
    qpv = forms.CharField(label=_("Code QPV"), required=False, max_length=8)
    porteur = forms.IntegerField(widget=forms.HiddenInput, required=False)
    montant_min = MontantField(label=_("Montant demandé minimum (€)"))
    montant_max = MontantField(label=_("Montant demandé maximum (€)"))
    instructeur = forms.ChoiceField(label=_("Instructeur assigné"), required=False, widget=SelectListe)
    depose_du = forms.DateField(label=_("Déposée du"), required=False, widget=DateInput)
    depose_au = forms.DateField(label=_("au"), required=False, widget=DateInput)
    tri = forms.ChoiceField(label=_("Trier par"), choices=TRIS_CHOIX, required=False, widget=SelectListe)

    def __init__(self, *args, choix: ChoixFiltres, **kwargs):
        super().__init__(*args, **kwargs)
        vide = [("", "---------")]
        self.fields["campagne"].choices = [*vide, *choix.campagnes]
        self.fields["financeur"].choices = [*vide, *choix.financeurs]
        self.fields["pilier"].choices = [*vide, *choix.piliers]
        self.fields["objectif"].choices = [*vide, *choix.objectifs]
        self.fields["territoire"].choices = [*vide, *choix.territoires]
        self.fields["instructeur"].choices = [
            ("", "—"),
            ("moi", _("Moi")),
            ("aucun", _("Non assigné")),
            *[(str(pk), nom) for pk, nom in choix.instructeurs],
        ]
        self._styler()

    def filtres(self) -> Filtres:
        self.is_valid()  # an invalid criterion is dropped from cleaned_data; the others still apply
        donnees = self.cleaned_data
        return Filtres(
            campagne=donnees.get("campagne"),
            statut=donnees.get("statut") or "",
            financeur=donnees.get("financeur"),
            pilier=donnees.get("pilier"),
            objectif=donnees.get("objectif"),
            territoire=donnees.get("territoire"),
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
