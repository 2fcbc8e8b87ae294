"""`seed_finance` after `seed_demo --scale marseille`: about half of the État's advances paid in 2015, comptes-rendus
filed in December 2015 — validated (solde due), one reduced, one reversement, one sent back, some awaiting — checked
from the rows; everything dated 2015, no email sent; a second run changes nothing."""

from __future__ import annotations

import time
from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.management import call_command
from django.db.models import Count

from subventions.bilans.models import CompteRendu, DecompteSolde
from subventions.campagnes.models import Campagne
from subventions.conventions.models import ActeAttribution, ActeLigne
from subventions.demo_finance import NB_EN_ATTENTE, seed_finance
from subventions.paiements.models import ListePaiements, Paiement, Reversement
from workflows.models import Courriel, Document, TransitionLog

PARIS = ZoneInfo("Europe/Paris")


def _etat() -> dict:
    return {
        "comptes_rendus": sorted(CompteRendu.objects.values_list("pk", "statut", "version", "montant_retenu")),
        "paiements": sorted(Paiement.objects.values_list("pk", "statut", "montant", "version")),
        "listes": ListePaiements.objects.count(),
        "decomptes": sorted(DecompteSolde.objects.values_list("acte_id", "montant_du")),
        "reversements": Reversement.objects.count(),
        "documents": Document.objects.count(),
        "journal": TransitionLog.objects.count(),
        "courriels": Courriel.objects.count(),
    }


@pytest.mark.django_db
def test_marseille_2015_finance(capsys):
    call_command("seed_demo", "--scale", "marseille")
    campagne = Campagne.objects.get(exercice=2015)
    debut = time.perf_counter()
    chiffres = seed_finance(campagne=campagne, domaine="demo.test")
    duree = time.perf_counter() - debut
    with capsys.disabled():
        print(f"\nseed_finance (avances, comptes-rendus, soldes, reversement) : {duree:.1f} s — {chiffres}")

    executoires = ActeAttribution.objects.filter(
        campagne=campagne, financeur__code="etat", statut__in=["signee", "notifiee"]
    )
    nb_actes = executoires.count()
    assert nb_actes >= 80
    # One compte-rendu per action of every executory État acte.
    assert chiffres["comptes_rendus"] == ActeLigne.objects.filter(acte__in=executoires).count()
    # About half of the advances paid, from one liste of 15/09/2015, paid on 05/10/2015; the others still due.
    liste = ListePaiements.objects.get()
    assert (liste.numero, liste.cree_le) == ("LP-ETAT-2015-0001", datetime(2015, 9, 15, 10, tzinfo=PARIS))
    avances = Paiement.objects.filter(echeancier__acte__in=executoires, nature="avance")
    assert chiffres["avances_payees"] == (nb_actes + 1) // 2 == liste.nb_paiements
    assert chiffres["avances_payees"] + chiffres["avances_a_payer"] == nb_actes
    assert set(avances.filter(statut="paye").values_list("reglement_date", flat=True)) == {date(2015, 10, 5)}

    # Eight actes settled: six in full, one reduced (small solde), one reversement.
    decomptes = list(DecompteSolde.objects.select_related("acte", "solde", "reversement"))
    assert len(decomptes) == 8
    assert (chiffres["soldes_a_payer"], chiffres["soldes_reduits"], chiffres["reversements"]) == (7, 1, 1)
    for d in decomptes:
        crs = list(CompteRendu.objects.filter(acte=d.acte))
        assert all(c.statut == "valide" for c in crs)
        assert d.deja_verse == (d.montant_attribue * Decimal("0.8")).quantize(Decimal("0.01"), ROUND_HALF_UP)
        assert d.montant_du == d.montant_attribue - sum(c.montant_accorde - c.montant_retenu for c in crs)
        for c in crs:
            attendu = c.montant_accorde
            if (c.cout_prevu - c.cout_reel) * 100 > 10 * c.cout_prevu:
                attendu = (c.montant_accorde * c.cout_reel / c.cout_prevu).quantize(Decimal("0.01"), ROUND_HALF_UP)
            assert c.montant_retenu == attendu
        if d.reversement is not None:
            assert d.solde is None and d.reversement.montant == d.deja_verse - d.montant_du > 0
            assert d.montant_du == (d.montant_attribue * Decimal("0.6")).quantize(Decimal("0.01"))
        else:
            assert d.solde.statut == "a_payer" and d.solde.montant == d.montant_du - d.deja_verse
    reduit = next(d for d in decomptes if d.solde is not None and d.montant_du < d.montant_attribue)
    assert reduit.montant_du == (reduit.montant_attribue * Decimal("0.85")).quantize(Decimal("0.01"), ROUND_HALF_UP)

    assert chiffres["comptes_rendus_a_corriger"] == 1
    assert chiffres["comptes_rendus_deposes"] >= NB_EN_ATTENTE
    assert chiffres["comptes_rendus_valides"] == CompteRendu.objects.filter(acte__decompte_solde__isnull=False).count()
    # A PDF per deposit, dated with it.
    depots = TransitionLog.objects.filter(content_type__model="compterendu", transition="deposer")
    documents = Document.objects.filter(nature="compte_rendu_financier")
    assert documents.count() == depots.count() > 0
    assert not documents.exclude(cree_le__year=2015).exists()
    # Everything the demo did happened in 2015, and no email goes out to the demo addresses.
    assert not TransitionLog.objects.filter(date__year__gt=2015).exists()
    assert not Courriel.objects.exclude(statut="envoye").exists()
    # Still a conventions demo: the État's actes keep their states.
    assert set(ActeAttribution.objects.filter(financeur__code="etat").values_list("statut", flat=True)) == {
        "signee",
        "signee_porteur",
        "envoyee",
    }
    assert CompteRendu.objects.values("acte").annotate(n=Count("pk")).count() == nb_actes

    avant = _etat()
    assert seed_finance(campagne=campagne, domaine="demo.test") == chiffres
    assert _etat() == avant
