"""Forms of the online request (one per step of the CERFA 12156 form), validated on the server in French."""

from __future__ import annotations

import re
from decimal import Decimal

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db.models import Q
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext_lazy as _

from associations.models import Piece, Porteur
from associations.selectors import pieces_du_porteur
from subventions.demandes.enums import COMPTES, COMPTES_CHARGES, COMPTES_PRODUITS, SENS_PAR_COMPTE
from subventions.demandes.models import (
    MONTANT_MAX,
    ZERO,
    Demande,
    Indicateur,
    LigneBudget,
    LigneFinancement,
    PieceDemande,
)
from subventions.referentiel.models import QPV, Objectif, Territoire

# --- Amounts: French input ("1 234,56 €"), Decimal only, 0 ≤ amount ≤ 9 999 999,99.

_ESPACES = re.compile(r"[\s\u00a0\u202f'’]")
_NOMBRE = re.compile(r"^-?\d+(\.\d+)?$")


def normaliser_montant(texte: str) -> str:
    """'1 234,56 €' → '1234.56'; '1.234,56' → '1234.56'; anything ambiguous is left for the field to refuse."""
    valeur = _ESPACES.sub("", texte.strip()).replace("€", "")
    if "," in valeur and "." in valeur:
        # The last separator is the decimal one; the other groups thousands.
        if valeur.rfind(",") > valeur.rfind("."):
            valeur = valeur.replace(".", "").replace(",", ".")
        else:
            valeur = valeur.replace(",", "")
    elif valeur.count(",") == 1:
        valeur = valeur.replace(",", ".")
    return valeur


def afficher_montant(valeur) -> str:
    """Decimal → '1234,56' for an input (no thousands separator, so that it reads back as typed)."""
    if valeur is None or valeur == "":
        return ""
    if isinstance(valeur, Decimal):
        return f"{valeur:.2f}".replace(".", ",")
    return str(valeur)


class MontantInput(forms.TextInput):
    def __init__(self, attrs=None):
        super().__init__({"inputmode": "decimal", "autocomplete": "off", "class": "text-end", **(attrs or {})})

    def format_value(self, value):
        return afficher_montant(value) or None


class MontantField(forms.DecimalField):
    """An amount in euros typed the French way; empty means zero unless `required`."""

    widget = MontantInput
    default_error_messages = {
        "invalid": _("Saisissez un montant en euros, par exemple 1 234,56."),
        "max_decimal_places": _("Un montant a au plus deux chiffres après la virgule (les centimes)."),
    }

    def __init__(self, *, maximum: Decimal = MONTANT_MAX, message_max=None, message_min=None, **kwargs):
        kwargs.setdefault("required", False)
        # No max_digits: the maximum value says it, once, in the user's terms.
        super().__init__(max_digits=None, decimal_places=2, **kwargs)
        message_max = message_max or _("Le montant ne peut pas dépasser 9 999 999,99 €.")
        self.validators.append(MinValueValidator(ZERO, message_min or _("Le montant ne peut pas être négatif.")))
        self.validators.append(MaxValueValidator(maximum, message_max))

    def to_python(self, value):
        if isinstance(value, str):
            value = normaliser_montant(value)
            if value and not _NOMBRE.match(value):
                raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)


class DecimalFrancaisField(MontantField):
    """A non-monetary decimal (a percentage, ETPT) with the same French input."""

    default_error_messages = {
        "invalid": _("Saisissez un nombre, par exemple 12,5."),
        "max_decimal_places": _("Saisissez au plus deux chiffres après la virgule."),
    }

    def __init__(self, *, maximum: Decimal, unite: str = "", **kwargs):
        message = _("La valeur ne peut pas dépasser %(max)s%(unite)s.") % {
            "max": afficher_montant(maximum),
            "unite": unite,
        }
        message = message.replace("%", "%%")  # the validator formats its message with its params
        super().__init__(
            maximum=maximum, message_max=message, message_min=_("La valeur ne peut pas être négative."), **kwargs
        )


# --- Bootstrap classes on every widget.


