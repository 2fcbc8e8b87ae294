"""One world for the access matrix, built once per module: porteurs A and B with their members, financeurs X and Y,
two territoires, and for each side a demande at every useful state, a séance, a convention, payments, comptes-rendus,
pièces and an import — A's objects funded by X, B's by Y — plus one user per role of the matrix."""

from __future__ import annotations

import datetime
from decimal import Decimal
from types import SimpleNamespace

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.test.utils import override_settings
from django.utils import timezone

from associations.enums import RoleMembre
from subventions.bilans.services import piece_ajouter
from subventions.celery import app as celery_app
from subventions.comites import services as comites
from subventions.comites.enums import KindSeance
from subventions.comites.models import LettreDecision
from subventions.comptes.enums import Role
from subventions.conventions import services as conventions
from subventions.conventions.models import ActeAttribution
from subventions.demandes.models import Demande, LigneFinancement
from subventions.paiements.models import LigneListe, Paiement
from subventions.pilotage.services import subventions_importer
from subventions.referentiel.models import TypePiece
from tests.associations.factories import DemandeAdhesionFactory, InvitationFactory
from tests.bilans import aides as bilans
from tests.conventions.aides import accordee
from tests.factories import (
    CampagneFactory,
    EnveloppeFactory,
    MembreFactory,
    ObjectifFactory,
    PieceFactory,
    PilierFactory,
    PorteurFactory,
    QPVFactory,
    TerritoireFactory,
    TypePieceFactory,
    agent,
    demande_complete,
    pdf_minimal,
)
from tests.paiements.aides import etat
from tests.pilotage.aides import DONNEES
from workflows.documents import document_courant, document_enregistrer

# The roles of the matrix, in the order the report prints them.
ROLES = (
    "anonyme",
    "lecteur_a",
    "gestionnaire_a",
    "representant_a",
    "membre_b",
    "instructeur_x",
    "instructeur_y",
    "instructeur_x_autre_territoire",
    "comite_x",
    "conseil_citoyen_x",
    "signataire_x",
    "finance_x",
    "administrateur",
)


@pytest.fixture(scope="module")
def _media_du_module(tmp_path_factory):
    with override_settings(MEDIA_ROOT=tmp_path_factory.mktemp("media")):
        yield


def _pdf(nom: str) -> SimpleUploadedFile:
    return SimpleUploadedFile(nom, pdf_minimal(nom), content_type="application/pdf")


def _renumeroter(acte: ActeAttribution, etiquette: str) -> ActeAttribution:
    """A number outside the financeur's counter, so that the conventions built later (the import) never collide."""
    ActeAttribution.objects.filter(pk=acte.pk).update(numero=f"MATRICE-{etiquette}-{acte.pk}")
    return ActeAttribution.objects.get(pk=acte.pk)


