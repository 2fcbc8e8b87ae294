"""The acte attributif PDF (convention, CPO, arrêté, avenant), read back with pypdf as a porteur or a payer would."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from pypdf import PdfReader

from subventions.comites.models import DecisionLigne, Seance
from subventions.conventions.models import ActeAttribution, ActeLigne
from subventions.conventions.pdf import acte_pdf, nom_fichier
from subventions.demandes.models import Demande, Indicateur, LigneBudget, LigneFinancement
from subventions.paiements.models import AcomptePrevu, Paiement
from subventions.paiements.services import echeancier_creer, echeancier_repartir
from subventions.referentiel.models import ContratDeVille, Financeur
from subventions.templatetags.subventions_tags import NBSP, formater_montant
from tests.conventions.aides import monde_de_test
from tests.factories import ObjectifFactory, PilierFactory, PorteurFactory, QPVFactory, UserFactory, siret_valide

pytestmark = pytest.mark.django_db


def _texte(pdf: bytes) -> str:
    """All pages, whitespace collapsed (table cells wrap; reportlab writes non-breaking spaces as spaces)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def _pages(pdf: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(pdf)).pages]


def _euros(montant: str) -> str:
    return formater_montant(Decimal(montant)).replace(NBSP, " ")


@pytest.fixture
def monde():
    campagne, etat, ville = monde_de_test()
    Financeur.objects.filter(pk=etat.pk).update(
        signataire_nom="Mme Marie Lambert",
        signataire_qualite="préfète déléguée pour l’égalité des chances",
        adresse="Place Félix Baret, 13006 Marseille",
        taux_avance=Decimal("50"),
    )
    etat.refresh_from_db()
    ContratDeVille.objects.filter(pk=campagne.contrat_id).update(
        nom="Contrat de ville de Marseille Provence Métropole", perimetre="Marseille", annee_debut=2015, annee_fin=2020
    )
    pilier = PilierFactory(contrat=campagne.contrat, numero=1, libelle="Cohésion sociale")
    return {
        "campagne": campagne,
        "etat": etat,
        "ville": ville,
        "objectif": ObjectifFactory(pilier=pilier, libelle="Favoriser la réussite éducative"),
        "qpv": QPVFactory(code="QP013001", nom="Belsunce"),
        "user": UserFactory(),
        "seance": Seance.objects.create(
            campagne=campagne, date=datetime.date(2015, 6, 9), kind="programmation", cree_par=UserFactory()
        ),
    }


def _ligne(monde, porteur, montant: str, intitule: str, *, financeur=None, budget: str = "40000.00"):
    """A deposited, granted action of `porteur` (objectif, QPV, indicator, budget) decided at the fixture's séance."""
    financeur = financeur or monde["etat"]
    campagne = monde["campagne"]
    demande = Demande.objects.create(
        campagne=campagne,
        porteur=porteur,
        cree_par=monde["user"],
        intitule=intitule,
        public_nombre=40,
        public_age_min=11,
        public_age_max=17,
        public_part_qpv=Decimal("85"),
        public_description="Collégiens du quartier",
        lieu="Centre social de la Belle de Mai",
        date_debut=datetime.date(2015, 1, 15),
        date_fin=datetime.date(2015, 12, 15),
    )
    Demande.objects.filter(pk=demande.pk).update(
        statut="conventionnee",
        numero=f"2015-{demande.pk:06d}",
        depose_le=datetime.datetime(2014, 12, 12, 10, 30, tzinfo=datetime.UTC),
    )
    demande.qpvs.set([monde["qpv"]])
    demande.objectifs.set([monde["objectif"]])
    Indicateur.objects.create(demande=demande, nom="Participants réguliers", cible="30")
    LigneBudget.objects.create(demande=demande, compte="64", montant=Decimal(budget))
    ligne = LigneFinancement.objects.create(demande=demande, financeur=financeur, montant_demande=Decimal(montant))
    LigneFinancement.objects.filter(pk=ligne.pk).update(statut="accordee", montant_accorde=Decimal(montant))
    DecisionLigne.objects.create(
        seance=monde["seance"], ligne=ligne, financeur=financeur, decision="accordee", montant=Decimal(montant)
    )
    return LigneFinancement.objects.get(pk=ligne.pk)


