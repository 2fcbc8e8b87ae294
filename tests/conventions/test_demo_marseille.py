"""After `seed_demo --scale marseille`, the État (always a convention) signs one convention per porteur."""

from __future__ import annotations

import time

import pytest
from django.core.management import call_command
from django.db.models import Count

from subventions.conventions.models import ActeAttribution, ActeLigne


@pytest.mark.django_db
def test_marseille_etat_gets_279_conventions_for_667_actions(capsys):
    call_command("seed_demo", "--scale", "marseille")
    capsys.readouterr()
    debut = time.perf_counter()
    call_command("conventions_build", "--campagne", "2015", "--financeur", "etat")
    duree = time.perf_counter() - debut
    sortie = capsys.readouterr().out
    with capsys.disabled():
        print(f"\nconventions_build --campagne 2015 --financeur etat : {duree:.1f} s")
    assert "Documents créés : 279 ; mis à jour : 0 ; inchangés : 0" in sortie
    actes = ActeAttribution.objects.filter(financeur__code="etat", exercice=2015)
    assert actes.count() == 279
    assert set(actes.values_list("nature", flat=True)) == {"convention"}
    assert not actes.filter(est_avenant=True).exists()
    assert ActeLigne.objects.filter(acte__in=actes).count() == 667
    assert ActeLigne.objects.filter(acte__in=actes).aggregate(n=Count("ligne__demande", distinct=True))["n"] == 667
    call_command("conventions_build", "--campagne", "2015", "--financeur", "etat")
    assert "Documents créés : 0 ; mis à jour : 0 ; inchangés : 279" in capsys.readouterr().out
