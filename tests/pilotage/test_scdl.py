"""The SCDL "subventions" export: exactly the official schema v2.1.1 (checked with frictionless and the schema's own
custom checks), the schema's examples behaving as the schema says, values from the documents and their échéanciers,
the command, the streamed download and its scope."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.urls import reverse
from frictionless import Resource, Schema

from associations.models import Porteur
from subventions.comptes.enums import Role
from subventions.conventions.models import ActeAttribution
from subventions.demandes.enums import NatureAide
from subventions.demandes.models import Demande
from subventions.pilotage import scdl
from tests.factories import FinanceurFactory, agent
from tests.pilotage.aides import DONNEES, SCHEMA, monde_pilotage, programme, schema_scdl

OFFICIELS = Path("/work/shared/data")


def _valider(chemin: Path) -> tuple[list, list[str]]:
    """Frictionless's errors against the official schema, then the errors of the schema's custom_checks."""
    descripteur = schema_scdl()
    rapport = Resource(path=chemin.name, basepath=str(chemin.parent), schema=Schema.from_descriptor(descripteur))
    erreurs = rapport.validate().flatten(["rowNumber", "fieldName", "type"])
    with chemin.open(encoding="utf-8", newline="") as fichier:
        return erreurs, scdl.verifications_schema(csv.DictReader(fichier), descripteur)


@pytest.mark.skipif(not OFFICIELS.exists(), reason="the shared data folder is not here")
def test_the_copies_are_the_official_files():
    for nom in ("scdl-subventions-schema-2.1.1.json", "scdl-exemple-valide.csv", "scdl-exemple-invalide-cellules.csv",
                "scdl-exemple-invalide-colonnes.csv"):  # fmt: skip
        assert (DONNEES / nom).read_bytes() == (OFFICIELS / nom).read_bytes(), nom
    for nom in ("haute-garonne-2017-scdl.csv", "nievre-2016-subventions.csv"):
        assert (DONNEES / nom).read_bytes() == (OFFICIELS / "real" / nom).read_bytes(), nom


def test_columns_are_the_schema_s_in_its_order():
    assert [champ["name"] for champ in schema_scdl()["fields"]] == scdl.COLONNES
    assert scdl.VERSION == schema_scdl()["version"] == "2.1.1"


def test_the_schema_s_own_examples_behave_as_it_says():
    erreurs, personnalisees = _valider(DONNEES / "scdl-exemple-valide.csv")
    assert erreurs == [] and personnalisees == []
    # Bad cells: frictionless finds the types and constraints, the custom checks the SIRETs and missing ids.
    erreurs, personnalisees = _valider(DONNEES / "scdl-exemple-invalide-cellules.csv")
    types = {(rang, champ, genre) for rang, champ, genre in erreurs}
    assert (2, "pourcentageSubvention", "constraint-error") in types
    assert (5, "dateConvention", "type-error") in types
    assert (6, "montant", "type-error") in types
    assert (16, "nature", "constraint-error") in types
    assert "ligne 6 : idBeneficiaire « 32402138500000.0 » n'est pas un SIRET valide" in personnalisees
    assert "ligne 9 : ni idBeneficiaire ni rnaBeneficiaire" in personnalisees
    # Bad columns: wrong names and order, a missing column.
    erreurs, _ = _valider(DONNEES / "scdl-exemple-invalide-colonnes.csv")
    labels = {(champ, genre) for _rang, champ, genre in erreurs}
    assert ("dispositifAide", "missing-label") in labels
    assert ("nomBeneficiaire", "incorrect-label") in labels


@pytest.mark.django_db
def test_export_of_the_programme_validates_and_carries_the_documents_figures(tmp_path):
    monde = monde_pilotage()
    chemin = tmp_path / "etat.csv"
    sortie = io.StringIO()
    call_command("export_scdl", "--financeur", "etat", "--annee", "2015", "--out", str(chemin), stdout=sortie)
    assert "1 ligne(s) SCDL v2.1.1" in sortie.getvalue()
    assert _valider(chemin) == ([], [])
    contenu = chemin.read_bytes()
    assert not contenu.startswith(b"\xef\xbb\xbf") and contenu.decode("utf-8")
    (ligne,) = csv.DictReader(io.StringIO(contenu.decode("utf-8"), newline=""))
    porteur = monde.porteurs[0]
    acte = ActeAttribution.objects.get(financeur=monde.etat, porteur=porteur)
    assert ligne == {
        "nomAttribuant": "État",
        "idAttribuant": monde.etat.siret,
        "dateConvention": "2015-07-01",
        "referenceDecision": acte.numero,
        "nomBeneficiaire": porteur.nom,
        "idBeneficiaire": porteur.siret,
        "rnaBeneficiaire": porteur.rna,
        "objet": "2 actions : " + " ; ".join(d.intitule for d in monde.demandes[:2]),
        "montant": "12000.00",
        "nature": "aide en numéraire",
        # Advance (paid on 20/07/2015) and solde (due by 30/06/2016): from the échéancier.
        "conditionsVersement": "échelonné",
        "datesPeriodeVersement": "2015-07-20/2016-06-30",
        "idRAE": "",
        "notificationUE": "non",
        # 12 000 € of a 30 000 € budget (the 86 line, volunteers' time, is not a cost).
        "pourcentageSubvention": "0.40",
        "dispositifAide": "",
    }


@pytest.mark.django_db
def test_only_executory_documents_are_published(tmp_path):
    """The Ville notified its arrêté to A, not yet the one to B."""
    monde = monde_pilotage()
    lignes = list(scdl.lignes_scdl(scdl.actes_scdl(financeur=monde.ville, annee=2015)))
    assert [(ligne[4], ligne[8], ligne[14]) for ligne in lignes] == [
        (monde.porteurs[0].nom, "1500.00", "0.08")  # 1 500 of 20 000 €, rounded half up
    ]
    assert scdl.actes_scdl(financeur=monde.ville, annee=2016).count() == 0


@pytest.mark.django_db
def test_a_financeur_without_siret_cannot_publish(client):
    financeur = FinanceurFactory(code="sans-siret", siret="")
    with pytest.raises(CommandError, match="n'a pas de SIRET valide"):
        call_command("export_scdl", "--financeur", "sans-siret", "--annee", "2015", "--out", "-")
    client.force_login(agent(Role.FINANCE, financeurs=[financeur]))
    reponse = client.get(reverse("pilotage:scdl"), {"financeur": financeur.pk, "annee": 2015}, follow=True)
    assert "n&#x27;a pas de SIRET valide" in reponse.content.decode()


@pytest.mark.django_db
def test_the_download_streams_the_same_file_for_the_financeur_s_staff_only(client, tmp_path):
    monde = monde_pilotage()
    chemin = tmp_path / "etat.csv"
    call_command("export_scdl", "--financeur", "etat", "--annee", "2015", "--out", str(chemin), stdout=io.StringIO())
    client.force_login(agent(Role.SIGNATAIRE, financeurs=[monde.etat]))
    reponse = client.get(reverse("pilotage:scdl"), {"financeur": monde.etat.pk, "annee": 2015})
    assert reponse.streaming and reponse["Content-Type"] == "text/csv; charset=utf-8"
    assert reponse["Content-Disposition"] == f'attachment; filename="{monde.etat.siret[:9]}_subventions_2015.csv"'
    assert b"".join(reponse.streaming_content) == chemin.read_bytes()
    assert reponse["X-SCDL-Lignes-Ecartees"] == "0"
    Porteur.objects.filter(pk=monde.porteurs[0].pk).update(siret="", siren="")
    reponse = client.get(reverse("pilotage:scdl"), {"financeur": monde.etat.pk, "annee": 2015})
    assert reponse["X-SCDL-Lignes-Ecartees"] == "1"
    client.force_login(agent(Role.SIGNATAIRE, financeurs=[monde.ville]))
    assert client.get(reverse("pilotage:scdl"), {"financeur": monde.etat.pk, "annee": 2015}).status_code == 404


@pytest.mark.django_db
def test_rows_are_streamed_by_three_queries_whatever_their_number(django_assert_num_queries):
    """Memory stays bounded and the cost flat: the documents, their actions (with their charges) and their payments,
    each read through a cursor in the file's order and merged — three queries however many rows and chunks."""
    monde = monde_pilotage(copies=5)
    actes = scdl.actes_scdl(financeur=monde.etat, annee=2015)
    assert actes.count() == 5
    with django_assert_num_queries(3):
        lignes = list(scdl.lignes_scdl(actes, taille=2))
    programme(monde)
    with django_assert_num_queries(3):
        plus = list(scdl.lignes_scdl(scdl.actes_scdl(financeur=monde.etat, annee=2015), taille=2))
    assert len(lignes) == 5 and len(plus) == 6
    # Chunks change nothing to the rows (merge of the three streams at chunk boundaries).
    assert plus == list(scdl.lignes_scdl(scdl.actes_scdl(financeur=monde.etat, annee=2015), taille=1000))
    assert len({ligne[3] for ligne in plus}) == 6 and {ligne[14] for ligne in plus} == {"0.40"}
    assert {(ligne[10], ligne[11]) for ligne in plus} == {("échelonné", "2015-07-20/2016-06-30")}