def _acte(monde, porteur, lignes, *, numero="ETAT-2015-0001", financeur=None, **champs) -> ActeAttribution:
    acte = ActeAttribution.objects.create(
        financeur=financeur or monde["etat"],
        porteur=porteur,
        campagne=monde["campagne"],
        exercice=champs.pop("exercice", 2015),
        nature=champs.pop("nature", "convention"),
        numero=numero,
        montant_total=sum((ligne.montant_accorde for ligne in lignes), Decimal("0")),
        est_avenant=champs.get("parent") is not None,
        **champs,
    )
    ActeLigne.objects.bulk_create(
        [ActeLigne(acte=acte, ligne=ligne, montant=ligne.montant_accorde) for ligne in lignes]
    )
    return acte


def _convention(monde, montants_intitules, **champs):
    porteur = champs.pop("porteur", None) or PorteurFactory(nom="Les Amis du Panier", sigle="LAP")
    lignes = [_ligne(monde, porteur, montant, intitule) for montant, intitule in montants_intitules]
    return _acte(monde, porteur, lignes, **champs)


TROIS = [
    ("12500.00", "Soutien scolaire Belsunce"),
    ("7000.50", "Atelier vélo solidaire"),
    ("3000.00", "Fête de quartier"),
]


def test_convention_lists_every_action_its_amount_and_the_total(monde):
    acte = _convention(monde, TROIS)
    texte = _texte(acte_pdf(acte))

    assert "Convention d’attribution de subvention" in texte
    assert "N° ETAT-2015-0001" in texte
    for montant, intitule in TROIS:
        assert intitule in texte
        assert _euros(montant) in texte
    assert f"Total {_euros('22500.50')}" in texte
    # Parties: the financeur with its signataire, the porteur with its identifiers and représentant légal.
    assert "représenté par Mme Marie Lambert, préfète déléguée pour l’égalité des chances" in texte
    assert "Les Amis du Panier (LAP), Association loi 1901" in texte
    assert acte.porteur.siret in texte and acte.porteur.rna in texte
    assert "représenté par Aïcha Durand, Présidente" in texte
    # Visas: the laws, the contrat de ville, the séance that granted the lines, the demandes.
    for visa in ("loi n° 2000-321 du 12 avril 2000", "décret n° 2001-495 du 6 juin 2001", "loi n° 2014-173"):
        assert visa in texte
    assert (
        "Vu le contrat de ville de Marseille Provence Métropole (périmètre : Marseille), conclu pour la période "
        "2015–2020" in texte
    )
    assert "Vu la décision du comité de programmation du 9 juin 2015" in texte
    numero = acte.lignes.first().ligne.demande.numero
    assert f"n° {numero} du 12 décembre 2014" in texte
    # Échéancier: 50 % at signature, the balance after the compte-rendu financier (CERFA 15059) due 30 June N+1.
    assert f"Avance (50 %) à la signature de la présente convention {_euros('11250.25')}" in texte
    assert "Solde (50 %) après réception et examen du compte rendu financier" in texte
    assert "CERFA n° 15059" in texte and "au plus tard le 30 juin 2016" in texte
    for article in ("Article 1er – Objet", "Article 2 – Durée", "Article 3 – Montant de la subvention",
                    "Article 4 – Modalités de versement", "Article 5 – Obligations du bénéficiaire",
                    "Article 6 – Excédent et reversement", "Article 7 – Résiliation",
                    "Article 8 – Données personnelles"):  # fmt: skip
        assert article in texte
    assert "Pour le bénéficiaire" in texte and "Pour le financeur" in texte


