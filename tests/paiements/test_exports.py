"""The files of a liste read back: CSV for French spreadsheets, XLSX with typed cells and totals, SEPA pain.001.001.03
valid against its XSD with the right control sum; stored once, downloaded again byte for byte."""

from __future__ import annotations

import csv
import datetime
import hashlib
import io
import time
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
import sepaxml
from django.urls import reverse
from django.utils import timezone
from lxml import etree
from openpyxl import load_workbook

from associations.models import Porteur
from subventions.paiements import exports
from subventions.paiements.models import Echeancier, ListePaiements
from subventions.paiements.services import Criteres, PaiementRefuse, liste_creer
from tests.factories import PorteurFactory
from tests.paiements.aides import BIC_ETAT, IBAN_ETAT, IBAN_PORTEUR_2, acte, etat, finance
from workflows.documents import document_courant

pytestmark = pytest.mark.django_db

NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}
XSD = Path(sepaxml.__file__).parent / "schemas" / "pain.001.001.03.xsd"


@pytest.fixture
def monde():
    financeur = etat()
    un = acte(financeur, "12345.67", porteur=PorteurFactory(nom="Café associatif «Le Zinc» & Cie"))
    deux = acte(
        financeur, "3000.00", porteur=PorteurFactory(nom="=SOMME(A1)", iban=IBAN_PORTEUR_2, bic=""), exercice=2016
    )
    Echeancier.objects.filter(acte=un).update(engagement_juridique="2103456789")
    user = finance(financeur)
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=user).liste
    return {"financeur": financeur, "un": un, "deux": deux, "liste": liste, "user": user}


def _contenu(liste, nature: str) -> bytes:
    document = document_courant(liste, nature)
    with document.fichier.open("rb") as f:
        return f.read()


def test_csv_opens_in_a_french_spreadsheet(monde):
    brut = _contenu(monde["liste"], "liste_paiements_csv")
    assert brut.startswith(b"\xef\xbb\xbf"), "UTF-8 BOM"
    lignes = list(csv.reader(io.StringIO(brut.decode("utf-8-sig")), delimiter=";"))
    assert lignes[0] == exports.COLONNES
    par_ref = {ligne[0]: dict(zip(exports.COLONNES, ligne, strict=True)) for ligne in lignes[1:]}
    assert len(par_ref) == 2
    un = par_ref[f"{monde['un'].numero}-AV"]
    assert un["Montant (€)"] == "6172,84"
    assert un["Porteur"] == "Café associatif «Le Zinc» & Cie"
    assert un["Exercice"] == "2015" and un["Nature"] == "Avance"
    assert un["Échéance"] == timezone.localdate().strftime("%d/%m/%Y")
    assert un["IBAN"] == "FR7630001007941234567890185" and un["BIC"] == "BDFEFRPPCCT"
    assert un["SIRET"] == monde["un"].porteur.siret
    assert un["Engagement juridique"] == "2103456789"
    assert (un["Centre financier"], un["Domaine fonctionnel"], un["Activité"]) == (
        "0147-CDV-DR13",
        "0147-01",
        "014701011301",
    )
    deux = par_ref[f"{monde['deux'].numero}-AV"]
    assert deux["Porteur"] == "'=SOMME(A1)", "a name is never read as a formula"
    assert deux["Montant (€)"] == "1500,00" and deux["BIC"] == ""


def test_xlsx_has_typed_cells_and_a_totals_row(monde):
    classeur = load_workbook(io.BytesIO(_contenu(monde["liste"], "liste_paiements_xlsx")))
    feuille = classeur["Paiements"]
    rangees = list(feuille.iter_rows())
    assert [c.value for c in rangees[0]] == exports.COLONNES
    montant, echeance = exports.COLONNE_MONTANT, exports.COLONNE_ECHEANCE
    donnees = rangees[1:-1]
    assert len(donnees) == 2
    for rangee in donnees:
        assert rangee[montant].data_type == "n" and "€" in rangee[montant].number_format
        assert isinstance(rangee[echeance].value, datetime.datetime)
        assert rangee[echeance].number_format == "DD/MM/YYYY"
        assert rangee[3].value in (2015, 2016), "the exercice is a number"
    assert sorted(Decimal(str(r[montant].value)) for r in donnees) == [Decimal("1500.00"), Decimal("6172.84")]
    totaux = rangees[-1]
    assert totaux[0].value == "Total" and totaux[montant - 1].value == "2 paiement(s)"
    assert Decimal(str(totaux[montant].value)) == Decimal("7672.84") == monde["liste"].montant_total
    assert "€" in totaux[montant].number_format
    noms = [r[4].value for r in donnees]
    assert "'=SOMME(A1)" in noms and all(r[4].data_type == "s" for r in donnees)


