"""`import_subsidies` and the upload page: the two real files (figures recomputed here from the raw bytes), a round
trip to the SCDL export, a generated XLSX, re-import, dry run, atomicity and a file that cannot be read."""

from __future__ import annotations

import csv
import datetime
import io
import json
import re
import unicodedata
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import CommandError, call_command
from django.urls import reverse
from frictionless import Resource, Schema
from openpyxl import Workbook, load_workbook
from stdnum.fr import siret as stdnum_siret

from associations.models import Porteur
from subventions.campagnes.models import Campagne
from subventions.comptes.enums import Role
from subventions.comptes.models import User
from subventions.conventions.models import ActeAttribution, ActeLigne
from subventions.demandes.models import Demande, LigneFinancement
from subventions.paiements.models import Echeancier
from subventions.pilotage import services
from subventions.pilotage.models import ImportSubventions, LigneImportee
from subventions.pilotage.scdl import verifications_schema
from subventions.referentiel.models import Financeur
from tests.factories import FinanceurFactory, PorteurFactory, agent, siret_valide
from tests.pilotage.aides import DONNEES, schema_scdl

pytestmark = pytest.mark.django_db

HAUTE_GARONNE = DONNEES / "haute-garonne-2017-scdl.csv"
NIEVRE = DONNEES / "nievre-2016-subventions.csv"
MODELES = (Porteur, Financeur, Campagne, Demande, LigneFinancement, ActeAttribution, ActeLigne, LigneImportee, User)


def _etat_base() -> dict[str, int]:
    return {m.__name__: m.objects.count() for m in (*MODELES, ImportSubventions, Echeancier)}


def _importer(chemin, *args) -> str:
    sortie = io.StringIO()
    call_command("import_subsidies", str(chemin), *args, stdout=sortie)
    return sortie.getvalue()


# --- The raw files, read here without the importer --------------------------------------------------------------


def _haute_garonne() -> dict:
    """Rows whose beneficiary has a SIRET with valid keys (the only way to create a porteur), their porteurs and
    total; the English decimals of this file are read by Decimal directly."""
    lignes = list(csv.DictReader(io.StringIO(HAUTE_GARONNE.read_text(encoding="utf-8"), newline=""), delimiter=";"))
    bonnes = [ligne for ligne in lignes if stdnum_siret.is_valid(ligne["idBeneficiaire"])]
    return {
        "lues": len(lignes),
        "importees": len(bonnes),
        "porteurs": len({ligne["idBeneficiaire"] for ligne in bonnes}),
        "total": sum((Decimal(ligne["montant"]) for ligne in bonnes), Decimal("0")),
        "annees": sorted({ligne["dateConvention"][:4] for ligne in bonnes}),
        "attribuants": sorted({ligne["idAttribuant"] for ligne in bonnes}),
    }


def _cle_nom(nom: str) -> str:
    """Upper case, no accent ("Cœur" is "COEUR"), letters and digits separated by single spaces."""
    sans_accent = unicodedata.normalize("NFKD", nom.replace("œ", "oe")).encode("ascii", "ignore").decode()
    return " ".join(re.sub(r"[^A-Z0-9]", " ", sans_accent.upper()).split())


def _nievre(connus: set[str] = frozenset(), ambigus: set[str] = frozenset()) -> dict:
    """No SIRET in this file: a row imports when its amount is digits (grouped by non-breaking spaces; "NC", "SEM",
    "ODHLM" or nothing are not amounts) and its beneficiary's name is not shared by several porteurs (`ambigus`); it
    goes to the porteur of that name when one is known (`connus`), otherwise to a porteur created without SIRET, one
    per normalised name."""
    lignes = list(csv.DictReader(io.StringIO(NIEVRE.read_bytes().decode("latin-1"), newline=""), delimiter=","))
    lisibles = [ligne for ligne in lignes if ligne["SUB_MONTANT"].replace("\xa0", "").isdigit()]
    bonnes = [
        (_cle_nom(ligne["ATTRIB_NOM"]), Decimal(ligne["SUB_MONTANT"].replace("\xa0", "")))
        for ligne in lisibles
        if _cle_nom(ligne["ATTRIB_NOM"]) not in ambigus
    ]
    return {
        "lues": len(lignes),
        "importees": len(bonnes),
        "crees": len({nom for nom, _m in bonnes if nom not in connus}),
        "rapproches": len({nom for nom, _m in bonnes if nom in connus}),
        "total": sum((m for _n, m in bonnes), Decimal("0")),
        "total_connus": sum((m for nom, m in bonnes if nom in connus), Decimal("0")),
        "ambigues": len(lisibles) - len(bonnes),
        "montants_illisibles": len(lignes) - len(lisibles),
    }


