"""Grouping rule, threshold, avenants, idempotence and numbering of the actes attributifs."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext

from subventions.conventions.models import ActeAttribution, ActeLigne, CompteurActes
from subventions.conventions.services import conventions_batir
from tests.conventions.aides import accordee, monde_de_test
from tests.factories import PorteurFactory
from workflows.models import Document

pytestmark = pytest.mark.django_db


@pytest.fixture
def monde():
    return monde_de_test()


def _grouper(**kwargs):
    """The grouping alone (the PDF and the blocked cases are tested in test_signature)."""
    return conventions_batir(generer=False, **kwargs)


def _actes(**filtre):
    return list(ActeAttribution.objects.filter(**filtre).order_by("pk"))


def test_several_lines_of_one_porteur_make_one_document_with_the_summed_total(monde):
    campagne, etat, _ = monde
    porteur = PorteurFactory()
    lignes = [accordee(campagne, etat, m, porteur=porteur) for m in ("5000.00", "7000.50", "1000.00")]
    assert _grouper(campagne=campagne) == {"crees": 1, "maj": 0, "inchanges": 0, "bloquees": 0}
    (acte,) = _actes()
    assert (acte.financeur, acte.porteur, acte.exercice) == (etat, porteur, 2015)
    assert acte.montant_total == Decimal("13000.50") and acte.statut == "brouillon" and not acte.est_avenant
    assert set(acte.lignes.values_list("ligne", flat=True)) == {ligne.pk for ligne in lignes}


def test_two_porteurs_or_two_financeurs_make_separate_documents(monde):
    campagne, etat, ville = monde
    porteur = PorteurFactory()
    accordee(campagne, etat, "1000.00", porteur=porteur)
    accordee(campagne, ville, "2000.00", porteur=porteur)
    accordee(campagne, etat, "3000.00")
    assert _grouper(campagne=campagne)["crees"] == 3
    assert sorted(a.montant_total for a in _actes()) == [Decimal("1000.00"), Decimal("2000.00"), Decimal("3000.00")]


def test_undecided_refused_or_other_campagne_lines_are_left_out(monde):
    campagne, etat, _ = monde
    accordee(campagne, etat, "1000.00", statut_demande="inscrite")  # séance not closed yet
    from subventions.demandes.models import LigneFinancement

    refusee = accordee(campagne, etat, "1000.00")
    LigneFinancement.objects.filter(pk=refusee.pk).update(statut="refusee")
    assert _grouper(campagne=campagne) == {"crees": 0, "maj": 0, "inchanges": 0, "bloquees": 0}


def test_a_later_line_joins_the_unsigned_document(monde):
    campagne, etat, _ = monde
    porteur = PorteurFactory()
    accordee(campagne, etat, "5000.00", porteur=porteur)
    _grouper(campagne=campagne)
    (acte,) = _actes()
    accordee(campagne, etat, "2500.00", porteur=porteur)
    assert _grouper(campagne=campagne) == {"crees": 0, "maj": 1, "inchanges": 0, "bloquees": 0}
    acte = ActeAttribution.objects.get(pk=acte.pk)
    assert acte.montant_total == Decimal("7500.00") and acte.lignes.count() == 2
    assert ActeAttribution.objects.count() == 1


def test_once_past_brouillon_a_later_line_goes_into_an_avenant(monde):
    campagne, etat, _ = monde
    porteur = PorteurFactory()
    accordee(campagne, etat, "30000.00", porteur=porteur)
    _grouper(campagne=campagne)
    (acte,) = _actes()
    ActeAttribution.objects.filter(pk=acte.pk).update(statut="signee")
    accordee(campagne, etat, "4000.00", porteur=porteur)
    accordee(campagne, etat, "1000.00", porteur=porteur)
    assert _grouper(campagne=campagne) == {"crees": 1, "maj": 0, "inchanges": 1, "bloquees": 0}
    (avenant,) = _actes(est_avenant=True)
    assert avenant.parent == acte and avenant.montant_total == Decimal("5000.00") and avenant.statut == "brouillon"
    assert avenant.nature == "convention"  # 35 000 € in all this year
    acte = ActeAttribution.objects.get(pk=acte.pk)
    assert acte.montant_total == Decimal("30000.00") and acte.lignes.count() == 1
    # A further line joins the still unsigned avenant, not a second one.
    accordee(campagne, etat, "500.00", porteur=porteur)
    assert _grouper(campagne=campagne) == {"crees": 0, "maj": 1, "inchanges": 1, "bloquees": 0}
    avenant = ActeAttribution.objects.get(pk=avenant.pk)
    assert avenant.montant_total == Decimal("5500.00") and ActeAttribution.objects.count() == 2


@pytest.mark.parametrize(
    ("montant", "toujours", "nature"),
    [
        ("22999.00", False, "arrete"),
        ("23000.00", False, "arrete"),
        ("23000.01", False, "convention"),
        ("1000.00", True, "convention"),
    ],
)
def test_threshold_chooses_the_nature(monde, montant, toujours, nature):
    campagne, etat, _ = monde
    etat.toujours_convention = toujours
    etat.save()
    accordee(campagne, etat, montant)
    _grouper(campagne=campagne)
    assert _actes()[0].nature == nature


def test_an_unsigned_arrete_crossing_the_threshold_becomes_a_convention(monde):
    campagne, etat, _ = monde
    porteur = PorteurFactory()
    accordee(campagne, etat, "20000.00", porteur=porteur)
    _grouper(campagne=campagne)
    assert _actes()[0].nature == "arrete"
    accordee(campagne, etat, "3000.01", porteur=porteur)
    _grouper(campagne=campagne)
    (acte,) = _actes()
    assert acte.nature == "convention" and acte.montant_total == Decimal("23000.01")


def test_a_financeur_own_threshold_is_used(monde):
    campagne, _, ville = monde
    ville.seuil_convention = Decimal("5000")
    ville.save()
    accordee(campagne, ville, "5000.01")
    _grouper(campagne=campagne)
    assert _actes()[0].nature == "convention"


def test_idempotent(monde):
    campagne, etat, ville = monde
    for _ in range(3):
        accordee(campagne, etat, "1000.00")
    accordee(campagne, ville, "1000.00")
    assert _grouper(campagne=campagne) == {"crees": 4, "maj": 0, "inchanges": 0, "bloquees": 0}
    avant = list(ActeAttribution.objects.values_list("pk", "numero", "montant_total", "maj_le").order_by("pk"))
    assert _grouper(campagne=campagne) == {"crees": 0, "maj": 0, "inchanges": 4, "bloquees": 0}
    assert _grouper(campagne=campagne, financeur=etat) == {"crees": 0, "maj": 0, "inchanges": 3, "bloquees": 0}
    assert list(ActeAttribution.objects.values_list("pk", "numero", "montant_total", "maj_le").order_by("pk")) == avant
    assert ActeLigne.objects.count() == 4


def test_numbering_is_sequential_per_financeur_and_year(monde):
    campagne, etat, ville = monde
    for _ in range(3):
        accordee(campagne, etat, "1000.00")
    accordee(campagne, ville, "1000.00")
    _grouper(campagne=campagne, financeur=etat)
    assert [a.numero for a in _actes()] == ["ETAT-2015-0001", "ETAT-2015-0002", "ETAT-2015-0003"]
    _grouper(campagne=campagne)
    assert _actes(financeur=ville)[0].numero == "VILLE-TEST-2015-0001"
    # An avenant takes the next number of its financeur.
    premier = _actes(financeur=etat)[0]
    ActeAttribution.objects.filter(pk=premier.pk).update(statut="signee")
    accordee(campagne, etat, "1000.00", porteur=premier.porteur)
    _grouper(campagne=campagne)
    assert _actes(est_avenant=True)[0].numero == "ETAT-2015-0004"


def test_another_year_starts_again_at_one(monde):
    from tests.factories import CampagneFactory

    campagne, etat, _ = monde
    accordee(campagne, etat, "1000.00")
    _grouper(campagne=campagne)
    autre = CampagneFactory(exercice=2016, financeurs=[etat], contrat=campagne.contrat)
    accordee(autre, etat, "1000.00")
    _grouper(campagne=autre)
    assert sorted(ActeAttribution.objects.values_list("numero", flat=True)) == ["ETAT-2015-0001", "ETAT-2016-0001"]


def test_command_prints_counts_and_rejects_unknown_values(monde, capsys):
    campagne, etat, _ = monde
    accordee(campagne, etat, "1000.00")
    call_command("conventions_build", "--campagne", "2015", "--financeur", "etat")
    assert "Documents créés : 1 ; mis à jour : 0 ; inchangés : 0" in capsys.readouterr().out
    call_command("conventions_build", "--campagne", "2015", "--financeur", str(etat.pk))
    assert "Documents créés : 0 ; mis à jour : 0 ; inchangés : 1" in capsys.readouterr().out
    with pytest.raises(CommandError, match="Aucune campagne pour l'exercice 1999"):
        call_command("conventions_build", "--campagne", "1999")
    with pytest.raises(CommandError, match="Financeur inconnu : « region »"):
        call_command("conventions_build", "--campagne", "2015", "--financeur", "region")
    with pytest.raises(CommandError, match="attend l'exercice"):
        call_command("conventions_build", "--campagne", "deux-mille")


def test_one_run_adds_to_unsigned_documents_opens_avenants_and_creates_new_ones_numbered_in_porteur_order(monde):
    campagne, etat, _ = monde
    ouvert, signe, nouveau = PorteurFactory(), PorteurFactory(), PorteurFactory()
    accordee(campagne, etat, "1000.00", porteur=ouvert)
    accordee(campagne, etat, "30000.00", porteur=signe)
    _grouper(campagne=campagne)
    acte_ouvert, acte_signe = _actes()
    ActeAttribution.objects.filter(pk=acte_signe.pk).update(statut="signee")
    for porteur, montant in ((nouveau, "800.00"), (signe, "2000.00"), (ouvert, "22500.00"), (ouvert, "100.00")):
        accordee(campagne, etat, montant, porteur=porteur)
    assert _grouper(campagne=campagne) == {"crees": 2, "maj": 1, "inchanges": 1, "bloquees": 0}
    numeros = {a.pk: a.numero for a in _actes()}
    assert numeros[acte_ouvert.pk] == "ETAT-2015-0001" and numeros[acte_signe.pk] == "ETAT-2015-0002"
    (avenant,) = _actes(est_avenant=True)
    (cree,) = _actes(porteur=nouveau)
    # New numbers follow the porteurs' order, after those already given, without a gap.
    assert (avenant.numero, cree.numero) == ("ETAT-2015-0003", "ETAT-2015-0004")
    assert CompteurActes.objects.get(financeur=etat, exercice=2015).dernier == 4
    acte_ouvert.refresh_from_db()
    # 23 600 € in all: the unsigned arrêté crosses the threshold and becomes a convention.
    assert (acte_ouvert.montant_total, acte_ouvert.nature, acte_ouvert.lignes.count()) == (
        Decimal("23600.00"),
        "convention",
        3,
    )
    assert (avenant.parent_id, avenant.montant_total, avenant.nature) == (
        acte_signe.pk,
        Decimal("2000.00"),
        "convention",
    )
    assert (cree.montant_total, cree.nature, cree.est_avenant) == (Decimal("800.00"), "arrete", False)
    assert all(a.a_generer for a in (acte_ouvert, avenant, cree))


def test_a_failed_build_gives_its_numbers_back(monde, monkeypatch):
    campagne, etat, _ = monde
    for _ in range(2):
        accordee(campagne, etat, "1000.00")

    def panne(*args, **kwargs):
        raise RuntimeError("disque plein")

    with monkeypatch.context() as m:
        m.setattr(ActeLigne.objects, "bulk_create", panne)
        with pytest.raises(RuntimeError):
            _grouper(campagne=campagne)
    assert not ActeAttribution.objects.exists()
    assert not CompteurActes.objects.filter(dernier__gt=0).exists()
    assert _grouper(campagne=campagne)["crees"] == 2
    assert [a.numero for a in _actes()] == ["ETAT-2015-0001", "ETAT-2015-0002"]


def _requetes_du_batir(campagne, financeur) -> int:
    with CaptureQueriesContext(connection) as requetes:
        _grouper(campagne=campagne, financeur=financeur)
    return len(requetes)


def test_query_count_does_not_grow_with_the_number_of_groups(monde):
    """The build works per financeur in set-based steps: three groups or nine cost the same queries, whether they
    create documents, add lines to unsigned ones or open avenants to signed ones."""
    campagne, etat, ville = monde
    tailles = {etat: 1, ville: 3}
    porteurs = {f: [[PorteurFactory() for _ in range(n)] for _ in range(3)] for f, n in tailles.items()}
    for f in tailles:
        for groupe in porteurs[f][1:]:
            for porteur in groupe:
                accordee(campagne, f, "1000.00", porteur=porteur)
    premier = {f: _requetes_du_batir(campagne, f) for f in tailles}
    assert premier[etat] == premier[ville] <= 12
    for f in tailles:
        _a_signer, signes, _ouverts = porteurs[f]
        ActeAttribution.objects.filter(porteur__in=signes).update(statut="signee")
        for groupe in porteurs[f]:  # new, avenant, added to an unsigned document
            for porteur in groupe:
                accordee(campagne, f, "500.00", porteur=porteur)
    second = {f: _requetes_du_batir(campagne, f) for f in tailles}
    assert second[etat] == second[ville] <= 14
    assert ActeAttribution.objects.filter(financeur=ville).count() == 9 + 3
    assert ActeAttribution.objects.filter(financeur=etat).count() == 3 + 1


def _en_parallele(n: int, appel) -> tuple[list, list]:
    """`appel()` in `n` threads released at the same moment, each with its own connection: (results, errors)."""
    barriere = threading.Barrier(n)
    resultats, erreurs = [], []

    def run():
        try:
            barriere.wait()
            resultats.append(appel())
        except Exception as exc:  # pragma: no cover - reported by the caller
            erreurs.append(exc)
        finally:
            connection.close()

    fils = [threading.Thread(target=run) for _ in range(n)]
    for fil in fils:
        fil.start()
    for fil in fils:
        fil.join()
    return resultats, erreurs


@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_make_no_duplicate_document_nor_number(postgres_only):
    campagne, etat, _ = monde_de_test()
    porteurs = [PorteurFactory() for _ in range(6)]
    for i in range(24):
        accordee(campagne, etat, "1000.00", porteur=porteurs[i % 6])
    resultats, erreurs = _en_parallele(4, lambda: conventions_batir(campagne=campagne))
    assert not erreurs
    assert sum(r["crees"] for r in resultats) == 6
    actes = _actes()
    assert len(actes) == 6 and len({a.numero for a in actes}) == 6
    assert sorted(a.numero for a in actes) == [f"ETAT-2015-{n:04d}" for n in range(1, 7)]
    assert all(a.montant_total == Decimal("4000.00") for a in actes)
    assert ActeLigne.objects.count() == 24
    # Each document was rendered once, whichever run got to it.
    assert all(a.statut == "generee" and a.version_document == 1 for a in actes)
    assert Document.objects.filter(nature="acte_attributif").count() == 6


@pytest.mark.django_db(transaction=True)
def test_overlapping_runs_open_one_avenant_per_signed_document(postgres_only):
    campagne, etat, _ = monde_de_test()
    porteurs = [PorteurFactory() for _ in range(4)]
    for porteur in porteurs:
        accordee(campagne, etat, "1000.00", porteur=porteur)
    _grouper(campagne=campagne)
    ActeAttribution.objects.update(statut="signee")
    for i in range(12):
        accordee(campagne, etat, "250.00", porteur=porteurs[i % 4])
    resultats, erreurs = _en_parallele(3, lambda: _grouper(campagne=campagne))
    assert not erreurs
    assert sum(r["crees"] for r in resultats) == 4
    avenants = _actes(est_avenant=True)
    assert sorted(a.numero for a in avenants) == [f"ETAT-2015-{n:04d}" for n in range(5, 9)]
    assert sorted(a.parent.porteur_id for a in avenants) == sorted(p.pk for p in porteurs)
    assert all(a.montant_total == Decimal("750.00") for a in avenants)
    assert ActeLigne.objects.count() == 16
    assert CompteurActes.objects.get(financeur=etat, exercice=2015).dernier == 8