def test_sepa_file_validates_against_the_pain_001_001_03_xsd(monde):
    brut = _contenu(monde["liste"], "liste_paiements_sepa")
    schema = etree.XMLSchema(etree.parse(str(XSD)))
    document = etree.fromstring(brut)
    schema.assertValid(document)
    entete = document.find("p:CstmrCdtTrfInitn/p:GrpHdr", NS)
    assert entete.findtext("p:MsgId", namespaces=NS) == monde["liste"].numero
    assert entete.findtext("p:NbOfTxs", namespaces=NS) == "2"
    assert Decimal(entete.findtext("p:CtrlSum", namespaces=NS)) == Decimal("7672.84")
    (bloc,) = document.findall("p:CstmrCdtTrfInitn/p:PmtInf", NS)
    assert Decimal(bloc.findtext("p:CtrlSum", namespaces=NS)) == Decimal("7672.84")
    assert bloc.findtext("p:Dbtr/p:Nm", namespaces=NS) == "DDFIP des Bouches-du-Rhone"
    assert bloc.findtext("p:DbtrAcct/p:Id/p:IBAN", namespaces=NS) == IBAN_ETAT
    assert bloc.findtext("p:DbtrAgt/p:FinInstnId/p:BIC", namespaces=NS) == BIC_ETAT
    transactions = {tx.findtext("p:PmtId/p:EndToEndId", namespaces=NS): tx for tx in bloc.findall("p:CdtTrfTxInf", NS)}
    un = transactions[f"{monde['un'].numero}-AV"]
    assert un.findtext("p:Cdtr/p:Nm", namespaces=NS) == "Cafe associatif Le Zinc Cie", "SEPA character set only"
    assert un.findtext("p:Amt/p:InstdAmt", namespaces=NS) == "6172.84"
    assert un.find("p:Amt/p:InstdAmt", NS).get("Ccy") == "EUR"
    assert un.findtext("p:CdtrAcct/p:Id/p:IBAN", namespaces=NS) == "FR7630001007941234567890185"
    assert un.findtext("p:RmtInf/p:Ustrd", namespaces=NS) == f"{monde['un'].numero} exercice 2015 Avance"
    deux = transactions[f"{monde['deux'].numero}-AV"]
    assert deux.find("p:CdtrAgt", NS) is None, "no BIC given: IBAN only"
    assert deux.findtext("p:Cdtr/p:Nm", namespaces=NS) == "SOMME(A1)"
    assert deux.findtext("p:RmtInf/p:Ustrd", namespaces=NS) == f"{monde['deux'].numero} exercice 2016 Avance"


def test_downloading_again_gives_the_same_bytes(client, monde):
    client.force_login(monde["user"])
    for format_, nature in [("csv", "csv"), ("xlsx", "xlsx"), ("sepa", "sepa")]:
        url = reverse("paiements:liste_telecharger", kwargs={"pk": monde["liste"].pk, "format": format_})
        premiere = b"".join(client.get(url).streaming_content)
        seconde = b"".join(client.get(url).streaming_content)
        document = document_courant(monde["liste"], f"liste_paiements_{nature}")
        assert premiere == seconde
        assert hashlib.sha256(premiere).hexdigest() == document.sha256


def _entete(**champs) -> exports.EnteteListe:
    valeurs = {
        "numero": "LP-1",
        "cree_le": datetime.datetime(2025, 1, 2, 10, 0, tzinfo=datetime.UTC),
        "date_execution": datetime.date(2025, 1, 2),
        "debiteur_nom": "DDFIP",
        "debiteur_iban": IBAN_ETAT,
        "debiteur_bic": BIC_ETAT,
    }
    return exports.EnteteListe(**(valeurs | champs))