# --- Real files ---------------------------------------------------------------------------------------------------


def test_haute_garonne_imports_with_its_report(tmp_path):
    attendu = _haute_garonne()
    rapport_json = tmp_path / "rapport.json"
    sortie = _importer(HAUTE_GARONNE, "--report", str(rapport_json))
    rapport = json.loads(rapport_json.read_text(encoding="utf-8"))
    assert (rapport["lignes_lues"], rapport["lignes_importees"]) == (attendu["lues"], attendu["importees"])
    assert rapport["lignes_rejetees"] == attendu["lues"] - attendu["importees"] == 1
    assert rapport["rejets"] == [{"ligne": 35, "motif": "Bénéficiaire absent (ni nom ni SIRET valide)."}]
    assert rapport["porteurs_crees"] == attendu["porteurs"] == Porteur.objects.count()
    assert Decimal(rapport["montant_importe"]) == attendu["total"]
    assert rapport["campagnes_creees"] == [int(a) for a in attendu["annees"]]
    assert "Lignes lues : 69 ; importées : 68 ; déjà importées : 0 ; rejetées : 1" in sortie
    assert "ligne 35 : Bénéficiaire absent" in sortie
    # The two communes are created with their SIRET; every row is a validated (then conventionnée) action.
    assert sorted(Financeur.objects.values_list("siret", flat=True)) == attendu["attribuants"]
    lignes = LigneFinancement.objects.all()
    assert lignes.count() == attendu["importees"]
    assert sum(lf.montant_accorde for lf in lignes) == attendu["total"]
    assert set(Demande.objects.values_list("statut", flat=True)) == {"soldee"}  # followed up outside the product
    # Normal grouping: one document per financeur, porteur and year; above 23 000 € a convention.
    actes = ActeAttribution.objects.all()
    groupes = {(lf.financeur_id, lf.demande.porteur_id, lf.demande.campagne.exercice) for lf in lignes}
    assert actes.count() == len(groupes)
    assert set(actes.filter(montant_total__gt=23000).values_list("nature", flat=True)) == {"convention"}
    assert set(actes.filter(montant_total__lte=23000).values_list("nature", flat=True)) == {"arrete"}
    assert set(actes.values_list("statut", flat=True)) == {"soldee"}
    assert not Echeancier.objects.exists(), "history: nothing becomes due"
    # The executory date is the convention's.
    roques_2015 = actes.filter(exercice=2015).first()
    assert roques_2015.executoire_le.date() == datetime.date(2015, 1, 20)


def _nievre_connus() -> tuple[Porteur, set[str], set[str]]:
    """UFOLEP is registered with its SIRET; two porteurs are named "Secours populaire français" (one imported earlier
    without SIRET): a row with that name is ambiguous."""
    ufolep = PorteurFactory(nom="Ufolep")
    PorteurFactory(nom="SECOURS POPULAIRE FRANCAIS")
    PorteurFactory(nom="Secours populaire français", siret="", rna="")
    return ufolep, {_cle_nom("UFOLEP")}, {_cle_nom("SECOURS POPULAIRE FRANCAIS")}


