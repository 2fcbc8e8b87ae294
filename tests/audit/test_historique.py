"""Every change of an amount, an IBAN or a decision is recorded: who, when, before and after."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.forms.models import model_to_dict
from django.urls import reverse

from associations.forms import CHAMPS_PORTEUR
from associations.models import Porteur
from subventions.audit.models import MOTIF_ETAT_INITIAL
from subventions.audit.services import changements
from subventions.demandes import services as demandes_services
from subventions.demandes.models import Demande, LigneFinancement
from tests.factories import CampagneFactory, FinanceurFactory, MembreFactory, UserFactory

pytestmark = pytest.mark.django_db

NOUVEL_IBAN = "FR1420041010050500013M02606"


def _donnees_formulaire(porteur: Porteur, **changes) -> dict:
    donnees = {k: ("" if v is None else v) for k, v in model_to_dict(porteur, fields=CHAMPS_PORTEUR).items()}
    for champ in ("etpt", "budget_annee_precedente", "budget_annee_courante"):
        if isinstance(donnees.get(champ), Decimal):
            donnees[champ] = str(donnees[champ]).replace(".", ",")
    donnees.update(changes)
    return donnees


def test_an_iban_changed_through_the_page_is_recorded_with_who_when_before_and_after(client):
    membre = MembreFactory(role="representant_legal")
    porteur = membre.porteur
    ancien = porteur.iban
    client.force_login(membre.user)
    response = client.post(
        reverse("associations:porteur_modifier", args=[porteur.pk]), _donnees_formulaire(porteur, iban=NOUVEL_IBAN)
    )
    assert response.status_code == 302, response.content.decode()[:3000]
    porteur.refresh_from_db()
    assert porteur.iban == NOUVEL_IBAN
    dernier = porteur.history.order_by("-history_date", "-history_id").first()
    assert dernier.history_user == membre.user and dernier.history_type == "~"
    assert ("IBAN", ancien, NOUVEL_IBAN) in changements(dernier)


def test_a_line_created_in_bulk_gets_its_before_state_at_its_first_change():
    financeur = FinanceurFactory(code="etat", nom="État")
    campagne = CampagneFactory(financeurs=[financeur])
    membre = MembreFactory(role="representant_legal")
    demande = demandes_services.demande_creer(
        porteur=membre.porteur, campagne=campagne, user=membre.user, intitule="Atelier"
    )
    ligne = LigneFinancement.objects.get(demande=demande)
    assert ligne.history.count() == 0  # bulk_create sends no signal
    ligne.montant_demande = Decimal("5000.00")
    ligne.save()
    assert ligne.montant_propose is None
    ligne.montant_propose = Decimal("4200.50")
    ligne.save()
    historique = list(ligne.history.order_by("history_date", "history_id"))
    assert [h.history_change_reason for h in historique][0] == MOTIF_ETAT_INITIAL
    assert len(historique) == 3
    assert changements(historique[1]) == [("montant demandé (€)", "0.00", "5000.00")]
    assert changements(historique[2]) == [("montant proposé (€)", "—", "4200.50")]


def test_a_save_that_changes_no_tracked_field_writes_no_history():
    porteur = MembreFactory().porteur
    avant = porteur.history.count()
    porteur.objet = "Un autre objet social"  # not an audited field
    porteur.save()
    porteur.save()
    assert porteur.history.count() == avant


def test_a_status_change_through_the_transition_service_is_in_the_history():
    from workflows.transitions import transition_appliquer

    financeur = FinanceurFactory(code="etat", nom="État")
    campagne = CampagneFactory(financeurs=[financeur])
    demande = Demande.objects.create(
        campagne=campagne, porteur=MembreFactory().porteur, cree_par=UserFactory(), intitule="Atelier"
    )
    Demande.objects.filter(pk=demande.pk).update(statut="deposee")  # as a bulk import would
    transition_appliquer(
        obj=Demande.objects.get(pk=demande.pk),
        transition="demander_complements",
        acteur=None,
        verifier_permission=False,
    )
    statuts = list(demande.history.order_by("history_date", "history_id").values_list("statut", flat=True))
    assert statuts == ["brouillon", "deposee", "a_completer"]


def test_the_admin_shows_the_history_with_before_and_after_and_nobody_deletes_it(
    client, django_assert_max_num_queries
):
    porteurs = [MembreFactory().porteur for _ in range(3)]
    for porteur in porteurs:
        ancien = porteur.iban
        porteur.iban = NOUVEL_IBAN
        porteur.save()
        porteur.iban = ancien
        porteur.save()
    admin = UserFactory(mfa=True, is_superuser=True, is_staff=True)
    client.force_login(admin)
    url = reverse("admin:audit_historicalporteur_changelist")
    with django_assert_max_num_queries(20):
        page = client.get(url)
    assert page.status_code == 200
    texte = page.content.decode()
    assert f"{porteurs[0].iban} → {NOUVEL_IBAN}" in texte and f"{NOUVEL_IBAN} → {porteurs[0].iban}" in texte
    # The same number of queries with twice the rows: the « before » is not read row by row.
    for porteur in porteurs:
        porteur.iban = NOUVEL_IBAN
        porteur.save()
    with django_assert_max_num_queries(20):
        assert client.get(url).status_code == 200
    record = porteurs[0].history.first()
    assert client.get(reverse("admin:audit_historicalporteur_delete", args=[record.pk])).status_code == 403
    assert client.get(reverse("admin:audit_historicalporteur_change", args=[record.pk])).status_code == 200
    # A tracked model shown by the audit app has simple-history's per-object « Historique » page with the changes.
    financeur = FinanceurFactory(code="etat", nom="État")
    campagne = CampagneFactory(financeurs=[financeur])
    demande = Demande.objects.create(campagne=campagne, porteur=porteurs[0], cree_par=admin, intitule="Atelier")
    ligne = LigneFinancement.objects.create(demande=demande, financeur=financeur, montant_demande=Decimal("100.00"))
    ligne.montant_demande = Decimal("250.00")
    ligne.save()
    historique = client.get(reverse("admin:demandes_lignefinancement_history", args=[ligne.pk]))
    assert historique.status_code == 200
    texte = historique.content.decode()
    assert "100.00" in texte and "250.00" in texte
    assert client.get(reverse("admin:demandes_lignefinancement_delete", args=[ligne.pk])).status_code == 403
