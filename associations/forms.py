"""Forms of the associations' portal: porteur identification, join requests, invitations, roles, vault uploads."""

from __future__ import annotations

import re

from django import forms
from django.core.exceptions import ValidationError
from django.forms.boundfield import BoundField
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from associations import uploads
from associations.enums import RoleMembre
from associations.models import Porteur
from associations.services import CHAMPS_PORTEUR, message_siret_existant
from subventions.referentiel.models import TypePiece
from subventions.referentiel.validators import (  # noqa: F401 - raison_* re-exported for the forms' callers
    normaliser_iban,
    normaliser_siret,
    raison_bic,
    raison_iban,
    valider_siret,
)

CODE_POSTAL_RE = re.compile(r"^\d{5}$")


class ChampBootstrap(BoundField):
    """A bound field whose widget carries Bootstrap classes and the ids of its help and error texts.

    The ids match templates/partials/form.html (`<id>_helptext`, `<id>_error`, as Django names them), so screen
    readers announce them.
    """

    def build_widget_attrs(self, attrs, widget=None):
        attrs = super().build_widget_attrs(attrs, widget)
        widget = widget or self.field.widget
        if isinstance(widget, forms.CheckboxInput):
            classe = "form-check-input"
        elif isinstance(widget, forms.Select):
            classe = "form-select"
        else:
            classe = "form-control"
        decrit = []
        if self.help_text:
            decrit.append(f"{self.auto_id}_helptext")
        if self.errors:
            classe += " is-invalid"
            attrs["aria-invalid"] = "true"
            decrit.append(f"{self.auto_id}_error")
        if decrit:
            attrs["aria-describedby"] = " ".join(decrit)
        else:
            attrs.pop("aria-describedby", None)
        attrs["class"] = f"{attrs.get('class', '')} {classe}".strip()
        return attrs


class ChampMontant(forms.DecimalField):
    """A decimal typed the French way: « 245 000,50 € » (spaces, non-breaking spaces and the euro sign ignored)."""

    def __init__(self, *args, **kwargs):
        kwargs["localize"] = True
        super().__init__(*args, **kwargs)

    def to_python(self, value):
        if isinstance(value, str):
            value = re.sub(r"[\s\u00a0\u202f€]", "", value)
        return super().to_python(value)


class ChampURL(forms.URLField):
    """A web address; « asso.fr » is read as https://asso.fr."""

    def __init__(self, **kwargs):
        kwargs.setdefault("assume_scheme", "https")
        super().__init__(**kwargs)


class FormulaireBootstrap:
    """Mixin: every field renders with Bootstrap 5 classes and accessible descriptions."""

    bound_field_class = ChampBootstrap


class Resume:
    """Only the error summary of a form, for templates/partials/form.html (the fields come in sections)."""

    def __init__(self, form: forms.BaseForm):
        self.form = form

    @property
    def errors(self):
        return self.form.errors

    def non_field_errors(self):
        return self.form.non_field_errors()

    def __iter__(self):
        return iter(self.form)

    def hidden_fields(self):
        return self.form.hidden_fields()

    def visible_fields(self):
        return []


class Section:
    """Some fields of a form under a heading (a fieldset), rendered by templates/partials/form.html without summary."""

    errors: dict = {}

    def __init__(self, form: forms.BaseForm, titre: str, noms: list[str], aide: str = ""):
        self.form, self.titre, self.noms, self.aide = form, titre, noms, aide

    def non_field_errors(self):
        return []

    def __iter__(self):
        return iter(self.visible_fields())

    def hidden_fields(self):
        return []

    def visible_fields(self):
        return [self.form[nom] for nom in self.noms if nom in self.form.fields]


# --- Porteur -------------------------------------------------------------------------------------------------------

SECTIONS_PORTEUR = [
    (_("Identification"), ["nom", "sigle", "siret", "rna", "forme_juridique", "objet"], ""),
    (_("Siège et coordonnées"), ["adresse", "code_postal", "commune", "telephone", "email", "site_web"], ""),
    (
        _("Représentant légal"),
        ["representant_prenom", "representant_nom", "representant_qualite", "representant_email"]
        + ["representant_telephone"],
        _("La personne qui signe au nom de la structure (président·e en général)."),
    ),
    (
        _("Personne chargée du dossier"),
        ["contact_prenom", "contact_nom", "contact_qualite", "contact_email", "contact_telephone"],
        _("Si ce n'est pas le représentant légal."),
    ),
    (_("Agréments et reconnaissance"), ["agrements", "utilite_publique", "date_utilite_publique"], ""),
    (_("Moyens humains"), ["benevoles", "salaries", "etpt", "volontaires", "adherents"], ""),
    (_("Budget de la structure"), ["budget_annee_precedente", "budget_annee_courante"], ""),
    (
        _("Coordonnées bancaires"),
        ["iban", "bic"],
        _("Le compte sur lequel la subvention sera versée ; déposez aussi un RIB dans le coffre-fort."),
    ),
]


