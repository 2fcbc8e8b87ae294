"""The custom User (email as login) and the staff habilitations that scope what each person sees."""

from __future__ import annotations

from django.contrib.auth.models import AbstractBaseUser, BaseUserManager, PermissionsMixin
from django.db import models
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext_lazy as _

from subventions.comptes.enums import Role


class UserManager(BaseUserManager["User"]):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra_fields) -> User:
        if not email:
            raise ValueError("L'adresse électronique est obligatoire.")
        user = self.model(email=self.normalize_email(email).lower(), **extra_fields)
        user.set_password(password)
        user.full_clean(exclude=["password"])
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(self, email: str, password: str | None = None, **extra_fields) -> User:
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)


class User(AbstractBaseUser, PermissionsMixin):
    email = models.EmailField(_("adresse électronique"), unique=True)
    first_name = models.CharField(_("prénom"), max_length=150, blank=True)
    last_name = models.CharField(_("nom"), max_length=150, blank=True)
    telephone = models.CharField(_("téléphone"), max_length=30, blank=True)
    is_staff = models.BooleanField(
        _("accès à l'administration technique"),
        default=False,
        help_text=_("Réservé aux administrateurs techniques ; les rôles métier passent par les habilitations."),
    )
    is_active = models.BooleanField(_("actif"), default=True)
    date_joined = models.DateTimeField(_("inscrit le"), default=timezone.now)

    objects = UserManager()

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    class Meta:
        verbose_name = _("utilisateur")
        verbose_name_plural = _("utilisateurs")
        ordering = ["email"]

    def __str__(self) -> str:
        return self.get_full_name() or self.email

    def clean(self) -> None:
        super().clean()
        self.email = self.__class__.objects.normalize_email(self.email).lower()

    def get_full_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()

    def get_short_name(self) -> str:
        return self.first_name or self.email

    @cached_property
    def roles(self) -> frozenset[str]:
        """The staff roles this user holds (cached for the request)."""
        if not self.is_active or not self.pk:
            return frozenset()
        return frozenset(self.habilitations.filter(actif=True).values_list("role", flat=True))

    @property
    def est_agent(self) -> bool:
        """True for any staff role: such a user must have MFA before a staff page opens."""
        return bool(self.roles) or self.is_superuser

    @property
    def est_administrateur(self) -> bool:
        return self.is_active and (self.is_superuser or Role.ADMINISTRATEUR in self.roles)

    def has_perm(self, perm: str, obj=None) -> bool:
        # Administrateurs manage the référentiel and habilitations in the Django admin.
        if self.est_administrateur:
            return True
        return super().has_perm(perm, obj)

    def has_module_perms(self, app_label: str) -> bool:
        if self.est_administrateur:
            return True
        return super().has_module_perms(app_label)


class Habilitation(models.Model):
    """One staff role held by a user, scoped to financeurs and, for instructeurs, to territoires.

    No financeur means every financeur (only sensible for administrateurs and the GIP's own staff);
    no territoire means every territoire of those financeurs.
    """

    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="habilitations", verbose_name=_("agent"))
    role = models.CharField(_("rôle"), max_length=32, choices=Role.choices)
    tous_financeurs = models.BooleanField(
        _("tous les financeurs"),
        default=False,
        help_text=_("Cochez pour une habilitation transversale (GIP, administrateur)."),
    )
    financeurs = models.ManyToManyField(
        "referentiel.Financeur", blank=True, related_name="habilitations", verbose_name=_("financeurs")
    )
    territoires = models.ManyToManyField(
        "referentiel.Territoire",
        blank=True,
        related_name="habilitations",
        verbose_name=_("territoires"),
        help_text=_("Vide : tous les territoires."),
    )
    actif = models.BooleanField(_("active"), default=True)
    cree_le = models.DateTimeField(_("créée le"), auto_now_add=True)

    class Meta:
        verbose_name = _("habilitation")
        verbose_name_plural = _("habilitations")
        ordering = ["user", "role"]
        constraints = [models.UniqueConstraint(fields=["user", "role"], name="habilitation_unique_role_par_user")]

    def __str__(self) -> str:
        return f"{self.user} — {self.get_role_display()}"