def test_annex_describes_each_action(monde):
    acte = _convention(monde, [("12500.00", "Soutien scolaire Belsunce")])
    texte = _texte(acte_pdf(acte))
    assert "Annexe à la convention n° ETAT-2015-0001" in texte
    assert "Pilier 1 — Cohésion sociale : Favoriser la réussite éducative" in texte
    assert "QP013001 — Belsunce" in texte
    assert "40 bénéficiaires, de 11 à 17 ans, dont 85 % résidant en quartier prioritaire" in texte
    assert "du 15/01/2015 au 15/12/2015" in texte
    assert f"Budget prévisionnel total de l’action {_euros('40000.00')}" in texte
    assert f"Subvention attribuée par État {_euros('12500.00')}" in texte
    assert "Part du budget de l’action 31,3 %" in texte  # 12 500 / 40 000
    assert "Participants réguliers — valeur cible : 30" in texte


def test_advance_is_rounded_to_the_cent_and_the_balance_completes_the_total(monde):
    Financeur.objects.filter(pk=monde["etat"].pk).update(taux_avance=Decimal("33.33"))
    acte = _convention(monde, TROIS)
    # 22 500,50 × 33,33 % = 7 499,416665 → 7 499,42; the balance is what remains, to the cent.
    assert echeancier_repartir(montant_total=Decimal("22500.50"), taux_avance=Decimal("33.33")) == [
        ("avance", 1, Decimal("7499.42")),
        ("solde", 1, Decimal("15001.08")),
    ]
    texte = _texte(acte_pdf(acte))
    assert f"Avance (33,33 %) à la signature de la présente convention {_euros('7499.42')}" in texte
    assert "Solde (66,67 %)" in texte and _euros("15001.08") in texte


def test_the_financeurs_acomptes_are_printed_as_the_payments_will_be_made(monde):
    """A financeur paying 30 % at signature, 40 % six months later and the rest after the compte rendu: the
    convention shows the three versements, to the cent, as the échéancier makes them when it becomes executory."""
    Financeur.objects.filter(pk=monde["etat"].pk).update(taux_avance=Decimal("30"))
    AcomptePrevu.objects.create(financeur=monde["etat"], rang=1, taux=Decimal("40"), delai_mois=6)
    acte = _convention(monde, TROIS)  # 22 500,50 €
    texte = _texte(acte_pdf(acte))
    assert f"Avance (30 %) à la signature de la présente convention {_euros('6750.15')}" in texte
    assert f"Acompte 1 (40 %) 6 mois après la signature de la présente convention {_euros('9000.20')}" in texte
    assert "Solde (30 %) après réception et examen du compte rendu financier" in texte
    assert _euros("6750.15") in texte
    # The payments made at signature are the same amounts.
    ActeAttribution.objects.filter(pk=acte.pk).update(
        statut="signee", executoire_le=datetime.datetime.now(datetime.UTC)
    )
    echeancier_creer(acte=ActeAttribution.objects.get(pk=acte.pk))
    montants = list(  # created in order: avance, acompte, solde
        Paiement.objects.filter(echeancier__acte=acte).order_by("pk").values_list("montant", flat=True)
    )
    assert montants == [Decimal("6750.15"), Decimal("9000.20"), Decimal("6750.15")]


def test_french_typography_round_trips(monde):
    porteur = PorteurFactory(nom="Association Cœur d’Œuvre — Solidarité Noailles", sigle="ACON")
    intitule = "« L’été des mômes » : sœurs, frères, 100 € et ça bouge à Noël"
    acte = _acte(monde, porteur, [_ligne(monde, porteur, "5000.00", intitule)])
    texte = _texte(acte_pdf(acte))
    assert intitule in texte
    assert "Association Cœur d’Œuvre — Solidarité Noailles" in texte
    assert "mise en œuvre du contrat de ville" in texte


def test_markup_in_user_text_is_printed_not_interpreted(monde):
    acte = _convention(monde, [("1000.00", "Parents & enfants <b>ensemble</b>")])
    assert "Parents & enfants <b>ensemble</b>" in _texte(acte_pdf(acte))