def test_nievre_creates_the_porteurs_it_cannot_match_without_siret(tmp_path):
    """The Nièvre's file has no SIRET at all: each row goes to the porteur of its name, created without SIRET (one per
    name) when none is known; a name two porteurs share is rejected; unreadable amounts are rejected."""
    ufolep, connus, ambigus = _nievre_connus()
    attendu = _nievre(connus, ambigus)
    assert (attendu["lues"], attendu["importees"], attendu["ambigues"], attendu["montants_illisibles"]) == (
        97,
        89,
        1,
        7,
    )
    rapport_json = tmp_path / "rapport.json"
    sortie = _importer(NIEVRE, "--report", str(rapport_json))
    rapport = json.loads(rapport_json.read_text(encoding="utf-8"))
    assert (rapport["lignes_lues"], rapport["lignes_importees"]) == (attendu["lues"], attendu["importees"])
    assert rapport["porteurs_crees"] == rapport["porteurs_crees_sans_siret"] == attendu["crees"] == 88
    assert rapport["porteurs_rapproches_nom"] == attendu["rapproches"] == 1
    assert Decimal(rapport["montant_importe"]) == attendu["total"]
    assert rapport["format"] == "CSV (Windows-1252, séparateur virgule)"
    assert f"Porteurs créés sans SIRET : {attendu['crees']}" in sortie
    # One porteur per name, without SIRET nor SIREN; the two that existed are untouched.
    assert Porteur.objects.filter(siret="", siren="").count() == attendu["crees"] + 1
    assert Porteur.objects.count() == attendu["crees"] + 3
    assert LigneFinancement.objects.filter(demande__porteur=ufolep).count() == 1
    motifs = {r["ligne"]: r["motif"] for r in rapport["rejets"]}
    assert len(motifs) == attendu["ambigues"] + attendu["montants_illisibles"]
    assert motifs[8] == "Montant illisible « NC »."
    (ambigu,) = [m for m in motifs.values() if "porteurs portent le nom" in m]
    assert ambigu.startswith("Sans SIRET valide, et 2 porteurs portent le nom « Secours Populaire Français »")
    avertissements = {}
    for a in rapport["avertissements"]:
        avertissements.setdefault(a["ligne"], []).append(a["message"])
    assert "Porteur « AGORA » créé sans SIRET : SIRET à compléter" in " ".join(avertissements[2])
    a_completer = [n for n, messages in avertissements.items() if any("créé sans SIRET" in m for m in messages)]
    assert len(a_completer) == attendu["importees"] - attendu["rapproches"]
    # The Département is created from the file: a SIREN is not a SIRET, which the report says.
    departement = Financeur.objects.get()
    assert (departement.type, departement.siret) == ("departement", "")
    assert any("SIREN (9 chiffres)" in a["message"] for a in rapport["avertissements"])


def test_nievre_imported_again_creates_nothing():
    _nievre_connus()
    premier = services.subventions_importer(contenu=NIEVRE.read_bytes(), nom_fichier=NIEVRE.name)
    avant = _etat_base()
    second = services.subventions_importer(contenu=NIEVRE.read_bytes(), nom_fichier=NIEVRE.name)
    assert (second.lignes_importees, second.lignes_deja_importees) == (0, premier.lignes_importees)
    assert (second.porteurs_crees, second.porteurs_crees_sans_siret) == (0, 0)
    apres = _etat_base()
    assert {k: v for k, v in apres.items() if k != "ImportSubventions"} == {
        k: v for k, v in avant.items() if k != "ImportSubventions"
    }


def test_nievre_round_trip_publishes_only_the_rows_whose_porteur_has_a_siret(tmp_path):
    """After the import the Département's SIRET is filled in (the report asks for it). The SCDL export then holds
    the rows whose porteur has a SIRET — here UFOLEP's, registered beforehand: the file itself gives none — and lists
    the others' documents as left out; completing a porteur's SIRET brings its row in."""
    _ufolep, connus, ambigus = _nievre_connus()
    attendu = _nievre(connus, ambigus)
    _importer(NIEVRE)
    departement = Financeur.objects.get()
    departement.siret = siret_valide(58)
    departement.save()
    descripteur = schema_scdl()

    def exporter(nom: str) -> tuple[list[dict], str]:
        chemin, sortie = tmp_path / nom, io.StringIO()
        call_command("export_scdl", "--financeur", departement.code, "--annee", "2016", "--out", str(chemin),
                     stdout=sortie)  # fmt: skip
        rapport = Resource(path=chemin.name, basepath=str(tmp_path), schema=Schema.from_descriptor(descripteur))
        resultat = rapport.validate()
        assert resultat.valid, resultat.flatten(["rowNumber", "fieldName", "type", "note"])
        with chemin.open(encoding="utf-8", newline="") as fichier:
            lignes = list(csv.DictReader(fichier))
        assert verifications_schema(lignes, descripteur) == []
        return lignes, sortie.getvalue()

    lignes, sortie = exporter("avant.csv")
    assert sum((Decimal(ligne["montant"]) for ligne in lignes), Decimal("0")) == attendu["total_connus"] > 0
    assert [ligne["nomBeneficiaire"] for ligne in lignes] == ["Ufolep"]
    sans_siret = ActeAttribution.objects.filter(porteur__siret="")
    assert sans_siret.count() == attendu["crees"]
    assert f"{attendu['crees']} lignes écartées : bénéficiaire sans SIRET (" in sortie
    assert all(numero in sortie for numero in sans_siret.values_list("numero", flat=True))
    # The SIRET of AGORA is completed: its subsidy is published at the next export.
    agora = Porteur.objects.get(nom="AGORA")
    agora.siret = siret_valide(4242)
    agora.save()
    lignes, sortie = exporter("apres.csv")
    montant_agora = ActeAttribution.objects.get(porteur=agora).montant_total
    assert (
        sum((Decimal(ligne["montant"]) for ligne in lignes), Decimal("0")) == attendu["total_connus"] + montant_agora
    )
    assert f"{attendu['crees'] - 1} lignes écartées" in sortie
    assert {ligne["idBeneficiaire"] for ligne in lignes} == {_ufolep.siret, agora.siret}