@pytest.mark.django_db
def test_dates_and_amounts_are_the_documents_own_whatever_is_remembered_between_rows(monkeypatch):
    """The rows are read as the database driver returns them and each distinct moment, date or amount is converted
    once: documents made executory on either side of midnight in Paris keep their own local date, order and amount,
    even when nothing is remembered from one row to the next."""
    monde = monde_pilotage(copies=3)
    actes = list(ActeAttribution.objects.filter(financeur=monde.etat).order_by("pk"))
    moments = [  # UTC: 23:30 on 1 July in Paris, 00:30 on 2 July, and the earliest, 09:00 on 1 July
        datetime(2015, 7, 1, 21, 30, tzinfo=UTC),
        datetime(2015, 7, 1, 22, 30, tzinfo=UTC),
        datetime(2015, 7, 1, 7, 0, tzinfo=UTC),
    ]
    for acte, moment, montant in zip(actes, moments, ("12000.00", "12000.50", "999.99"), strict=True):
        ActeAttribution.objects.filter(pk=acte.pk).update(executoire_le=moment, montant_total=Decimal(montant))
    attendu = [
        (actes[2].numero, "2015-07-01", "999.99"),
        (actes[0].numero, "2015-07-01", "12000.00"),
        (actes[1].numero, "2015-07-02", "12000.50"),
    ]
    lignes = list(scdl.lignes_scdl(scdl.actes_scdl(financeur=monde.etat, annee=2015), taille=2))
    assert [(ligne[3], ligne[2], ligne[8]) for ligne in lignes] == attendu
    monkeypatch.setattr(scdl, "MEMOIRE", 1)
    assert list(scdl.lignes_scdl(scdl.actes_scdl(financeur=monde.etat, annee=2015), taille=1)) == lignes