def _cote(*, porteur, membre_rl, gestionnaire, lecteur, financeur, instructeur, finance, secretaire, campagne,
          campagne_bilans, qpv, etiquette: str) -> SimpleNamespace:  # fmt: skip
    """Every object of one side (porteur + its financeur)."""
    c = SimpleNamespace(porteur=porteur, financeur=financeur)

    def demande(intitule: str, *, deposer: bool = True) -> Demande:
        d = demande_complete(membre=membre_rl, campagne=campagne, intitule=intitule)
        # The demande asks its own side's financeur only.
        LigneFinancement.objects.filter(demande=d).exclude(financeur=financeur).delete()
        LigneFinancement.objects.filter(demande=d).update(montant_demande=Decimal("8000.00"))
        d.qpvs.set([qpv])
        if deposer:
            # Deposited the way the other tests' builders do (state forced, récépissé stored): the deposit service
            # itself is tested in tests/demandes; the matrix only needs the objects.
            numero = f"{campagne.exercice}-{d.pk:06d}"
            Demande.objects.filter(pk=d.pk).update(statut="deposee", numero=numero, depose_le=timezone.now())
            document_enregistrer(obj=d, nature="recepisse", contenu=pdf_minimal(numero), nom=f"recepisse-{numero}.pdf")
        return Demande.objects.get(pk=d.pk)

    def instruite(intitule: str) -> Demande:
        d = demande(intitule)
        Demande.objects.filter(pk=d.pk).update(statut="instruite")
        LigneFinancement.objects.filter(demande=d).update(
            statut="avis_donne", avis="favorable", montant_propose=Decimal("6000.00")
        )
        return Demande.objects.get(pk=d.pk)

    # Portal and instruction: a brouillon, a deposited demande (its récépissé, its pièce).
    c.brouillon = demande(f"Brouillon secret {etiquette}", deposer=False)
    c.deposee = demande(f"Action déposée secrète {etiquette}")
    c.piece_demande = c.deposee.pieces.get()
    c.ligne_deposee = c.deposee.lignes_financement.get()
    # Vault: a pièce, an invitation, a request to join.
    c.piece = PieceFactory(porteur=porteur, depose_par=membre_rl.user, nom_original=f"bilan-{etiquette}.pdf")
    c.invitation = InvitationFactory(porteur=porteur, invite_par=membre_rl.user)
    c.adhesion = DemandeAdhesionFactory(porteur=porteur)
    c.membre_rl, c.membre_gestionnaire = membre_rl, gestionnaire

    # Comité: an open séance of the side's financeur with one demande inscribed, one candidate; a closed séance.
    date = datetime.date(2015, 6, 9)
    c.seance = comites.seance_creer(
        campagne=campagne, user=secretaire, date=date, kind=KindSeance.PROGRAMMATION, financeurs=[financeur],
        membres_presents="Mme Martin",
    )  # fmt: skip
    c.inscrite = instruite(f"Action inscrite {etiquette}")
    c.candidate = instruite(f"Action candidate {etiquette}")
    (c.point,) = comites.odj_ajouter(seance=c.seance, user=secretaire, demandes=[c.inscrite])
    c.ligne_inscrite = c.inscrite.lignes_financement.get()
    c.seance_close = comites.seance_creer(
        campagne=campagne, user=secretaire, date=date, kind=KindSeance.PROGRAMMATION, financeurs=[financeur],
        membres_presents="Mme Martin",
    )  # fmt: skip
    decidee = instruite(f"Action décidée {etiquette}")
    comites.odj_ajouter(seance=c.seance_close, user=secretaire, demandes=[decidee])
    comites.decider_en_bloc(seance=c.seance_close, user=secretaire)
    comites.seance_cloturer(seance=c.seance_close, user=secretaire)
    c.lettre = LettreDecision.objects.get(seance=c.seance_close, porteur=porteur)

    # Bilans and paiements: an executory acte (exercice 2016) with its advance paid and its compte-rendu deposited,
    # a second one (2018) whose compte-rendu is still to file.
    m = bilans.Monde(
        financeur=financeur, campagne=campagne_bilans, porteur=porteur, representant=membre_rl.user,
        gestionnaire=gestionnaire.user, lecteur=lecteur.user if lecteur else gestionnaire.user,
        instructeur=instructeur, finance=finance,
    )  # fmt: skip
    autre = TypePiece.objects.get_or_create(code="autre", defaults={"libelle": "Autre pièce"})[0]
    lf = bilans.action(m, intitule=f"Action conventionnée {etiquette}")
    lf.demande.qpvs.set([qpv])
    c.acte_paye = _renumeroter(bilans.acte(m, lf, exercice=2016), etiquette)
    c.avance_payee = bilans.payer_avance(m, c.acte_paye)
    c.liste = LigneListe.objects.filter(paiement=c.avance_payee).get().liste
    c.solde = Paiement.objects.filter(echeancier__acte=c.acte_paye).exclude(nature="avance").first()
    cr = bilans.compte_rendu(c.acte_paye)
    c.lien_cr = piece_ajouter(compte_rendu=cr, user=gestionnaire.user, type_piece=autre, fichier=_pdf("f.pdf"))
    c.cr = bilans.deposer(bilans.recharger(cr), gestionnaire.user)
    c.document_cr = document_courant(c.cr, "compte_rendu_financier")
    lf2 = bilans.action(m, intitule=f"Soutien scolaire {etiquette}")
    lf2.demande.qpvs.set([qpv])
    c.acte_a_deposer = _renumeroter(bilans.acte(m, lf2, exercice=2018), etiquette)
    c.avance_due = Paiement.objects.get(echeancier__acte=c.acte_a_deposer, nature="avance")
    c.cr_a_deposer = bilans.compte_rendu(c.acte_a_deposer)
    c.lien_cr2 = piece_ajouter(
        compte_rendu=c.cr_a_deposer, user=gestionnaire.user, type_piece=autre, fichier=_pdf("g.pdf")
    )
    return c


