"""Porteurs (associations), their members and roles, join requests, invitations and the document vault."""

from __future__ import annotations

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from associations.enums import FormeJuridique, RoleMembre, StatutAdhesion
from subventions.referentiel.models import TypePiece
from subventions.referentiel.validators import (
    normaliser_iban,
    normaliser_siret,
    siren_de,
    valider_bic,
    valider_iban,
    valider_rna,
    valider_siret,
)

MONTANT_MAX = Decimal("9999999999.99")
MONTANT = [MinValueValidator(Decimal("0")), MaxValueValidator(MONTANT_MAX)]


class Porteur(models.Model):
    """The applicant organisation (structure porteuse), identified by its SIRET: never two with the same.

    The SIRET is empty only for porteurs imported from a funder's file that did not give it (they are matched by
    name, and the SIRET is to be completed); a porteur that registers online always gives one (PorteurForm). Empty is
    stored as "" rather than NULL, as for every text field of the project (Financeur.siret, rna, iban…): templates,
    exports and `siret[:9]` never meet None, and the uniqueness holds only for filled SIRETs (partial unique index)."""

    nom = models.CharField(_("nom"), max_length=250)
    sigle = models.CharField(_("sigle"), max_length=50, blank=True)
    siret = models.CharField(
        _("SIRET"),
        max_length=14,
        blank=True,
        validators=[valider_siret],
        help_text=_("Vide seulement pour une structure importée sans SIRET : il est alors à compléter."),
    )
    siren = models.CharField(_("SIREN"), max_length=9, blank=True, db_index=True, editable=False)
    rna = models.CharField(_("numéro RNA"), max_length=10, blank=True, validators=[valider_rna])
    forme_juridique = models.CharField(
        _("forme juridique"), max_length=32, choices=FormeJuridique.choices, default=FormeJuridique.ASSOCIATION
    )
    objet = models.TextField(_("objet social"), blank=True)
    adresse = models.CharField(_("adresse du siège"), max_length=250)
    code_postal = models.CharField(_("code postal"), max_length=5)
    commune = models.CharField(_("commune"), max_length=120)
    telephone = models.CharField(_("téléphone"), max_length=30, blank=True)
    email = models.EmailField(_("courriel de la structure"), blank=True)
    site_web = models.URLField(_("site internet"), blank=True)
    # Représentant légal (CERFA 12156 §1) and the person in charge of the file.
    representant_nom = models.CharField(_("nom du représentant légal"), max_length=150)
    representant_prenom = models.CharField(_("prénom du représentant légal"), max_length=150)
    representant_qualite = models.CharField(_("qualité (président·e…)"), max_length=100, default="Président·e")
    representant_email = models.EmailField(_("courriel du représentant légal"), blank=True)
    representant_telephone = models.CharField(_("téléphone du représentant légal"), max_length=30, blank=True)
    contact_nom = models.CharField(_("nom de la personne chargée du dossier"), max_length=150, blank=True)
    contact_prenom = models.CharField(_("prénom de la personne chargée du dossier"), max_length=150, blank=True)
    contact_qualite = models.CharField(_("fonction de la personne chargée du dossier"), max_length=100, blank=True)
    contact_email = models.EmailField(_("courriel de la personne chargée du dossier"), blank=True)
    contact_telephone = models.CharField(_("téléphone de la personne chargée du dossier"), max_length=30, blank=True)
    agrements = models.TextField(_("agréments administratifs"), blank=True, help_text=_("Type, attribué par, date."))
    utilite_publique = models.BooleanField(_("reconnue d'utilité publique"), default=False)
    date_utilite_publique = models.DateField(_("date de reconnaissance d'utilité publique"), null=True, blank=True)
    # Moyens humains (CERFA §4).
    benevoles = models.PositiveIntegerField(_("bénévoles"), default=0)
    salaries = models.PositiveIntegerField(_("salariés"), default=0)
    etpt = models.DecimalField(
        _("salariés en ETPT"), max_digits=7, decimal_places=2, default=Decimal("0"), validators=MONTANT
    )
    volontaires = models.PositiveIntegerField(_("volontaires (service civique…)"), default=0)
    adherents = models.PositiveIntegerField(_("adhérents"), default=0)
    budget_annee_precedente = models.DecimalField(
        _("budget de l'année précédente (€)"),
        max_digits=12,
        decimal_places=2,
        null=True,
        blank=True,
        validators=MONTANT,
    )
    budget_annee_courante = models.DecimalField(
        _("budget de l'année en cours (€)"), max_digits=12, decimal_places=2, null=True, blank=True, validators=MONTANT
    )
    iban = models.CharField(_("IBAN"), max_length=34, blank=True, validators=[valider_iban])
    bic = models.CharField(_("BIC"), max_length=11, blank=True, validators=[valider_bic])
    cree_le = models.DateTimeField(_("créé le"), auto_now_add=True)
    modifie_le = models.DateTimeField(_("modifié le"), auto_now=True)

    class Meta:
        verbose_name = _("porteur")
        verbose_name_plural = _("porteurs")
        ordering = ["nom"]
        constraints = [
            models.UniqueConstraint(
                fields=["siret"],
                condition=~models.Q(siret=""),
                name="porteur_siret_unique",
                violation_error_message=_("Une structure est déjà inscrite avec ce SIRET."),
            )
        ]

    def __str__(self) -> str:
        return f"{self.nom} ({self.sigle})" if self.sigle else self.nom

    def save(self, *args, **kwargs) -> None:
        # The SIREN follows the SIRET, emptied with it.
        self.siren = siren_de(self.siret) if self.siret and len(self.siret) == 14 else ""
        super().save(*args, **kwargs)

    def clean(self) -> None:
        self.siret = normaliser_siret(self.siret)
        self.iban = normaliser_iban(self.iban)
        self.bic = (self.bic or "").replace(" ", "").upper()
        self.rna = (self.rna or "").strip().upper()

    @property
    def representant(self) -> str:
        return f"{self.representant_prenom} {self.representant_nom}".strip()