def test_a_malformed_siret_is_not_trusted_and_its_row_creates_the_porteur_by_name():
    contenu = (
        b"nomAttribuant;idAttribuant;dateConvention;nomBeneficiaire;idBeneficiaire;objet;montant\n"
        b"Ville;21310458100011;2017-04-13;Judo club;3.12345678E+13;Tatamis;500\n"
        b"Ville;21310458100011;2017-05-13;JUDO-CLUB;;Kimonos;250\n"
    )
    rapport = services.subventions_importer(contenu=contenu, nom_fichier="x.csv")
    assert (rapport.lignes_importees, rapport.porteurs_crees, rapport.porteurs_crees_sans_siret) == (2, 1, 1)
    cree = Porteur.objects.get()
    assert (cree.nom, cree.siret) == ("Judo club", "")
    messages = {a["ligne"]: [] for a in rapport.avertissements}
    for a in rapport.avertissements:
        messages[a["ligne"]].append(a["message"])
    assert any("écrit comme un nombre à virgule" in m for m in messages[2])
    assert all(any("créé sans SIRET : SIRET à compléter" in m for m in messages[n]) for n in (2, 3))
    assert ActeAttribution.objects.get().montant_total == Decimal("750.00")


def test_round_trip_import_scdl_export_same_total(tmp_path):
    attendu = _haute_garonne()
    _importer(HAUTE_GARONNE)
    descripteur = schema_scdl()
    schema = Schema.from_descriptor(descripteur)
    total, lignes_scdl = Decimal("0"), 0
    for financeur in Financeur.objects.all():
        annees = ActeAttribution.objects.filter(financeur=financeur).values_list("exercice", flat=True)
        for annee in sorted(set(annees)):
            chemin = tmp_path / f"{financeur.code}-{annee}.csv"
            call_command("export_scdl", "--financeur", financeur.code, "--annee", str(annee), "--out", str(chemin),
                         stdout=io.StringIO())  # fmt: skip
            rapport = Resource(path=chemin.name, basepath=str(tmp_path), schema=schema).validate()
            assert rapport.valid, rapport.flatten(["rowNumber", "fieldName", "type", "note"])
            with chemin.open(encoding="utf-8", newline="") as fichier:
                lignes = list(csv.DictReader(fichier))
            assert verifications_schema(lignes, descripteur) == []
            total += sum((Decimal(ligne["montant"]) for ligne in lignes), Decimal("0"))
            lignes_scdl += len(lignes)
    assert total == attendu["total"]
    assert lignes_scdl == ActeAttribution.objects.count()


def test_importing_the_same_file_again_creates_nothing():
    premier = services.subventions_importer(contenu=HAUTE_GARONNE.read_bytes(), nom_fichier="hg.csv")
    avant = _etat_base()
    second = services.subventions_importer(contenu=HAUTE_GARONNE.read_bytes(), nom_fichier="hg.csv")
    apres = _etat_base()
    assert (second.lignes_importees, second.lignes_deja_importees) == (0, premier.lignes_importees)
    assert (second.porteurs_crees, second.financeurs_crees, second.campagnes_creees) == (0, [], [])
    # Only the journal records the second attempt.
    assert {k: v for k, v in apres.items() if k != "ImportSubventions"} == {
        k: v for k, v in avant.items() if k != "ImportSubventions"
    }
    assert apres["ImportSubventions"] == avant["ImportSubventions"] + 1