def test_a_long_convention_flows_onto_numbered_pages_each_with_the_number(monde):
    acte = _convention(monde, [("1000.00", f"Action de proximité n° {n:02d}") for n in range(40)])
    pdf = acte_pdf(acte)
    pages = _pages(pdf)
    total = len(pages)
    assert total >= 5
    for numero, page in enumerate(pages, start=1):
        assert f"Page {numero} / {total}" in page
        assert "ETAT-2015-0001" in page
    texte = _texte(pdf)
    for n in range(40):
        assert f"Action de proximité n° {n:02d}" in texte
    assert f"Total {_euros('40000.00')}" in texte


def test_an_arrete_is_titled_as_such_and_signed_by_the_financeur_alone(monde):
    acte = _convention(monde, [("3000.00", "Fête de quartier")], nature="arrete")
    texte = _texte(acte_pdf(acte))
    assert "Arrêté attributif de subvention" in texte and "ARRÊTE :" in texte
    assert "Mme Marie Lambert, préfète déléguée pour l’égalité des chances, pour le financeur État" in texte
    assert "Convention d’attribution" not in texte and "Il est convenu" not in texte
    assert "Une subvention est attribuée à Les Amis du Panier (LAP)" in texte
    assert "Avance (50 %) à la notification du présent arrêté" in texte
    assert "Notification et exécution" in texte and "Voies et délais de recours" in texte
    assert "Pour le financeur" in texte
    assert "Pour le bénéficiaire" not in texte and "lu et approuvé" not in texte


def test_an_avenant_names_its_parent_and_lists_only_the_lines_it_adds(monde):
    porteur = PorteurFactory(nom="Les Amis du Panier")
    convention = _acte(monde, porteur, [_ligne(monde, porteur, "30000.00", "Soutien scolaire Belsunce")])
    avenant = _acte(
        monde,
        porteur,
        [_ligne(monde, porteur, "4000.00", "Atelier vélo solidaire")],
        numero="ETAT-2015-0002",
        parent=convention,
    )
    pdf = acte_pdf(avenant)
    texte = _texte(pdf)
    assert "Avenant n° 1 à la convention n° ETAT-2015-0001" in texte
    assert "N° ETAT-2015-0002" in texte
    assert "Vu la convention n° ETAT-2015-0001" in texte
    assert "Atelier vélo solidaire" in texte and "Soutien scolaire Belsunce" not in texte
    assert f"porté de {_euros('30000.00')} à {_euros('34000.00')}" in texte
    assert "Toutes les autres stipulations de la convention n° ETAT-2015-0001 demeurent inchangées" in texte
    assert all("Avenant n° ETAT-2015-0002" in page for page in _pages(pdf))
    assert nom_fichier(avenant) == "avenant-ETAT-2015-0002.pdf"

    second = _acte(
        monde,
        porteur,
        [_ligne(monde, porteur, "1000.00", "Jardin partagé")],
        numero="ETAT-2015-0007",
        parent=convention,
    )
    texte = _texte(acte_pdf(second))
    assert "Avenant n° 2 à la convention n° ETAT-2015-0001" in texte
    assert f"porté de {_euros('34000.00')} à {_euros('35000.00')}" in texte
    # Rendering the first avenant again: a later avenant changes nothing in it.
    assert acte_pdf(avenant) == pdf


def test_an_avenant_to_an_arrete_is_an_arrete_modificatif(monde):
    porteur = PorteurFactory()
    arrete = _acte(monde, porteur, [_ligne(monde, porteur, "3000.00", "Fête de quartier")], nature="arrete")
    modificatif = _acte(
        monde,
        porteur,
        [_ligne(monde, porteur, "1500.00", "Jardin partagé")],
        numero="ETAT-2015-0002",
        nature="arrete",
        parent=arrete,
    )
    texte = _texte(acte_pdf(modificatif))
    assert "Arrêté modificatif n° 1 de l’arrêté attributif n° ETAT-2015-0001" in texte and "ARRÊTE :" in texte
    assert "subvention complémentaire au titre de l’arrêté attributif n° ETAT-2015-0001" in texte
    assert "Pour le bénéficiaire" not in texte and "Pour le financeur" in texte
    assert nom_fichier(modificatif) == "arrete-modificatif-ETAT-2015-0002.pdf"


