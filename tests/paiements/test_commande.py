"""`payments_export`: one liste of every due payment, its file written; run again with nothing new, it says so and
writes nothing; clear French errors."""

from __future__ import annotations

import csv
import datetime
import io
import re

import pytest
from django.core.management import CommandError, call_command
from lxml import etree

from subventions.paiements.models import ListePaiements, Paiement
from tests.paiements.aides import acte, avance, etat, recharger, ville
from tests.paiements.test_exports import XSD
from workflows.documents import document_courant

pytestmark = pytest.mark.django_db


def test_exports_every_due_payment_once_then_says_there_is_nothing_new(tmp_path, capsys):
    financeur = etat()
    actes = [acte(financeur, "1000.00"), acte(financeur, "2000.00")]
    sortie = tmp_path / "virements.xml"
    call_command("payments_export", "--financeur", "etat", "--format", "sepa", "--out", str(sortie))
    texte = capsys.readouterr().out
    liste = ListePaiements.objects.get()
    assert f"Liste {liste.numero} : 2 paiement(s), 1500.00 €" in texte
    assert sortie.read_bytes() == document_courant(liste, "liste_paiements_sepa").fichier.open("rb").read()
    etree.XMLSchema(etree.parse(str(XSD))).assertValid(etree.fromstring(sortie.read_bytes()))
    assert liste.cree_par is None
    assert {recharger(avance(a)).statut for a in actes} == {"exporte"}

    autre = tmp_path / "encore.xml"
    call_command("payments_export", "--financeur", str(financeur.pk), "--format", "sepa", "--out", str(autre))
    assert "Aucun paiement à payer pour État" in capsys.readouterr().out
    assert not autre.exists() and ListePaiements.objects.count() == 1


def test_due_before_keeps_later_payments_for_later(tmp_path, capsys):
    financeur = ville()
    tot, tard = acte(financeur, "1000.00"), acte(financeur, "1000.00")
    Paiement.objects.filter(pk=avance(tot).pk).update(echeance=datetime.date(2015, 6, 1))
    Paiement.objects.filter(pk=avance(tard).pk).update(echeance=datetime.date(2015, 9, 1))
    sortie = tmp_path / "liste.csv"
    options = ["--financeur", "ville-test", "--due-before", "2015-06-30", "--format", "csv", "--out", str(sortie)]
    call_command("payments_export", *options)
    lignes = list(csv.reader(io.StringIO(sortie.read_bytes().decode("utf-8-sig")), delimiter=";"))
    assert [ligne[0] for ligne in lignes[1:]] == [avance(tot).reference]
    assert recharger(avance(tard)).statut == "a_payer"


def test_blocked_payments_are_named_on_stderr(tmp_path, capsys):
    financeur = etat()
    acte(financeur, "1000.00")
    bloque = acte(financeur, "1000.00")
    bloque.porteur.__class__.objects.filter(pk=bloque.porteur_id).update(iban="")
    call_command("payments_export", "--financeur", "etat", "--format", "xlsx", "--out", str(tmp_path / "l.xlsx"))
    sortie = capsys.readouterr()
    assert f"Bloqué {avance(bloque).reference}" in sortie.err and "IBAN manquant" in sortie.err
    assert "1 paiement(s)" in sortie.out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--financeur", "region"], "Financeur inconnu : « region ». Codes connus : etat, ville-test."),
        (["--due-before", "31/12/2015"], "--due-before attend une date AAAA-MM-JJ"),
        (["--format", "pdf"], "Format inconnu : « pdf ». Formats possibles : csv, xlsx, sepa."),
        (["--financeur", "ville-test", "--format", "sepa"], "Le compte SEPA de Ville de Test"),
        (["--out", "/dossier/inexistant/liste.csv"], "n'existe pas"),
    ],
)
def test_clear_french_errors(tmp_path, arguments, message):
    etat(), ville()
    valeurs = {"--financeur": "etat", "--format": "csv", "--out": str(tmp_path / "l.csv")}
    for cle, valeur in zip(arguments[::2], arguments[1::2], strict=True):
        valeurs[cle] = valeur
    with pytest.raises(CommandError, match=re.escape(message)):
        call_command("payments_export", *[x for paire in valeurs.items() for x in paire])
    assert not ListePaiements.objects.exists()
