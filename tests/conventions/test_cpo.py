"""A financeur in CPO mode: one convention pluriannuelle per porteur, an annual financial avenant for each later year;
and the automatic build after a séance is closed."""

from __future__ import annotations

from decimal import Decimal

import pytest

from subventions.conventions.models import ActeAttribution
from subventions.conventions.services import conventions_batir
from tests.conventions.aides import accordee
from tests.factories import CampagneFactory, FinanceurFactory, MembreFactory, PorteurFactory

pytestmark = pytest.mark.django_db


def test_cpo_first_year_is_the_multi_year_convention_later_years_are_financial_avenants():
    region = FinanceurFactory(code="region", nom="Région", mode_cpo=True, duree_cpo=3, seuil_convention=23000)
    porteur = PorteurFactory()
    MembreFactory(porteur=porteur)
    annees = {}
    for exercice in (2015, 2016, 2017, 2018):
        campagne = CampagneFactory(exercice=exercice, financeurs=[region])
        accordee(campagne, region, "1500.00", porteur=porteur)
        accordee(campagne, region, "500.00", porteur=porteur)
        conventions_batir(campagne=campagne)
        annees[exercice] = campagne
    cpo = ActeAttribution.objects.get(financeur=region, porteur=porteur, exercice=2015)
    # Below the threshold, but a CPO is always a convention, over 3 years.
    assert (cpo.nature, cpo.annee_fin, cpo.est_avenant, cpo.montant_total) == (
        "convention",
        2017,
        False,
        Decimal("2000.00"),
    )
    avenants = list(ActeAttribution.objects.filter(parent=cpo).order_by("exercice"))
    assert [(a.exercice, a.montant_total, a.campagne_id) for a in avenants] == [
        (2016, Decimal("2000.00"), annees[2016].pk),
        (2017, Decimal("2000.00"), annees[2017].pk),
    ]
    assert all(a.libelle == "Avenant financier" for a in avenants)
    assert avenants[0].numero.startswith("REGION-2016-")
    # 2018 is past the CPO: a new convention pluriannuelle starts.
    nouvelle = ActeAttribution.objects.get(financeur=region, porteur=porteur, exercice=2018)
    assert not nouvelle.est_avenant and nouvelle.annee_fin == 2020


def test_one_cpo_run_opens_avenants_starts_new_cpos_and_replaces_a_resiliated_one():
    region = FinanceurFactory(code="region", nom="Région", mode_cpo=True, duree_cpo=3, seuil_convention=23000)
    suivi, resilie, arrivant = PorteurFactory(), PorteurFactory(), PorteurFactory()
    c2015 = CampagneFactory(exercice=2015, financeurs=[region])
    for porteur in (suivi, resilie):
        accordee(c2015, region, "1000.00", porteur=porteur)
    conventions_batir(campagne=c2015, generer=False)
    cpo_suivi = ActeAttribution.objects.get(porteur=suivi)
    ActeAttribution.objects.filter(porteur=suivi).update(statut="signee")
    ActeAttribution.objects.filter(porteur=resilie).update(statut="resiliee")
    c2016 = CampagneFactory(exercice=2016, financeurs=[region])
    for porteur in (suivi, resilie, arrivant, suivi):
        accordee(c2016, region, "700.00", porteur=porteur)
    assert conventions_batir(campagne=c2016, generer=False) == {"crees": 3, "maj": 0, "inchanges": 0, "bloquees": 0}
    avenant = ActeAttribution.objects.get(exercice=2016, porteur=suivi)
    assert (avenant.est_avenant, avenant.parent_id, avenant.montant_total, avenant.libelle) == (
        True,
        cpo_suivi.pk,
        Decimal("1400.00"),
        "Avenant financier",
    )
    # A resiliated CPO no longer covers 2016: a new convention pluriannuelle starts, as for a newcomer.
    nouvelles = ActeAttribution.objects.filter(exercice=2016, est_avenant=False).order_by("porteur_id")
    assert [(a.porteur_id, a.annee_fin, a.nature, a.montant_total) for a in nouvelles] == [
        (resilie.pk, 2018, "convention", Decimal("700.00")),
        (arrivant.pk, 2018, "convention", Decimal("700.00")),
    ]
    assert sorted(ActeAttribution.objects.filter(exercice=2016).values_list("numero", flat=True)) == [
        "REGION-2016-0001",
        "REGION-2016-0002",
        "REGION-2016-0003",
    ]
    # A 2016 line granted later joins the unsigned avenant.
    accordee(c2016, region, "100.00", porteur=suivi)
    assert conventions_batir(campagne=c2016, generer=False)["maj"] == 1
    avenant.refresh_from_db()
    assert (
        avenant.montant_total == Decimal("1500.00") and ActeAttribution.objects.filter(parent=cpo_suivi).count() == 1
    )


def test_closing_a_seance_builds_the_documents_through_the_queue(django_capture_on_commit_callbacks):
    from subventions.comites.models import Seance
    from subventions.conventions.receivers import seance_cloturee

    etat = FinanceurFactory(code="etat", toujours_convention=True)
    campagne = CampagneFactory(exercice=2015, financeurs=[etat])
    porteur = PorteurFactory()
    MembreFactory(porteur=porteur)
    accordee(campagne, etat, "9000.00", porteur=porteur)
    seance = Seance(campagne=campagne)
    with django_capture_on_commit_callbacks(execute=True) as rappels:
        # What django-fsm sends when a séance is closed; the build runs once the close is committed.
        seance_cloturee(sender=Seance, instance=seance, name="cloturer")
        assert not ActeAttribution.objects.exists()
    assert len(rappels) == 1
    acte = ActeAttribution.objects.get()
    assert acte.statut == "generee" and acte.montant_total == Decimal("9000.00")