def test_two_identical_rows_stay_two():
    ligne = "Ville;21310458100011;2017-04-13;Judo;48435336200011;Subvention;500\n"
    contenu = ("nomAttribuant;idAttribuant;dateConvention;nomBeneficiaire;idBeneficiaire;objet;montant\n"
               + ligne * 2).encode()  # fmt: skip
    assert services.subventions_importer(contenu=contenu, nom_fichier="x.csv").lignes_importees == 2
    again = services.subventions_importer(contenu=contenu, nom_fichier="x.csv")
    assert (again.lignes_importees, again.lignes_deja_importees) == (0, 2)
    assert ActeLigne.objects.count() == 2 and ActeAttribution.objects.get().montant_total == Decimal("1000.00")


def test_dry_run_writes_nothing_and_reports_the_same():
    avant = _etat_base()
    sortie = _importer(HAUTE_GARONNE, "--dry-run")
    assert _etat_base() == avant
    assert "Lignes lues : 69 ; importées : 68" in sortie
    assert "Simulation (--dry-run) : rien n'a été enregistré." in sortie


def test_a_failure_leaves_nothing(monkeypatch):
    def panne(**kwargs):
        raise RuntimeError("panne au milieu de l'import")

    monkeypatch.setattr(services, "conventions_batir", panne)
    avant = _etat_base()
    with pytest.raises(RuntimeError, match="panne"):
        _importer(HAUTE_GARONNE)
    assert _etat_base() == avant


def test_a_file_that_cannot_be_read_changes_nothing(tmp_path):
    chemin = tmp_path / "liste.csv"
    chemin.write_text("nom;prénom\nDupont;Jean\n", encoding="utf-8")
    avant = _etat_base()
    with pytest.raises(CommandError, match="Colonnes non reconnues.*Rien n'a été importé"):
        _importer(chemin)
    assert _etat_base() == avant


def _classeur(lignes: list[list]) -> bytes:
    classeur = Workbook()
    feuille = classeur.active
    feuille.append(["nomAttribuant", "idAttribuant", "dateConvention", "referenceDecision", "nomBeneficiaire",
                    "idBeneficiaire", "rnaBeneficiaire", "objet", "montant", "nature"])  # fmt: skip
    for ligne in lignes:
        feuille.append(ligne)
    sortie = io.BytesIO()
    classeur.save(sortie)
    return sortie.getvalue()


def test_generated_xlsx_with_a_forced_financeur(tmp_path):
    etat = FinanceurFactory(code="etat", nom="État")
    connu = PorteurFactory(nom="Maison pour tous Belle de Mai")
    nouveau = siret_valide(777)
    jour = datetime.date(2016, 3, 1)
    chemin = tmp_path / "programme-2016.xlsx"
    chemin.write_bytes(
        _classeur(
            [
                ["", "", jour, "D-1", "Centre social Nord", nouveau, "W133000001", "Soutien scolaire", 12000.5, ""],
                ["", "", jour, "D-2", "Centre social Nord", nouveau, "", "Ateliers", "3 000,00", ""],
                ["", "", jour, "D-3", "MAISON POUR TOUS BELLE DE MAI", "3.12345678E+13", "", "Sport", 2500, ""],
                ["", "", jour, "D-4", "Maison pour tous Belle de Mai", connu.siret, "", "Lecture", 1000, ""],
                ["", "", jour, "D-5", "Inconnue", "", "", "Sorties", "NC", ""],
            ]
        )
    )
    sortie = _importer(chemin, "--financeur", "etat")
    rapport = ImportSubventions.objects.get().rapport
    assert (rapport["lignes_importees"], rapport["lignes_rejetees"]) == (4, 1)
    assert rapport["format"] == "XLSX"
    assert Decimal(rapport["montant_importe"]) == Decimal("18500.50")
    assert (rapport["porteurs_crees"], rapport["porteurs_rapproches_siret"], rapport["porteurs_rapproches_nom"]) == (
        1, 1, 1,
    )  # fmt: skip
    ligne_4 = " ".join(a["message"] for a in rapport["avertissements"] if a["ligne"] == 4)
    assert "SIRET « 3.12345678E+13 » écrit comme un nombre à virgule" in ligne_4 and "pas retenu" in ligne_4
    assert f"rapproché par le nom de « {connu.nom} » (SIRET {connu.siret})" in ligne_4
    assert "ligne 4 : SIRET « 3.12345678E+13 »" in sortie
    assert {r["ligne"]: r["motif"] for r in rapport["rejets"]} == {6: "Montant illisible « NC »."}
    cree = Porteur.objects.get(siret=nouveau)
    assert (cree.nom, cree.rna) == ("Centre social Nord", "W133000001")
    # Every row to the forced financeur; the new porteur's two actions (15 000,50 €) make one arrêté (under the
    # 23 000 € threshold).
    assert set(LigneFinancement.objects.values_list("financeur_id", flat=True)) == {etat.pk}
    acte = ActeAttribution.objects.get(porteur=cree)
    assert (acte.nature, acte.montant_total, acte.lignes.count()) == ("arrete", Decimal("15000.50"), 2)
    assert ActeAttribution.objects.get(porteur=connu).montant_total == Decimal("3500.00")