def construire() -> SimpleNamespace:
    x = etat(toujours_convention=True)
    y = etat(
        code="ville-test", nom="Ville de Test", taux_avance=Decimal("80"), toujours_convention=True,
        sepa_nom="Trésorerie de la Ville", sepa_iban="FR7610071000010000000000140", chorus_centre_financier="",
        chorus_domaine_fonctionnel="", chorus_activite="",
    )  # fmt: skip
    campagne = CampagneFactory(financeurs=[x, y], titre="Appel à projets de la matrice")
    pilier = PilierFactory(contrat=campagne.contrat, libelle="Cohésion sociale", numero=1)
    campagne.objectifs.set([ObjectifFactory(pilier=pilier)])
    campagne.pieces_requises.set([TypePieceFactory(code="statuts", libelle="Statuts")])
    EnveloppeFactory(campagne=campagne, financeur=x, montant=Decimal("100000.00"))
    EnveloppeFactory(campagne=campagne, financeur=y, montant=Decimal("100000.00"))
    q1, q2 = QPVFactory(), QPVFactory()
    nord = TerritoireFactory(contrat=campagne.contrat, nom="Nord", qpvs=[q1])
    sud = TerritoireFactory(contrat=campagne.contrat, nom="Sud", qpvs=[q2])
    a = PorteurFactory(nom="Association Alpha")
    b = PorteurFactory(nom="Association Bêta")
    rl_a = MembreFactory(porteur=a, role=RoleMembre.REPRESENTANT_LEGAL)
    gest_a = MembreFactory(porteur=a, role=RoleMembre.GESTIONNAIRE)
    lect_a = MembreFactory(porteur=a, role=RoleMembre.LECTEUR)
    rl_b = MembreFactory(porteur=b, role=RoleMembre.REPRESENTANT_LEGAL)
    users = {
        "anonyme": None,
        "lecteur_a": lect_a.user,
        "gestionnaire_a": gest_a.user,
        "representant_a": rl_a.user,
        "membre_b": rl_b.user,
        "instructeur_x": agent(Role.INSTRUCTEUR, financeurs=[x]),
        "instructeur_y": agent(Role.INSTRUCTEUR, financeurs=[y]),
        "instructeur_x_autre_territoire": agent(Role.INSTRUCTEUR, financeurs=[x], territoires=[sud]),
        "comite_x": agent(Role.COMITE, financeurs=[x]),
        "conseil_citoyen_x": agent(Role.CONSEIL_CITOYEN, financeurs=[x]),
        "signataire_x": agent(Role.SIGNATAIRE, financeurs=[x]),
        "finance_x": agent(Role.FINANCE, financeurs=[x]),
        "administrateur": agent(Role.ADMINISTRATEUR, tous=True),
    }
    assert set(users) == set(ROLES)
    # Helpers of side B who are not roles of the matrix (B's staff acts on B's objects while the world is built).
    comite_y = agent(Role.COMITE, financeurs=[y])
    finance_y = agent(Role.FINANCE, financeurs=[y])
    campagne_bilans = CampagneFactory(exercice=2015, financeurs=[x, y], close=True)
    cote_a = _cote(
        porteur=a, membre_rl=rl_a, gestionnaire=gest_a, lecteur=lect_a, financeur=x,
        instructeur=users["instructeur_x"],
        finance=users["finance_x"], secretaire=users["comite_x"], campagne=campagne, campagne_bilans=campagne_bilans,
        qpv=q1, etiquette="Alpha",
    )  # fmt: skip
    cote_b = _cote(
        porteur=b, membre_rl=rl_b, gestionnaire=rl_b, lecteur=None, financeur=y, instructeur=users["instructeur_y"],
        finance=finance_y, secretaire=comite_y, campagne=campagne, campagne_bilans=campagne_bilans, qpv=q1,
        etiquette="Bêta",
    )  # fmt: skip

    # Conventions: one per side, generated and sent to the porteur (campagne of exercice 2015).
    campagne_conv = CampagneFactory(exercice=2015, financeurs=[x, y], close=True)
    accordee(campagne_conv, x, "12000.00", porteur=a)
    accordee(campagne_conv, y, "12000.00", porteur=b)
    conventions.conventions_batir(campagne=campagne_conv)
    for cote, instructeur in ((cote_a, users["instructeur_x"]), (cote_b, users["instructeur_y"])):
        acte = ActeAttribution.objects.get(campagne=campagne_conv, porteur=cote.porteur)
        assert acte.statut == "generee", (acte.statut, acte.motif_blocage)
        cote.convention = conventions.acte_envoyer(acte, acteur=instructeur)
        cote.document_convention = document_courant(cote.convention, conventions.NATURE_DOCUMENT)

    # Pilotage: one import of past subsidies per financeur; a campagne not open yet per financeur.
    for cote, fichier in ((cote_a, "haute-garonne-2017-scdl.csv"), (cote_b, "nievre-2016-subventions.csv")):
        rapport = subventions_importer(
            contenu=(DONNEES / fichier).read_bytes(),
            nom_fichier=fichier,
            financeur=cote.financeur,
            acteur=users["administrateur"],
        )
        cote.import_id = rapport.import_id
        cote.campagne_a_venir = CampagneFactory(financeurs=[cote.financeur], a_venir=True)
    suivante = CampagneFactory(exercice=campagne.exercice + 1, financeurs=[x, y])
    return SimpleNamespace(
        x=x,
        y=y,
        campagne=campagne,
        suivante=suivante,
        territoires=(nord, sud),
        users=users,
        A=cote_a,
        B=cote_b,
        maintenant=timezone.now(),
    )


@pytest.fixture(scope="module")
def monde(django_db_setup, django_db_blocker, _media_du_module):
    """The world, in a transaction rolled back once the module is done (other modules never see it)."""
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    rapide = override_settings(PASSWORD_HASHERS=["django.contrib.auth.hashers.MD5PasswordHasher"])
    with django_db_blocker.unblock(), rapide, transaction.atomic():
        yield construire()
        transaction.set_rollback(True)
    celery_app.conf.task_always_eager = eager