def _ligne(**champs) -> exports.LigneExport:
    valeurs = {
        "reference": "ETAT-2015-0001-AV",
        "financeur": "État",
        "acte_numero": "ETAT-2015-0001",
        "exercice": 2015,
        "porteur": "Asso",
        "siret": "",
        "iban": "FR7630001007941234567890185",
        "bic": "",
        "nature": "Avance",
        "montant": Decimal("10.00"),
        "echeance": datetime.date(2025, 1, 2),
        "engagement_juridique": "",
        "centre_financier": "",
        "domaine_fonctionnel": "",
        "activite": "",
    }
    return exports.LigneExport(**(valeurs | champs))


def test_sepa_checks_every_iban_and_bic_with_schwifty_first():
    with pytest.raises(exports.ExportImpossible, match="IBAN invalide pour Asso"):
        exports.sepa_liste(_entete(), [_ligne(iban="FR7630001007941234567890186")])
    with pytest.raises(exports.ExportImpossible, match="BIC invalide"):
        exports.sepa_liste(_entete(debiteur_bic="XXXX"), [])


def test_a_sepa_file_the_xsd_refuses_is_never_returned():
    """The XSD check is strict: a name with no character of the SEPA set left (an empty <Nm>) or a negative amount
    makes a document pain.001.001.03 refuses, and the writer says which payment instead of returning it."""
    bonne = _ligne(reference="ETAT-2015-0001-AV")
    with pytest.raises(exports.ExportImpossible, match="pour le paiement ETAT-2015-0002-AV : .*}Nm'.*minLength"):
        exports.sepa_liste(_entete(), [bonne, _ligne(reference="ETAT-2015-0002-AV", porteur="جمعية الأمل")])
    with pytest.raises(exports.ExportImpossible, match="pour le paiement ETAT-2015-0003-AV : .*}InstdAmt'"):
        exports.sepa_liste(_entete(), [bonne, _ligne(reference="ETAT-2015-0003-AV", montant=Decimal("-20.00"))])
    with pytest.raises(exports.ExportImpossible, match="schéma pain.001.001.03 : .*}MsgId'"):
        exports.sepa_liste(_entete(numero=""), [bonne])


def test_the_lxml_check_refuses_what_sepaxml_would_refuse():
    valide = exports.sepa_liste(_entete(), [_ligne()])
    exports.sepa_valider(valide)  # no error
    abime = valide.replace(b"<IBAN>FR7630001007941234567890185</IBAN>", b"<IBAN>fr76 3000 1007</IBAN>")
    with pytest.raises(exports.ExportImpossible, match="pour le paiement ETAT-2015-0001-AV : .*}IBAN'.*pattern"):
        exports.sepa_valider(abime)
    with pytest.raises(sepaxml.validation.ValidationError):
        sepaxml.validation.try_valid_xml(abime, "pain.001.001.03")  # sepaxml's own (xmlschema) check agrees
    sans_nombre = valide.replace(b"<NbOfTxs>1</NbOfTxs>", b"", 1)  # a required element of the group header
    with pytest.raises(exports.ExportImpossible, match="schéma pain.001.001.03 : .*Expected is .*NbOfTxs"):
        exports.sepa_valider(sans_nombre)
    with pytest.raises(exports.ExportImpossible, match="illisible"):
        exports.sepa_valider(valide[:-20])


def test_sepa_export_does_not_run_sepaxmls_slow_xmlschema_check(monkeypatch):
    """The validation is lxml's (libxml2, C) on sepaxml's XSD; sepaxml's export(validate=True) would run the
    pure-Python xmlschema, 86 % of the export's time at 50 000 payments."""

    def interdit(*args, **kwargs):
        raise AssertionError("xmlschema validation called")

    monkeypatch.setattr(sepaxml.shared, "try_valid_xml", interdit)
    contenu = exports.sepa_liste(_entete(), [_ligne()])
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.fromstring(contenu))