# --- Upload page ----------------------------------------------------------------------------------------------------


def _envoyer(client, contenu: bytes, nom: str = "hg.csv", **champs):
    return client.post(
        reverse("pilotage:imports"), {"fichier": SimpleUploadedFile(nom, contenu), **champs}, follow=False
    )


def test_upload_simulation_then_import(client):
    admin = agent(Role.ADMINISTRATEUR, tous=True)
    client.force_login(admin)
    assert client.get(reverse("pilotage:imports")).status_code == 200
    simulation = _envoyer(client, HAUTE_GARONNE.read_bytes(), simulation="on")
    assert simulation.status_code == 200
    page = simulation.content.decode()
    assert "Simulation : rien n'a été enregistré" in page and "Bénéficiaire absent" in page
    assert not Demande.objects.exists() and not ImportSubventions.objects.exists()
    reponse = _envoyer(client, HAUTE_GARONNE.read_bytes())
    objet = ImportSubventions.objects.get()
    assert reponse.status_code == 302 and reponse["Location"] == reverse("pilotage:import_detail", args=[objet.pk])
    assert (objet.par, objet.lignes_importees, objet.lignes_rejetees) == (admin, 68, 1)
    detail = client.get(reponse["Location"]).content.decode()
    assert "Bénéficiaire absent" in detail and objet.sha256 in detail
    rapport = client.get(reverse("pilotage:import_rapport", args=[objet.pk, "json"]))
    assert json.loads(rapport.content)["lignes_importees"] == 68
    tableur = client.get(reverse("pilotage:import_rapport", args=[objet.pk, "xlsx"]))
    feuille = load_workbook(io.BytesIO(tableur.content)).active
    assert [c.value for c in feuille[2]][:2] == [35, "rejetée"]
    texte = client.get(reverse("pilotage:import_rapport", args=[objet.pk, "csv"])).content
    assert texte.startswith(b"\xef\xbb\xbfLigne;Nature;Message\r\n35;rejet")


def test_unreadable_upload_is_refused_with_a_message(client):
    client.force_login(agent(Role.ADMINISTRATEUR, tous=True))
    reponse = _envoyer(client, b"rien a voir", nom="notes.txt")
    assert reponse.status_code == 200
    assert "Rien n&#x27;a été importé" in reponse.content.decode()
    assert not ImportSubventions.objects.exists()


def test_an_administrateur_of_one_financeur_imports_for_it_only(client):
    etat, ville = FinanceurFactory(code="etat"), FinanceurFactory(code="ville")
    admin = agent(Role.ADMINISTRATEUR, financeurs=[etat])
    client.force_login(admin)
    # Without a financeur (the file's attribuants would be created) or with another's: refused by the form.
    for champs in ({}, {"financeur": ville.pk}):
        reponse = _envoyer(client, HAUTE_GARONNE.read_bytes(), **champs)
        assert reponse.status_code == 200 and not Demande.objects.exists()
    reponse = _envoyer(client, HAUTE_GARONNE.read_bytes(), financeur=etat.pk)
    assert reponse.status_code == 302
    assert set(LigneFinancement.objects.values_list("financeur_id", flat=True)) == {etat.pk}
    # An import of every financeur (by another administrateur) is not shown to this one.
    autre = services.subventions_importer(
        contenu=HAUTE_GARONNE.read_bytes(), nom_fichier="autre.csv", acteur=agent(Role.ADMINISTRATEUR, tous=True)
    )
    assert client.get(reverse("pilotage:import_detail", args=[autre.import_id])).status_code == 404
    assert "autre.csv" not in client.get(reverse("pilotage:imports")).content.decode()
