"""factory_boy factories for the foundation models."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone
from stdnum import luhn

from subventions.campagnes.models import Campagne, Enveloppe
from subventions.comptes.enums import Role
from subventions.comptes.models import Habilitation, User
from subventions.referentiel.enums import TypeFinanceur
from subventions.referentiel.models import QPV, ContratDeVille, Financeur, Objectif, Pilier, Territoire, TypePiece

PARIS = ZoneInfo("Europe/Paris")
DEFAULT_PASSWORD = "mot-de-passe-de-test-42"


def siret_valide(n: int) -> str:
    """A valid SIRET for sequence number n (SIREN and SIRET Luhn keys computed)."""
    base = f"{(n * 7919 + 10000000) % 100000000:08d}"
    siren = base + luhn.calc_check_digit(base)
    nic = f"{n % 10000:04d}"
    return siren + nic + luhn.calc_check_digit(siren + nic)


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"personne{n}@exemple.test")
    first_name = "Camille"
    last_name = factory.Sequence(lambda n: f"Test{n}")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def verifie(self, create, extracted, **kwargs):
        if create:
            self.save()
            EmailAddress.objects.create(user=self, email=self.email, verified=True, primary=True)

    @factory.post_generation
    def mfa(self, create, extracted, **kwargs):
        if create and extracted:
            TOTP.activate(self, generate_totp_secret())


class FinanceurFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Financeur
        django_get_or_create = ("code",)

    code = factory.Sequence(lambda n: f"financeur-{n}")
    nom = factory.Sequence(lambda n: f"Financeur {n}")
    type = TypeFinanceur.COMMUNE
    siret = factory.Sequence(siret_valide)


class ContratFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContratDeVille

    nom = factory.Sequence(lambda n: f"Contrat de ville {n}")
    perimetre = "Marseille"
    annee_debut = 2015
    annee_fin = 2030


class PilierFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Pilier

    contrat = factory.SubFactory(ContratFactory)
    code = factory.Sequence(lambda n: f"P{n}")
    numero = factory.Sequence(lambda n: n % 30000)
    libelle = factory.Sequence(lambda n: f"Pilier {n}")


class ObjectifFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Objectif

    pilier = factory.SubFactory(PilierFactory)
    code = factory.Sequence(lambda n: f"O{n}")
    libelle = factory.Sequence(lambda n: f"Objectif {n}")


class QPVFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = QPV

    code = factory.Sequence(lambda n: f"QP013{n % 1000:03d}")
    nom = factory.Sequence(lambda n: f"Quartier {n}")
    commune = "Marseille"


class TerritoireFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Territoire
        skip_postgeneration_save = True

    contrat = factory.SubFactory(ContratFactory)
    code = factory.Sequence(lambda n: f"territoire-{n}")
    nom = factory.Sequence(lambda n: f"Territoire {n}")

    @factory.post_generation
    def qpvs(self, create, extracted, **kwargs):
        if create and extracted:
            self.qpvs.set(extracted)


class TypePieceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = TypePiece
        django_get_or_create = ("code",)

    code = "statuts"
    libelle = "Statuts"


class CampagneFactory(factory.django.DjangoModelFactory):
    """A campagne open now by default; trait `close` for one whose deposits are over."""

    class Meta:
        model = Campagne
        skip_postgeneration_save = True

    contrat = factory.SubFactory(ContratFactory)
    exercice = factory.Sequence(lambda n: 2020 + n % 70)
    titre = factory.Sequence(lambda n: f"Appel à projets {n}")
    ouverture = factory.LazyFunction(lambda: timezone.now() - timedelta(days=10))
    cloture = factory.LazyFunction(lambda: timezone.now() + timedelta(days=20))

    class Params:
        close = factory.Trait(
            ouverture=datetime(2014, 10, 1, 9, tzinfo=PARIS),
            cloture=datetime(2014, 12, 1, 12, tzinfo=PARIS),
            exercice=2015,
        )
        a_venir = factory.Trait(
            ouverture=factory.LazyFunction(lambda: timezone.now() + timedelta(days=5)),
            cloture=factory.LazyFunction(lambda: timezone.now() + timedelta(days=50)),
        )

    @factory.post_generation
    def financeurs(self, create, extracted, **kwargs):
        if create and extracted:
            self.financeurs.set(extracted)


class EnveloppeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Enveloppe

    campagne = factory.SubFactory(CampagneFactory)
    financeur = factory.SubFactory(FinanceurFactory)
    montant = Decimal("100000.00")


class HabilitationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Habilitation
        skip_postgeneration_save = True

    user = factory.SubFactory(UserFactory)
    role = Role.INSTRUCTEUR

    @factory.post_generation
    def financeurs(self, create, extracted, **kwargs):
        if create and extracted:
            self.financeurs.set(extracted)

    @factory.post_generation
    def territoires(self, create, extracted, **kwargs):
        if create and extracted:
            self.territoires.set(extracted)


def agent(role: str, *, financeurs=(), tous: bool = False, territoires=(), mfa: bool = True) -> User:
    """A staff user holding `role` on `financeurs` (or all), with TOTP activated unless mfa=False."""
    user = UserFactory(mfa=mfa)
    HabilitationFactory(
        user=user, role=role, tous_financeurs=tous, financeurs=list(financeurs), territoires=list(territoires)
    )
    return user


def a_totp(user) -> bool:
    return Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()


# --- Associations' portal and demandes -------------------------------------------------------------------------


def pdf_minimal(texte: str = "Document de test") -> bytes:
    """A small, valid one-page PDF made with reportlab (for vault uploads and pièces)."""
    import io

    from reportlab.pdfgen import canvas

    buffer = io.BytesIO()
    c = canvas.Canvas(buffer)
    c.drawString(72, 720, texte)
    c.showPage()
    c.save()
    return buffer.getvalue()


class PorteurFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "associations.Porteur"

    nom = factory.Sequence(lambda n: f"Association des habitants n°{n}")
    sigle = factory.Sequence(lambda n: f"AH{n}")
    siret = factory.Sequence(lambda n: siret_valide(5000 + n))
    rna = factory.Sequence(lambda n: f"W13{n % 10**7:07d}")
    adresse = "12 rue de la République"
    code_postal = "13002"
    commune = "Marseille"
    email = factory.Sequence(lambda n: f"contact{n}@asso.test")
    representant_nom = "Durand"
    representant_prenom = "Aïcha"
    representant_qualite = "Présidente"
    iban = "FR7630001007941234567890185"
    bic = "BDFEFRPPCCT"


class MembreFactory(factory.django.DjangoModelFactory):
    """A member; `role` defaults to représentant légal."""

    class Meta:
        model = "associations.Membre"

    porteur = factory.SubFactory(PorteurFactory)
    user = factory.SubFactory(UserFactory)
    role = "representant_legal"


class PieceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = "associations.Piece"

    porteur = factory.SubFactory(PorteurFactory)
    type = factory.LazyFunction(
        lambda: TypePiece.objects.get_or_create(code="statuts", defaults={"libelle": "Statuts"})[0]
    )
    fichier = factory.django.FileField(filename="statuts.pdf", data=factory.LazyFunction(pdf_minimal))
    nom_original = "statuts.pdf"
    type_mime = "application/pdf"
    taille = factory.LazyAttribute(lambda o: o.fichier.size if hasattr(o.fichier, "size") else 1000)
    sha256 = factory.Sequence(lambda n: f"{n:064x}")
    depose_par = factory.SubFactory(UserFactory)


def demande_complete(*, membre=None, campagne=None, montant_etat: Decimal = Decimal("8000.00"), **champs):
    """A brouillon that passes the completeness check: action, public, QPV, objectif, indicator, balanced budget,
    a financeur line > 0 and every required pièce attached. Returns the Demande; its porteur's représentant légal
    is `demande.cree_par`."""
    from datetime import date

    from subventions.demandes.models import Demande, Indicateur, LigneBudget, LigneFinancement, PieceDemande

    membre = membre or MembreFactory()
    if campagne is None:
        etat = FinanceurFactory(code="etat", nom="État")
        ville = FinanceurFactory(code="ville-test", nom="Ville de Test")
        campagne = CampagneFactory(financeurs=[etat, ville])
        objectif = ObjectifFactory(pilier=PilierFactory(contrat=campagne.contrat))
        campagne.objectifs.set([objectif])
        campagne.pieces_requises.set([TypePieceFactory(code="statuts", libelle="Statuts")])
    objectif = campagne.objectifs.first() or ObjectifFactory(pilier=PilierFactory(contrat=campagne.contrat))
    valeurs = {
        "intitule": "Ateliers d'écriture au centre social",
        "objectifs_action": "Favoriser l'expression écrite des jeunes du quartier.",
        "description": "Deux ateliers par semaine, restitution publique en juin.",
        "public_nombre": 40,
        "public_age_min": 11,
        "public_age_max": 17,
        "public_part_qpv": Decimal("85"),
        "public_description": "Collégiens du quartier",
        "lieu": "Centre social de la Belle de Mai",
        "date_debut": date(campagne.exercice, 1, 15),
        "date_fin": date(campagne.exercice, 12, 15),
    }
    valeurs.update(champs)
    demande = Demande.objects.create(campagne=campagne, porteur=membre.porteur, cree_par=membre.user, **valeurs)
    demande.qpvs.set([QPVFactory()])
    demande.objectifs.set([objectif])
    Indicateur.objects.create(demande=demande, nom="Participants réguliers", cible="30")
    financeurs = list(campagne.financeurs.order_by("code"))
    for i, financeur in enumerate(financeurs):
        LigneFinancement.objects.create(
            demande=demande, financeur=financeur, montant_demande=montant_etat if i == 0 else Decimal("0")
        )
    LigneBudget.objects.create(demande=demande, compte="64", montant=montant_etat + Decimal("2000.00"))
    LigneBudget.objects.create(demande=demande, compte="75", montant=Decimal("2000.00"))
    for type_piece in campagne.pieces_requises.all():
        piece = PieceFactory(porteur=membre.porteur, type=type_piece, depose_par=membre.user)
        PieceDemande.objects.create(demande=demande, type=type_piece, piece=piece)
    return demande
