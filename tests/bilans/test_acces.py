"""Every route of the "bilans" namespace, taken from the URL resolver: the allowed user gets 200; an instructeur of
another financeur and a member of another porteur get 404 by changing the id (and see nothing of it on their own
lists); other roles get 403, anonymous users the login page; a lecteur of the porteur reads but never writes."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.urls import get_resolver, reverse

from subventions.bilans.models import CompteRendu, PieceCompteRendu
from subventions.bilans.services import compte_rendu_valider, piece_ajouter
from subventions.comptes.enums import Role
from subventions.paiements.models import Reversement
from subventions.referentiel.models import TypePiece
from tests.bilans import aides
from tests.factories import MembreFactory, agent, pdf_minimal
from tests.paiements.aides import finance, ville
from workflows.documents import document_courant

pytestmark = pytest.mark.django_db


def _routes() -> list[str]:
    """Names of every route of the namespace, from the resolver itself: a new route without a case fails below."""
    _prefixe, resolver = get_resolver().namespace_dict["bilans"]
    return sorted(p.name for p in resolver.url_patterns)


# Pages without an id: they only ever show the user's own perimeter.
PERIMETRE = {"liste"}
LECTURES = {"compte_rendu", "document", "piece"}
ECRITURES = {"valider", "corrections"}
FINANCE = {"reversements"}
PORTEUR_LECTURES = {"porteur_liste", "porteur_compte_rendu", "porteur_document"}
PORTEUR_ECRITURES = {"porteur_piece_ajouter", "porteur_piece_retirer"}
PORTEUR = PORTEUR_LECTURES | PORTEUR_ECRITURES


def test_every_route_of_the_namespace_has_an_access_case():
    assert set(_routes()) == PERIMETRE | LECTURES | ECRITURES | FINANCE | PORTEUR


def _fichier(nom="factures.pdf"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(nom, pdf_minimal("Factures"), content_type="application/pdf")


@pytest.fixture
def monde():
    m = aides.monde(taux_avance=Decimal("80"))
    # One action filed and deposited (awaiting the instructeur), with a pièce and its PDF.
    lf = aides.action(m)
    acte = aides.acte(m, lf)
    aides.payer_avance(m, acte)
    cr = aides.compte_rendu(acte)
    autre = TypePiece.objects.get_or_create(code="autre", defaults={"libelle": "Autre pièce"})[0]
    lien = piece_ajouter(compte_rendu=cr, user=m.gestionnaire, type_piece=autre, fichier=_fichier())
    cr = aides.deposer(aides.recharger(cr), m.gestionnaire)
    document = document_courant(cr, "compte_rendu_financier")
    # A second action still to file, for the porteur's writes; a reversement for finance.
    a_deposer = aides.compte_rendu(aides.acte(m, aides.action(m, intitule="Soutien scolaire"), exercice=2016))
    lien2 = piece_ajouter(compte_rendu=a_deposer, user=m.gestionnaire, type_piece=autre, fichier=_fichier("b.pdf"))
    troisieme = aides.acte(m, aides.action(m, intitule="Sorties familles"), exercice=2017)
    aides.payer_avance(m, troisieme)
    compte_rendu_valider(
        compte_rendu=aides.deposer(aides.compte_rendu(troisieme), m.gestionnaire, facteur="0.5"), acteur=m.instructeur
    )
    assert Reversement.objects.count() == 1
    p = {"porteur_pk": m.porteur.pk}
    kwargs = {
        "liste": {},
        "compte_rendu": {"pk": cr.pk},
        "document": {"pk": cr.pk, "document_pk": document.pk},
        "piece": {"pk": cr.pk, "piece_pk": lien.piece_id},
        "valider": {"pk": cr.pk},
        "corrections": {"pk": cr.pk},
        "reversements": {},
        "porteur_liste": p,
        "porteur_compte_rendu": {**p, "pk": cr.pk},
        "porteur_document": {**p, "pk": cr.pk, "document_pk": document.pk},
        "porteur_piece_ajouter": {**p, "pk": a_deposer.pk},
        "porteur_piece_retirer": {**p, "pk": a_deposer.pk, "piece_pk": lien2.piece_id},
    }
    donnees = {
        "corrections": {"commentaire": "Joignez les factures du compte 60."},
        "porteur_piece_ajouter": {"type": autre.pk, "libelle": "Feuilles d'émargement", "fichier": _fichier("e.pdf")},
    }
    return {
        "m": m,
        "cr": cr,
        "a_deposer": a_deposer,
        "kwargs": kwargs,
        "donnees": donnees,
        # What must never show on another user's own pages.
        "secrets": [acte.numero, cr.demande.numero, cr.demande.intitule, m.porteur.nom],
    }


def _etat() -> list:
    return [
        list(CompteRendu.objects.order_by("pk").values_list("pk", "statut", "version")),
        list(PieceCompteRendu.objects.order_by("pk").values_list("pk", flat=True)),
    ]


def _appeler(client, user, nom, monde, *, suivre=False):
    client.logout()
    if user is not None:
        client.force_login(user)
    url = reverse(f"bilans:{nom}", kwargs=monde["kwargs"][nom])
    if nom in ECRITURES | PORTEUR_ECRITURES:
        donnees = dict(monde["donnees"].get(nom, {}))
        if "fichier" in donnees:
            donnees["fichier"] = _fichier("e.pdf")
        return client.post(url, donnees, follow=suivre)
    return client.get(url, follow=suivre)


def _autorise(nom, monde):
    m = monde["m"]
    if nom in PORTEUR_ECRITURES:
        return m.gestionnaire
    if nom in PORTEUR_LECTURES:
        return m.lecteur
    if nom in FINANCE:
        return m.finance
    return m.instructeur


@pytest.mark.parametrize("nom", _routes())
def test_the_allowed_user_gets_200(client, monde, nom):
    reponse = _appeler(client, _autorise(nom, monde), nom, monde, suivre=True)
    assert reponse.status_code == 200
    if nom in ("document", "piece", "porteur_document"):
        assert reponse["Content-Disposition"].startswith("attachment")
        assert reponse["X-Content-Type-Options"] == "nosniff"
        assert b"".join(reponse.streaming_content).startswith(b"%PDF")
        return
    if nom in ECRITURES | PORTEUR_ECRITURES:
        assert not [m for m in reponse.context["messages"] if m.level_tag == "error"], nom
    if nom == "valider":
        assert CompteRendu.objects.get(pk=monde["cr"].pk).statut == "valide"
    if nom == "corrections":
        assert CompteRendu.objects.get(pk=monde["cr"].pk).statut == "a_corriger"
    if nom == "porteur_piece_ajouter":
        assert PieceCompteRendu.objects.filter(compte_rendu=monde["a_deposer"]).count() == 2
    if nom == "porteur_piece_retirer":
        assert not PieceCompteRendu.objects.filter(compte_rendu=monde["a_deposer"]).exists()


@pytest.mark.parametrize("nom", sorted(PERIMETRE | LECTURES | ECRITURES))
def test_an_administrateur_may_do_what_an_instructeur_does(client, monde, nom):
    assert _appeler(client, agent(Role.ADMINISTRATEUR, tous=True), nom, monde, suivre=True).status_code == 200


def _refuses(nom, monde):
    """(label, user builder, expected status); None as user is anonymous (redirected to the login page)."""
    m = monde["m"]
    anonyme = ("anonyme", lambda: None, 302)
    if nom in PORTEUR:
        refus = [
            ("membre d'une autre association", lambda: MembreFactory().user, 404),
            ("instructeur du financeur", lambda: m.instructeur, 404),
            anonyme,
        ]
        if nom in PORTEUR_ECRITURES:
            refus.append(("lecteur de la structure", lambda: m.lecteur, 403))
        return refus
    membre = ("membre de la structure", lambda: m.representant, 403)
    if nom in FINANCE:
        return [
            ("instructeur du financeur", lambda: m.instructeur, 403),
            ("finance d'un autre financeur", lambda: finance(ville()), 200),
            membre,
            anonyme,
        ]
    autre = ("instructeur d'un autre financeur", lambda: agent(Role.INSTRUCTEUR, financeurs=[ville()]), 404)
    if nom in PERIMETRE:
        autre = (autre[0], autre[1], 200)
    return [
        autre,
        ("finance du financeur", lambda: m.finance, 403),
        ("signataire du financeur", lambda: agent(Role.SIGNATAIRE, financeurs=[m.financeur]), 403),
        membre,
        anonyme,
    ]


@pytest.mark.parametrize("nom", _routes())
def test_everyone_else_is_refused(client, monde, nom):
    avant = _etat()
    for libelle, fabrique, attendu in _refuses(nom, monde):
        reponse = _appeler(client, fabrique(), nom, monde)
        assert reponse.status_code == attendu, (libelle, reponse.status_code)
        if attendu == 302:
            assert reponse["Location"].startswith(reverse("account_login")), libelle
        if attendu == 200:  # a page of the user's own perimeter: nothing of this porteur in it
            texte = reponse.content.decode()
            assert not any(secret in texte for secret in monde["secrets"]), libelle
    assert _etat() == avant


def test_a_lecteur_reads_the_compte_rendu_but_cannot_save_or_deposit_it(client, monde):
    m, cr = monde["m"], monde["a_deposer"]
    client.force_login(m.lecteur)
    url = reverse("bilans:porteur_compte_rendu", kwargs={"porteur_pk": m.porteur.pk, "pk": cr.pk})
    page = client.get(url).content.decode()
    assert "Enregistrer et déposer" not in page and "remplit et dépose le compte-rendu" in page
    reponse = client.post(url, {"version": cr.version, "actions_realisees": "Piraté", "action": "deposer"})
    assert reponse.status_code == 403
    assert CompteRendu.objects.get(pk=cr.pk).actions_realisees == ""