class Bootstrap:
    """Adds Bootstrap 5 classes to the widgets; the error state (aria-invalid, is-invalid) follows the errors."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.classes_bootstrap()

    def classes_bootstrap(self) -> None:
        """Forms that add fields after __init__ call it again; it is idempotent."""
        for field in self.fields.values():
            widget = field.widget
            if isinstance(widget, forms.CheckboxInput | forms.RadioSelect | forms.CheckboxSelectMultiple):
                classe = "form-check-input"
            elif isinstance(widget, forms.Select):
                classe = "form-select"
            else:
                classe = "form-control"
            classes = widget.attrs.get("class", "").split()
            if classe not in classes:
                widget.attrs["class"] = " ".join([*classes, classe])

    def full_clean(self):
        super().full_clean()
        for nom in self.errors:
            if nom in self.fields:
                widget = self.fields[nom].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()

    def lecture_seule(self) -> None:
        for field in self.fields.values():
            field.disabled = True


DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


# --- Nouvelle demande.


class NouvelleDemandeForm(Bootstrap, forms.Form):
    porteur = forms.ModelChoiceField(
        label=_("Structure qui dépose la demande"),
        queryset=Porteur.objects.none(),
        empty_label=None,
        error_messages={"invalid_choice": _("Choisissez une de vos structures.")},
    )
    intitule = forms.CharField(
        label=_("Intitulé de l'action"),
        max_length=250,
        help_text=_("Un titre court et parlant, par exemple « Ateliers d'écriture au centre social »."),
    )

    def __init__(self, *args, porteurs, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["porteur"].queryset = porteurs
        if len(porteurs) == 1:
            self.fields["porteur"].initial = porteurs[0].pk
            self.fields["porteur"].widget = forms.HiddenInput()

    def clean_intitule(self) -> str:
        intitule = self.cleaned_data["intitule"].strip()
        if not intitule:
            raise forms.ValidationError(_("Donnez un intitulé à l'action."))
        return intitule


# --- Steps. Each form has `enregistrer()`, called by the view inside a transaction on the locked demande.


class IdentificationForm(Bootstrap, forms.ModelForm):
    """The porteur's fields the CERFA asks for, editable here; saving updates the Porteur itself."""

    site_web = forms.URLField(label=_("Site internet"), required=False, assume_scheme="https")
    etpt = DecimalFrancaisField(label=_("Salariés en ETPT"), maximum=Decimal("99999.99"))
    budget_annee_precedente = MontantField(
        label=_("Budget de l'année précédente (€)"),
        maximum=Decimal("9999999999.99"),
        message_max=_("Le montant ne peut pas dépasser 9 999 999 999,99 €."),
    )
    budget_annee_courante = MontantField(
        label=_("Budget de l'année en cours (€)"),
        maximum=Decimal("9999999999.99"),
        message_max=_("Le montant ne peut pas dépasser 9 999 999 999,99 €."),
    )

    groupes = [
        (_("Siège et contact"), ["adresse", "code_postal", "commune", "telephone", "email", "site_web"]),
        (
            _("Représentant légal"),
            [
                "representant_prenom",
                "representant_nom",
                "representant_qualite",
                "representant_email",
                "representant_telephone",
            ],
        ),
        (
            _("Personne chargée du dossier"),
            ["contact_prenom", "contact_nom", "contact_qualite", "contact_email", "contact_telephone"],
        ),
        (_("Agréments"), ["agrements", "utilite_publique", "date_utilite_publique"]),
        (_("Moyens humains"), ["benevoles", "salaries", "etpt", "volontaires", "adherents"]),
        (_("Budget de la structure"), ["budget_annee_precedente", "budget_annee_courante"]),
        (_("Coordonnées bancaires"), ["iban", "bic"]),
    ]

    class Meta:
        model = Porteur
        fields = [
            "adresse",
            "code_postal",
            "commune",
            "telephone",
            "email",
            "site_web",
            "representant_prenom",
            "representant_nom",
            "representant_qualite",
            "representant_email",
            "representant_telephone",
            "contact_prenom",
            "contact_nom",
            "contact_qualite",
            "contact_email",
            "contact_telephone",
            "agrements",
            "utilite_publique",
            "date_utilite_publique",
            "benevoles",
            "salaries",
            "etpt",
            "volontaires",
            "adherents",
            "budget_annee_precedente",
            "budget_annee_courante",
            "iban",
            "bic",
        ]
        widgets = {"agrements": forms.Textarea(attrs={"rows": 2}), "date_utilite_publique": DATE}
        help_texts = {
            "iban": _("27 caractères pour un compte en France, par exemple FR76 3000 1007 9412 3456 7890 185.")
        }

    def __init__(self, *args, demande: Demande, **kwargs):
        super().__init__(*args, instance=demande.porteur, **kwargs)
        self.fields["etpt"].required = False

    def clean_code_postal(self) -> str:
        code = self.cleaned_data["code_postal"].strip()
        if not re.fullmatch(r"\d{5}", code):
            raise forms.ValidationError(_("Un code postal compte 5 chiffres."))
        return code

    def clean_etpt(self):
        return self.cleaned_data["etpt"] if self.cleaned_data["etpt"] is not None else ZERO

    def sections(self):
        return [(titre, [self[nom] for nom in noms]) for titre, noms in self.groupes]

    def enregistrer(self, demande: Demande) -> None:
        self.save()
        demande.porteur = self.instance
        demande.save(update_fields=["modifie_le"])


