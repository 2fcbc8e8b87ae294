"""After `seed_demo --scale marseille`, the État (always a convention) has one convention per porteur, rendered, some
signed by both parties, some awaiting a signature; the build is idempotent."""

from __future__ import annotations

import json
import time
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import Count

from subventions.conventions.models import ActeAttribution, ActeLigne, StatutActe
from workflows.models import Document


@pytest.mark.django_db
def test_marseille_etat_gets_279_conventions_for_667_actions(capsys):
    debut = time.perf_counter()
    call_command("seed_demo", "--scale", "marseille")
    duree = time.perf_counter() - debut
    capsys.readouterr()
    with capsys.disabled():
        print(f"\nseed_demo --scale marseille (279 conventions bâties, rendues, signées en partie) : {duree:.1f} s")
    actes = ActeAttribution.objects.filter(financeur__code="etat", exercice=2015)
    assert actes.count() == 279
    assert set(actes.values_list("nature", flat=True)) == {"convention"}
    assert not actes.filter(est_avenant=True).exists()
    assert ActeLigne.objects.filter(acte__in=actes).count() == 667
    assert ActeLigne.objects.filter(acte__in=actes).aggregate(n=Count("ligne__demande", distinct=True))["n"] == 667
    # Every convention has its PDF; some are signed by both, some await the signataire, some the porteur.
    assert Document.objects.filter(nature="acte_attributif", object_id__in=actes.values("pk")).count() == 279
    statuts = dict(actes.values_list("statut").annotate(n=Count("pk")))
    assert set(statuts) == {StatutActe.SIGNEE, StatutActe.SIGNEE_PORTEUR, StatutActe.ENVOYEE}
    assert all(n >= 80 for n in statuts.values()), statuts
    # The demo association's convention waits for its signature in the browser.
    demo = actes.get(porteur__membres__user__email="association@demo.test")
    assert demo.statut == StatutActe.ENVOYEE
    call_command("conventions_build", "--campagne", "2015", "--financeur", "etat")
    assert "Documents créés : 0 ; mis à jour : 0 ; inchangés : 279 ; bloqués : 0" in capsys.readouterr().out
    sortie = StringIO()
    call_command("stats", "--campagne", "2015", "--financeur", "etat", "--json", stdout=sortie)
    chiffres = json.loads(sortie.getvalue())
    assert (chiffres["conventions"], chiffres["arretes"], chiffres["avenants"]) == (279, 0, 0)
    assert chiffres["actions_par_convention"] == "2.39"
    assert chiffres["conventions_signees"] == statuts[StatutActe.SIGNEE]