class Membre(models.Model):
    porteur = models.ForeignKey(Porteur, on_delete=models.CASCADE, related_name="membres")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="adhesions")
    role = models.CharField(_("rôle"), max_length=24, choices=RoleMembre.choices)
    cree_le = models.DateTimeField(_("depuis le"), auto_now_add=True)

    class Meta:
        verbose_name = _("membre")
        verbose_name_plural = _("membres")
        ordering = ["porteur", "role", "user__email"]
        constraints = [models.UniqueConstraint(fields=["porteur", "user"], name="membre_unique")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()} de {self.porteur}"


class DemandeAdhesion(models.Model):
    """A signed-in user asks to join an existing porteur (same SIRET); a représentant légal decides."""

    porteur = models.ForeignKey(Porteur, on_delete=models.CASCADE, related_name="demandes_adhesion")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="demandes_adhesion")
    message = models.TextField(_("message"), blank=True)
    statut = models.CharField(
        _("statut"), max_length=16, choices=StatutAdhesion.choices, default=StatutAdhesion.EN_ATTENTE
    )
    role_attribue = models.CharField(_("rôle attribué"), max_length=24, choices=RoleMembre.choices, blank=True)
    decide_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    decide_le = models.DateTimeField(null=True, blank=True)
    cree_le = models.DateTimeField(_("demandée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("demande d'adhésion")
        verbose_name_plural = _("demandes d'adhésion")
        ordering = ["-cree_le"]
        constraints = [
            models.UniqueConstraint(
                fields=["porteur", "user"],
                condition=models.Q(statut="en_attente"),
                name="une_demande_adhesion_en_attente",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user} → {self.porteur} ({self.get_statut_display()})"


def _jeton() -> str:
    return uuid.uuid4().hex + uuid.uuid4().hex


class Invitation(models.Model):
    porteur = models.ForeignKey(Porteur, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField(_("adresse invitée"))
    role = models.CharField(_("rôle"), max_length=24, choices=RoleMembre.choices)
    jeton = models.CharField(max_length=64, unique=True, default=_jeton, editable=False)
    invite_par = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    cree_le = models.DateTimeField(auto_now_add=True)
    expire_le = models.DateTimeField()
    acceptee_le = models.DateTimeField(null=True, blank=True)
    acceptee_par = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    annulee = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("invitation")
        verbose_name_plural = _("invitations")
        ordering = ["-cree_le"]

    def __str__(self) -> str:
        return f"{self.email} → {self.porteur}"

    def clean(self) -> None:
        self.email = (self.email or "").strip().lower()

    @property
    def utilisable(self) -> bool:
        return not self.annulee and self.acceptee_le is None and self.expire_le > timezone.now()


def chemin_piece(instance: Piece, filename: str) -> str:
    # Never the uploaded name: a random name under the porteur's folder (the original is kept in a field).
    return f"pieces/{instance.porteur_id}/{uuid.uuid4().hex}"


class Piece(models.Model):
    """A document of the porteur's vault (statuts, RIB…), reused by every demande until it expires."""

    porteur = models.ForeignKey(Porteur, on_delete=models.CASCADE, related_name="pieces")
    type = models.ForeignKey(TypePiece, on_delete=models.PROTECT, related_name="pieces", verbose_name=_("type"))
    libelle = models.CharField(_("libellé"), max_length=200, blank=True)
    fichier = models.FileField(_("fichier"), upload_to=chemin_piece, max_length=300)
    nom_original = models.CharField(_("nom du fichier"), max_length=255)
    type_mime = models.CharField(_("type de contenu"), max_length=100)
    taille = models.PositiveIntegerField(_("taille (octets)"))
    sha256 = models.CharField(_("empreinte SHA-256"), max_length=64)
    valide_du = models.DateField(_("valable du"), null=True, blank=True)
    valide_au = models.DateField(_("valable jusqu'au"), null=True, blank=True)
    depose_par = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    depose_le = models.DateTimeField(_("déposée le"), auto_now_add=True)
    archivee = models.BooleanField(_("archivée"), default=False)

    class Meta:
        verbose_name = _("pièce")
        verbose_name_plural = _("pièces")
        ordering = ["type__ordre", "-depose_le"]

    def __str__(self) -> str:
        return self.libelle or f"{self.type} — {self.nom_original}"

    def clean(self) -> None:
        if self.valide_du and self.valide_au and self.valide_au < self.valide_du:
            raise ValidationError(
                {
                    "valide_au": _("La fin de validité ne peut pas précéder son début (%(debut)s).")
                    % {"debut": self.valide_du.strftime("%d/%m/%Y")}
                }
            )

    @property
    def format_lisible(self) -> str:
        return {"application/pdf": "PDF", "image/png": "image PNG", "image/jpeg": "image JPEG"}.get(
            self.type_mime, self.type_mime
        )

    def est_valide(self, jour=None) -> bool:
        jour = jour or timezone.localdate()
        if self.archivee:
            return False
        if self.valide_du and jour < self.valide_du:
            return False
        return not (self.valide_au and jour > self.valide_au)