class NatureForm(Bootstrap, forms.ModelForm):
    class Meta:
        model = Demande
        fields = ["nature", "type_demande", "objet", "duree"]
        widgets = dict.fromkeys(["nature", "type_demande", "objet", "duree"], forms.RadioSelect)

    def __init__(self, *args, demande: Demande, **kwargs):
        super().__init__(*args, instance=demande, **kwargs)

    def enregistrer(self, demande: Demande) -> None:
        self.save()


class ActionForm(Bootstrap, forms.ModelForm):
    moyens_etpt = DecimalFrancaisField(label=_("Salariés affectés en ETPT"), maximum=Decimal("99999.99"))

    class Meta:
        model = Demande
        fields = [
            "intitule",
            "objectifs_action",
            "description",
            "date_debut",
            "date_fin",
            "moyens_benevoles",
            "moyens_salaries",
            "moyens_etpt",
        ]
        widgets = {
            "objectifs_action": forms.Textarea(attrs={"rows": 4}),
            "description": forms.Textarea(attrs={"rows": 6}),
            "date_debut": DATE,
            "date_fin": DATE,
        }
        help_texts = {
            "objectifs_action": _("Ce que l'action veut changer pour les habitants du quartier."),
            "description": _("Contenu, déroulement, partenaires, calendrier."),
        }

    def __init__(self, *args, demande: Demande, **kwargs):
        super().__init__(*args, instance=demande, **kwargs)

    def enregistrer(self, demande: Demande) -> None:
        self.save()


class PublicForm(Bootstrap, forms.ModelForm):
    public_part_qpv = DecimalFrancaisField(
        label=_("Part du public résidant en quartier prioritaire (%)"), maximum=Decimal("100"), unite=" %"
    )

    class Meta:
        model = Demande
        fields = [
            "public_nombre",
            "public_age_min",
            "public_age_max",
            "public_part_qpv",
            "public_description",
            "qpvs",
            "territoire",
            "lieu",
        ]
        widgets = {"public_description": forms.Textarea(attrs={"rows": 3}), "qpvs": forms.CheckboxSelectMultiple}
        labels = {"territoire": _("Territoire de projet")}

    def __init__(self, *args, demande: Demande, **kwargs):
        super().__init__(*args, instance=demande, **kwargs)
        contrat_id = demande.campagne.contrat_id
        qpvs = QPV.objects.filter(territoires__contrat_id=contrat_id).distinct().order_by("code")
        if not qpvs.exists():
            # A contrat whose territoires are not described yet: every QPV of the référentiel.
            qpvs = QPV.objects.order_by("code")
        self.fields["qpvs"].queryset = qpvs
        self.fields["qpvs"].error_messages["invalid_choice"] = _(
            "Ce quartier ne fait pas partie du contrat de ville de la campagne."
        )
        self.fields["territoire"].queryset = Territoire.objects.filter(contrat_id=contrat_id).order_by("nom")
        self.fields["territoire"].empty_label = _("— Choisir —")

    def enregistrer(self, demande: Demande) -> None:
        self.save()