class PorteurForm(FormulaireBootstrap, forms.ModelForm):
    # Wider than the stored values: people type « 732 829 320 00074 » or an IBAN in groups of four.
    # Required here although the model allows an empty SIRET (porteurs imported without one): a structure that
    # registers or edits itself online always gives it.
    siret = forms.CharField(
        label=_("SIRET"),
        max_length=20,
        required=True,
        help_text=_("14 chiffres, figurant sur l'avis de situation au répertoire SIRENE (INSEE)."),
    )
    iban = forms.CharField(label=_("IBAN"), max_length=50, required=False)
    bic = forms.CharField(label=_("BIC"), max_length=20, required=False)
    rna = forms.CharField(
        label=_("Numéro RNA"),
        max_length=14,
        required=False,
        help_text=_("W suivi de 9 chiffres, sur le récépissé de déclaration en préfecture."),
    )

    class Meta:
        model = Porteur
        fields = CHAMPS_PORTEUR
        field_classes = {
            "site_web": ChampURL,
            "etpt": ChampMontant,
            "budget_annee_precedente": ChampMontant,
            "budget_annee_courante": ChampMontant,
        }
        widgets = {
            "objet": forms.Textarea(attrs={"rows": 3}),
            "agrements": forms.Textarea(attrs={"rows": 3}),
            "date_utilite_publique": forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
            "telephone": forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            "representant_telephone": forms.TextInput(attrs={"type": "tel"}),
            "contact_telephone": forms.TextInput(attrs={"type": "tel"}),
            "code_postal": forms.TextInput(attrs={"inputmode": "numeric", "autocomplete": "postal-code"}),
            "etpt": forms.TextInput(attrs={"inputmode": "decimal"}),
            "budget_annee_precedente": forms.TextInput(attrs={"inputmode": "decimal"}),
            "budget_annee_courante": forms.TextInput(attrs={"inputmode": "decimal"}),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.porteur_existant: Porteur | None = None
        self.fields["siret"].widget.attrs.update({"inputmode": "numeric", "autocomplete": "off"})
        for nom in ("benevoles", "salaries", "volontaires", "adherents"):
            self.fields[nom].widget.attrs["min"] = 0

    def sections(self) -> list[Section]:
        return [Section(self, titre, noms, aide) for titre, noms, aide in SECTIONS_PORTEUR]

    def resume(self) -> Resume:
        return Resume(self)

    def clean_siret(self) -> str:
        siret = normaliser_siret(self.cleaned_data["siret"])
        valider_siret(siret)
        existant = Porteur.objects.filter(siret=siret).exclude(pk=self.instance.pk).first()
        if existant is not None:
            self.porteur_existant = existant
            raise ValidationError(message_siret_existant(existant), code="siret_existant")
        return siret

    def clean_rna(self) -> str:
        return re.sub(r"\s+", "", self.cleaned_data.get("rna") or "").upper()

    def clean_iban(self) -> str:
        iban = normaliser_iban(self.cleaned_data.get("iban"))
        if iban:
            raison = raison_iban(iban)
            if raison:
                raise ValidationError(_("Cet IBAN n'est pas valide : %(raison)s") % {"raison": raison}, code="iban")
        return iban

    def clean_bic(self) -> str:
        bic = re.sub(r"\s+", "", self.cleaned_data.get("bic") or "").upper()
        if bic:
            raison = raison_bic(bic)
            if raison:
                raise ValidationError(_("Ce BIC n'est pas valide : %(raison)s") % {"raison": raison}, code="bic")
        return bic

    def clean_code_postal(self) -> str:
        code = (self.cleaned_data.get("code_postal") or "").strip()
        if not CODE_POSTAL_RE.match(code):
            raise ValidationError(_("Un code postal compte 5 chiffres (ex. 13002)."), code="code_postal")
        return code

    def clean(self):
        donnees = super().clean()
        if not donnees.get("utilite_publique"):
            donnees["date_utilite_publique"] = None
        if donnees.get("bic") and not donnees.get("iban"):
            self.add_error("iban", _("Indiquez l'IBAN qui va avec ce BIC."))
        return donnees


class AdhesionForm(FormulaireBootstrap, forms.Form):
    """Ask to join the porteur registered with this SIRET."""

    siret = forms.CharField(widget=forms.HiddenInput, max_length=20)
    message = forms.CharField(
        label=_("Message aux représentants légaux (facultatif)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Présentez-vous : votre fonction dans la structure, pourquoi vous souhaitez la rejoindre."),
    )

    def clean_siret(self) -> str:
        siret = normaliser_siret(self.cleaned_data["siret"])
        # Never an empty SIRET ("." normalises to ""): it would match a porteur imported without SIRET.
        self.porteur = Porteur.objects.filter(siret=siret).first() if siret else None
        if self.porteur is None:
            raise ValidationError(_("Aucune structure n'est inscrite avec ce SIRET."), code="siret_inconnu")
        return siret


# --- Members -------------------------------------------------------------------------------------------------------


class InvitationForm(FormulaireBootstrap, forms.Form):
    email = forms.EmailField(
        label=_("Adresse électronique de la personne invitée"),
        widget=forms.EmailInput(attrs={"autocomplete": "off"}),
    )
    role = forms.ChoiceField(
        label=_("Rôle"),
        choices=RoleMembre.choices,
        initial=RoleMembre.GESTIONNAIRE,
        help_text=_(
            "Représentant légal : signe, atteste et gère les membres. Gestionnaire : prépare et modifie les "
            "demandes et les pièces. Lecteur : consulte."
        ),
    )

    def clean_email(self) -> str:
        return self.cleaned_data["email"].strip().lower()


class RoleForm(forms.Form):
    role = forms.ChoiceField(label=_("Rôle"), choices=RoleMembre.choices)


class DecisionAdhesionForm(forms.Form):
    decision = forms.ChoiceField(choices=[("accepter", _("Accepter")), ("refuser", _("Refuser"))])
    role = forms.ChoiceField(label=_("Rôle"), choices=RoleMembre.choices, required=False)

    def clean(self):
        donnees = super().clean()
        if donnees.get("decision") == "accepter" and not donnees.get("role"):
            self.add_error("role", _("Choisissez le rôle de la personne dans la structure."))
        return donnees


# --- Vault ---------------------------------------------------------------------------------------------------------


class PieceForm(FormulaireBootstrap, forms.Form):
    type_piece = forms.ModelChoiceField(
        label=_("Type de pièce"), queryset=TypePiece.objects.order_by("ordre", "libelle"), empty_label=None
    )
    libelle = forms.CharField(
        label=_("Libellé (facultatif)"),
        max_length=200,
        required=False,
        help_text=_("Obligatoire pour une « autre pièce » : dites de quel document il s'agit."),
    )
    fichier = forms.FileField(
        label=_("Fichier"),
        error_messages={
            "required": _("Choisissez un fichier à déposer."),
            "empty": _("Le fichier est vide : choisissez le bon document."),
            "invalid": _("Aucun fichier n'a été reçu : choisissez-le à nouveau."),
        },
        widget=forms.FileInput(attrs={"accept": uploads.ACCEPT}),
    )
    valide_du = forms.DateField(
        label=_("Valable du (facultatif)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    valide_au = forms.DateField(
        label=_("Valable jusqu'au (facultatif)"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text=_("Par exemple la date d'échéance d'un mandat ; laissez vide si la pièce n'expire pas."),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # One query for the types: the select would otherwise read them twice (required check, then rendering).
        self.fields["type_piece"].choices = list(iter(self.fields["type_piece"].choices))
        self.fields["fichier"].help_text = _(
            "PDF, PNG ou JPEG, %(taille)s au plus. Le type est vérifié d'après le contenu du fichier."
        ) % {"taille": self.taille_max_lisible}

    @cached_property
    def taille_max_lisible(self) -> str:
        from django.template.defaultfilters import filesizeformat

        return filesizeformat(uploads.taille_max())

    def clean(self):
        donnees = super().clean()
        type_piece = donnees.get("type_piece")
        if type_piece is not None and type_piece.code == "autre" and not (donnees.get("libelle") or "").strip():
            self.add_error("libelle", _("Précisez de quel document il s'agit."))
        du, au = donnees.get("valide_du"), donnees.get("valide_au")
        if du and au and au < du:
            self.add_error("valide_au", _("La fin de validité ne peut pas précéder son début."))
        return donnees