def test_schema_file_is_the_one_the_export_follows():
    assert SCHEMA.exists()
    assert scdl.NUMERAIRE in schema_scdl()["fields"][9]["constraints"]["enum"]


@pytest.mark.django_db
def test_a_porteur_without_siret_is_left_out_and_reported(tmp_path, capsys):
    """idBeneficiaire may stay empty only for an aid en nature to an association with an RNA (the schema): the
    documents of a porteur without SIRET are otherwise left out of the file, counted and listed by number."""
    monde = monde_pilotage()
    porteur = monde.porteurs[0]
    Porteur.objects.filter(pk=porteur.pk).update(siret="", siren="")
    acte = ActeAttribution.objects.get(financeur=monde.etat, porteur=porteur)
    assert scdl.ecartes(financeur=monde.etat, annee=2015) == [acte.numero]
    actes = scdl.actes_scdl(financeur=monde.etat, annee=2015)
    assert scdl.resume(actes)["n"] == 0 and list(scdl.lignes_scdl(actes)) == []
    chemin, sortie = tmp_path / "etat.csv", io.StringIO()
    call_command("export_scdl", "--financeur", "etat", "--annee", "2015", "--out", str(chemin), stdout=sortie)
    assert f"1 lignes écartées : bénéficiaire sans SIRET ({acte.numero})" in sortie.getvalue()
    assert "0 ligne(s) SCDL" in sortie.getvalue()
    assert chemin.read_bytes() == (",".join(scdl.COLONNES) + "\r\n").encode()
    assert _valider(chemin) == ([], [])
    # On stdout the file stays clean: the count goes to stderr.
    call_command("export_scdl", "--financeur", "etat", "--annee", "2015", "--out", "-")
    capture = capsys.readouterr()
    assert capture.out == ",".join(scdl.COLONNES) + "\r\n" and "1 lignes écartées" in capture.err
    # The same actions given en nature to an association with an RNA: published with its RNA and no SIRET.
    Demande.objects.filter(lignes_financement__acte_ligne__acte=acte).update(nature=NatureAide.EN_NATURE)
    assert scdl.ecartes(financeur=monde.etat, annee=2015) == []
    call_command("export_scdl", "--financeur", "etat", "--annee", "2015", "--out", str(chemin), stdout=io.StringIO())
    assert _valider(chemin) == ([], [])
    (ligne,) = csv.DictReader(io.StringIO(chemin.read_text(encoding="utf-8"), newline=""))
    assert (ligne["idBeneficiaire"], ligne["rnaBeneficiaire"], ligne["nature"]) == ("", porteur.rna, "aide en nature")
    # Without an RNA either, it is left out again.
    Porteur.objects.filter(pk=porteur.pk).update(rna="")
    assert scdl.ecartes(financeur=monde.etat, annee=2015) == [acte.numero]