class ObjectifChoiceField(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Objectif) -> str:
        return f"{obj.code} — {obj.libelle}"


class IndicateurForm(Bootstrap, forms.ModelForm):
    class Meta:
        model = Indicateur
        fields = ["nom", "cible"]
        labels = {"nom": _("Indicateur"), "cible": _("Valeur cible")}
        error_messages = {
            "nom": {"required": _("Nommez l'indicateur.")},
            "cible": {"required": _("Donnez la valeur cible de l'indicateur.")},
        }


IndicateurFormSet = forms.inlineformset_factory(
    Demande, Indicateur, form=IndicateurForm, extra=0, can_delete=True, max_num=30, validate_max=True
)


class ObjectifsForm(Bootstrap, forms.ModelForm):
    """Objectives of the contrat de ville (grouped by pilier) and the evaluation indicators (a formset)."""

    objectifs = ObjectifChoiceField(
        label=_("Objectifs du contrat de ville"),
        queryset=Objectif.objects.none(),
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": _("Cet objectif n'est pas éligible à la campagne.")},
    )

    class Meta:
        model = Demande
        fields = ["objectifs"]

    def __init__(self, data=None, *, demande: Demande, ligne_vide: bool = False, **kwargs):
        if data is not None and data.get("retirer", "").isdigit():
            # "Retirer" on a row: the row is deleted as if its DELETE box were ticked (works without JavaScript).
            data = data.copy()
            data[f"indicateurs-{data['retirer']}-DELETE"] = "on"
        super().__init__(data, instance=demande, **kwargs)
        objectifs = demande.campagne.objectifs.all()
        if not objectifs.exists():
            objectifs = Objectif.objects.filter(pilier__contrat_id=demande.campagne.contrat_id)
        self.fields["objectifs"].queryset = objectifs.select_related("pilier").order_by(
            "pilier__numero", "ordre", "code"
        )
        formset = IndicateurFormSet
        if ligne_vide or (data is None and not demande.indicateurs.exists()):
            formset = forms.inlineformset_factory(
                Demande, Indicateur, form=IndicateurForm, extra=1, can_delete=True, max_num=30, validate_max=True
            )
        self.indicateurs = formset(data, instance=demande, prefix="indicateurs")
        for form in self.indicateurs.forms:
            form.fields["DELETE"].label = _("Supprimer")

    def objectifs_par_pilier(self):
        """[(pilier, [checkbox subwidgets])] for the template."""
        choix = {int(str(w.data["value"])): w for w in self["objectifs"].subwidgets}
        groupes: dict = {}
        for objectif in self.fields["objectifs"].queryset:
            groupes.setdefault(objectif.pilier, []).append(choix[objectif.pk])
        return list(groupes.items())

    def is_valid(self) -> bool:
        formulaire = super().is_valid()
        return self.indicateurs.is_valid() and formulaire

    def lecture_seule(self) -> None:
        super().lecture_seule()
        for form in self.indicateurs.forms:
            for field in form.fields.values():
                field.disabled = True

    def enregistrer(self, demande: Demande) -> None:
        self.save()
        instances = self.indicateurs.save(commit=False)
        for supprime in self.indicateurs.deleted_objects:
            supprime.delete()
        suivant = max((i.ordre for i in demande.indicateurs.all()), default=0)
        for instance in instances:
            if instance.pk is None:
                suivant += 1
                instance.ordre = suivant
            instance.save()


def nom_champ_compte(code: str) -> str:
    return "compte_" + code.replace("-", "_")


def nom_champ_financeur(financeur_id: int) -> str:
    return f"financeur_{financeur_id}"