def test_the_same_rows_give_the_same_bytes_in_every_format(monkeypatch):
    """A file written again (a lost download, a second worker) is identical: no clock, no random id inside. The XLSX
    zip entries and document properties carry the liste's date, not the time of writing."""
    entete, lignes = _entete(), [_ligne(), _ligne(reference="ETAT-2015-0002-AV", montant=Decimal("20.50"))]
    for ecrire in (exports.csv_liste, exports.xlsx_liste, exports.sepa_liste):
        premier = ecrire(entete, lignes)
        monkeypatch.setattr(time, "time", lambda: 2_000_000_000.0)  # 2033: what the writers must not use
        assert ecrire(entete, lignes) == premier, ecrire.__name__
        monkeypatch.undo()
    archive = zipfile.ZipFile(io.BytesIO(exports.xlsx_liste(entete, lignes)))
    assert {info.date_time for info in archive.infolist()} == {(2025, 1, 2, 10, 0, 0)}
    assert b"<dcterms:modified" in archive.read("docProps/core.xml")
    assert b"2025-01-02T10:00:00Z</dcterms:modified>" in archive.read("docProps/core.xml")


def test_csv_is_encoded_row_by_row_to_the_same_bytes():
    """Written through a text wrapper over a byte buffer: same bytes as encoding the whole text once (BOM first,
    CRLF, quotes and line breaks inside a field)."""
    lignes = [_ligne(porteur='Les "amis" ; du\nquartier — « Noailles »'), _ligne(porteur="Été", montant=Decimal("1"))]
    brut = exports.csv_liste(_entete(), lignes)
    texte = io.StringIO(newline="")
    writer = csv.writer(texte, delimiter=";", lineterminator="\r\n")
    writer.writerow(exports.COLONNES)
    for ligne in lignes:
        writer.writerow([*exports._valeurs(ligne)[:9], exports.montant_fr(ligne.montant), "02/01/2025",
                         *exports._valeurs(ligne)[11:]])  # fmt: skip
    assert brut == texte.getvalue().encode("utf-8-sig")
    assert brut.count(b"\xef\xbb\xbf") == 1


def test_xlsx_written_in_write_only_mode_keeps_its_layout():
    lignes = [_ligne(), _ligne(reference="ETAT-2015-0002-AV", montant=Decimal("20.50"))]
    feuille = load_workbook(io.BytesIO(exports.xlsx_liste(_entete(), lignes)))["Paiements"]
    assert feuille.freeze_panes == "A2", "the header row stays visible"
    assert feuille.column_dimensions["A"].width == len("Référence paiement") + 4
    assert feuille.column_dimensions["D"].width == 12 and feuille.column_dimensions["C"].width == 30
    rangees = list(feuille.iter_rows())
    assert len(rangees) == 4
    assert all(c.font.b for c in rangees[0]) and all(c.font.b for c in rangees[-1])
    assert not any(c.font.b for c in rangees[1])
    assert rangees[-1][exports.COLONNE_MONTANT].value == 30.5
    assert rangees[-1][exports.COLONNE_MONTANT - 1].value == "2 paiement(s)"


def test_a_porteur_name_outside_the_sepa_set_refuses_the_liste_and_marks_nothing():
    financeur = etat()
    objet = acte(financeur, "1000.00", porteur=PorteurFactory(nom="جمعية الأمل"))
    with pytest.raises(PaiementRefuse, match=f"pour le paiement {objet.numero}-AV"):
        liste_creer(criteres=Criteres(financeur=financeur), acteur=finance(financeur))
    assert objet.echeancier.paiements.get(nature="avance").statut == "a_payer"
    assert not ListePaiements.objects.exists()


def test_an_invalid_debtor_account_refuses_the_liste_and_marks_nothing():
    financeur = etat(code="region", nom="Région", sepa_iban="FR7630001007940000000000149")
    objet = acte(financeur, "1000.00")
    with pytest.raises(PaiementRefuse, match="IBAN invalide pour le financeur"):
        liste_creer(criteres=Criteres(financeur=financeur), acteur=finance(financeur))
    assert objet.echeancier.paiements.get(nature="avance").statut == "a_payer"


def test_a_porteur_iban_with_spaces_and_lower_case_is_sent_compact(monde):
    financeur = monde["financeur"]
    porteur = PorteurFactory()
    Porteur.objects.filter(pk=porteur.pk).update(iban="fr76 1007 1000 0100 0000 0000 140")
    acte(financeur, "100.00", porteur=porteur)
    liste = liste_creer(criteres=Criteres(financeur=financeur), acteur=monde["user"]).liste
    assert liste.lignes.get().iban == IBAN_PORTEUR_2
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.fromstring(_contenu(liste, "liste_paiements_sepa")))