def test_a_cpo_names_its_years_and_its_financial_avenant_the_year_it_funds(monde):
    porteur = PorteurFactory()
    cpo = _acte(monde, porteur, [_ligne(monde, porteur, "30000.00", "Médiation sociale")], annee_fin=2017)
    texte = _texte(acte_pdf(cpo))
    assert "Convention pluriannuelle d’objectifs 2015–2017" in texte
    assert "durée de trois ans, couvrant les exercices 2015 à 2017" in texte
    assert "Pour les exercices 2016 à 2017, le montant de la subvention est fixé chaque année par un avenant" in texte
    assert "jusqu’au 30 juin 2018 pour l’exercice 2017" in texte
    assert nom_fichier(cpo) == "convention-pluriannuelle-ETAT-2015-0001.pdf"

    avenant = _acte(
        monde,
        porteur,
        [_ligne(monde, porteur, "32000.00", "Médiation sociale, deuxième année")],
        numero="ETAT-2016-0001",
        parent=cpo,
        exercice=2016,
    )
    texte = _texte(acte_pdf(avenant))
    assert "Avenant financier n° 1 à la convention pluriannuelle d’objectifs n° ETAT-2015-0001" in texte
    assert "pour l’exercice 2016, deuxième année de la convention pluriannuelle d’objectifs" in texte
    assert "conclue pour les années 2015 à 2017" in texte
    assert "Il constitue le montant de la subvention attribuée pour l’exercice 2016" in texte
    assert "au plus tard le 30 juin 2017" in texte


def test_financeur_without_signataire_is_represented_neutrally(monde):
    ville = monde["ville"]
    porteur = PorteurFactory()
    acte = _acte(
        monde, porteur, [_ligne(monde, porteur, "2000.00", "Jardin partagé", financeur=ville)], financeur=ville
    )
    texte = _texte(acte_pdf(acte))
    assert "Ville de Test, ci-après « le financeur », " in texte
    assert "représenté par son représentant habilité" in texte


def test_same_acte_gives_the_same_bytes(monde):
    acte = _convention(monde, TROIS)
    assert acte_pdf(acte) == acte_pdf(ActeAttribution.objects.get(pk=acte.pk))


def test_font_is_embedded(monde):
    reader = PdfReader(io.BytesIO(acte_pdf(_convention(monde, TROIS))))
    for page in reader.pages:
        for ref in page["/Resources"]["/Font"].values():
            assert "+DejaVuSans" in ref.get_object()["/BaseFont"]


def test_query_count_does_not_grow_with_the_number_of_actions(monde):
    petit = _convention(monde, TROIS)
    grand = _convention(
        monde,
        [("1000.00", f"Action n° {n}") for n in range(30)],
        porteur=PorteurFactory(siret=siret_valide(9191)),
        numero="ETAT-2015-0002",
    )
    with CaptureQueriesContext(connection) as petit_requetes:
        acte_pdf(petit)
    with CaptureQueriesContext(connection) as grand_requetes:
        acte_pdf(grand)
    assert len(petit_requetes) == len(grand_requetes) <= 8


def test_file_name_is_ascii_safe():
    acte = ActeAttribution(nature="arrete", numero="VILLE-ÉTÉ/2015 n°7")
    assert nom_fichier(acte) == "arrete-VILLE-ETE-2015-n7.pdf"
    assert (
        nom_fichier(ActeAttribution(nature="convention", numero="ETAT-2015-0001")) == "convention-ETAT-2015-0001.pdf"
    )