class BudgetForm(Bootstrap, forms.Form):
    """Every line of the budget prévisionnel; line 74 is one amount per financeur of the campagne."""

    def __init__(self, *args, demande: Demande, **kwargs):
        super().__init__(*args, **kwargs)
        lignes = {ligne.compte: ligne for ligne in demande.lignes_budget.all()}
        financements = {lf.financeur_id: lf for lf in demande.lignes_financement.all()}
        self.financeurs = list(demande.campagne.financeurs.order_by("nom"))
        for code, libelle in COMPTES:
            ligne = lignes.get(code)
            self.fields[nom_champ_compte(code)] = MontantField(
                label=libelle, initial=ligne.montant if ligne and ligne.montant else None
            )
            self.fields[f"detail_{nom_champ_compte(code)}"] = forms.CharField(
                label=_("Précisions sur le compte %(code)s") % {"code": code.split("-")[0]},
                max_length=200,
                required=False,
                initial=ligne.detail if ligne else "",
            )
        for financeur in self.financeurs:
            ligne = financements.get(financeur.pk)
            montant = ligne.montant_demande if ligne else None
            self.fields[nom_champ_financeur(financeur.pk)] = MontantField(
                label=_("74 – Subvention demandée : %(financeur)s") % {"financeur": financeur.nom},
                initial=montant or None,
            )
        self.classes_bootstrap()

    def _lignes(self, comptes):
        return [(self[nom_champ_compte(c)], self[f"detail_{nom_champ_compte(c)}"]) for c, _l in comptes]

    def lignes_charges(self):
        return self._lignes(COMPTES_CHARGES)

    def lignes_produits_avant_74(self):
        return self._lignes([c for c in COMPTES_PRODUITS if c[0] in ("70", "73")])

    def lignes_produits_apres_74(self):
        return self._lignes([c for c in COMPTES_PRODUITS if c[0] not in ("70", "73")])

    def lignes_financeurs(self):
        return [(f, self[nom_champ_financeur(f.pk)]) for f in self.financeurs]

    def _valeur(self, nom: str) -> Decimal:
        if self.is_bound:
            valeur = self.cleaned_data.get(nom) if hasattr(self, "cleaned_data") else None
        else:
            valeur = self.fields[nom].initial
        return valeur or ZERO

    def totaux(self) -> dict:
        """Totals of what is typed (a bound form is validated first; an invalid amount counts as zero)."""
        if self.is_bound:
            self.is_valid()
        charges = sum((self._valeur(nom_champ_compte(c)) for c, _l in COMPTES_CHARGES), ZERO)
        produits_hors_74 = sum((self._valeur(nom_champ_compte(c)) for c, _l in COMPTES_PRODUITS), ZERO)
        demande = sum((self._valeur(nom_champ_financeur(f.pk)) for f in self.financeurs), ZERO)
        produits = produits_hors_74 + demande
        c86, c87 = self._valeur(nom_champ_compte("86")), self._valeur(nom_champ_compte("87"))
        return {
            "charges": charges,
            "produits": produits,
            "demande": demande,
            "ecart": charges - produits,
            "ecart_absolu": abs(charges - produits),
            "c86": c86,
            "c87": c87,
            "contributions_equilibrees": c86 == c87,
            "invalides": [self[nom].label for nom in self.errors if nom in self.fields] if self.is_bound else [],
        }

    def enregistrer(self, demande: Demande) -> None:
        existantes = {ligne.compte: ligne for ligne in demande.lignes_budget.all()}
        for code, _l in COMPTES:
            montant = self.cleaned_data[nom_champ_compte(code)] or ZERO
            detail = self.cleaned_data[f"detail_{nom_champ_compte(code)}"].strip()
            ligne = existantes.get(code)
            if not montant and not detail:
                if ligne is not None:
                    ligne.delete()
                continue
            if ligne is None:
                ligne = LigneBudget(demande=demande, compte=code, sens=SENS_PAR_COMPTE[code])
            ligne.montant, ligne.detail = montant, detail
            ligne.save()
        financements = {lf.financeur_id: lf for lf in demande.lignes_financement.all()}
        for financeur in self.financeurs:
            montant = self.cleaned_data[nom_champ_financeur(financeur.pk)] or ZERO
            ligne = financements.get(financeur.pk) or LigneFinancement(demande=demande, financeur=financeur)
            if ligne.pk is None or ligne.montant_demande != montant:
                ligne.montant_demande = montant
                ligne.save()
        demande.save(update_fields=["modifie_le"])


class PieceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Piece) -> str:
        texte = _("%(nom)s, déposée le %(date)s") % {
            "nom": obj.libelle or obj.nom_original,
            "date": date_format(timezone.localtime(obj.depose_le), "SHORT_DATE_FORMAT"),
        }
        if obj.valide_au:
            texte += " " + _("(valable jusqu'au %(date)s)") % {"date": date_format(obj.valide_au, "SHORT_DATE_FORMAT")}
        return texte


def champ_piece(type_id: int) -> str:
    return f"piece_{type_id}"


class PiecesForm(Bootstrap, forms.Form):
    """For each pièce the campagne requires, one valid pièce of the porteur's vault of that type."""

    def __init__(self, *args, demande: Demande, **kwargs):
        super().__init__(*args, **kwargs)
        jour = timezone.localdate()
        self.types = list(demande.campagne.pieces_requises.all())
        self.attachees = {pd.type_id: pd for pd in demande.pieces.select_related("piece")}
        valides = pieces_du_porteur(demande.porteur).filter(
            Q(valide_du__isnull=True) | Q(valide_du__lte=jour), Q(valide_au__isnull=True) | Q(valide_au__gte=jour)
        )
        for type_piece in self.types:
            queryset = valides.filter(type=type_piece)
            attachee = self.attachees.get(type_piece.pk)
            initial = attachee.piece_id if attachee else None
            if initial is None:
                proposee = queryset.first()  # the most recent valid one
                initial = proposee.pk if proposee else None
            self.fields[champ_piece(type_piece.pk)] = PieceChoiceField(
                label=type_piece.libelle,
                queryset=queryset,
                required=False,
                initial=initial,
                widget=forms.RadioSelect,
                blank=True,  # offers "none" among the radios: a pièce can be detached
                empty_label=_("Aucune pour l'instant"),
                error_messages={"invalid_choice": _("Choisissez une pièce valide de votre coffre-fort.")},
            )
        self.classes_bootstrap()

    def lignes(self):
        return [(t, self[champ_piece(t.pk)], self.attachees.get(t.pk)) for t in self.types]

    def enregistrer(self, demande: Demande) -> None:
        for type_piece in self.types:
            piece = self.cleaned_data[champ_piece(type_piece.pk)]
            attachee = self.attachees.get(type_piece.pk)
            if piece is None:
                if attachee is not None:
                    attachee.delete()
            elif attachee is None:
                PieceDemande.objects.create(demande=demande, type=type_piece, piece=piece)
            elif attachee.piece_id != piece.pk:
                attachee.piece = piece
                attachee.save(update_fields=["piece"])
        demande.save(update_fields=["modifie_le"])


class DeclarationForm(Bootstrap, forms.Form):
    """Déclaration sur l'honneur (CERFA §7), made by a représentant légal when depositing."""

    nom = forms.CharField(label=_("Nom et prénom du signataire"), max_length=200)
    qualite = forms.CharField(
        label=_("Qualité du signataire"), max_length=100, help_text=_("Par exemple : présidente, trésorier…")
    )
    engagement_republicain = forms.BooleanField(
        label=_(
            "Je déclare que la structure souscrit au contrat d'engagement républicain annexé au décret "
            "n° 2021-1947 du 31 décembre 2021 (loi n° 2021-1109 du 24 août 2021) et qu'elle le respecte."
        ),
        error_messages={"required": _("Cochez l'engagement au contrat d'engagement républicain pour déposer.")},
    )
    exactitude = forms.BooleanField(
        label=_(
            "Je certifie exactes les informations du dossier, notamment la mention de l'ensemble des demandes "
            "de subventions introduites auprès d'autres financeurs, ainsi que l'approbation du budget par les "
            "instances statutaires."
        ),
        error_messages={"required": _("Cochez la certification d'exactitude des informations pour déposer.")},
    )

    def clean_nom(self) -> str:
        return self.cleaned_data["nom"].strip()

    def clean_qualite(self) -> str:
        return self.cleaned_data["qualite"].strip()


class RenouvelerForm(forms.Form):
    campagne = forms.IntegerField(widget=forms.HiddenInput)


ETAPES_FORMULAIRES = {
    "identification": IdentificationForm,
    "nature": NatureForm,
    "action": ActionForm,
    "public": PublicForm,
    "objectifs": ObjectifsForm,
    "budget": BudgetForm,
    "pieces": PiecesForm,
}
