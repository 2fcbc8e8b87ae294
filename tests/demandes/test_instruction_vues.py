"""The instructeurs' pages: the queue (scope, filters, counts, sort, pages, query cost), assignment, recevabilité,
avis per financeur line, internal notes and messages, pièces."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from subventions.comptes.enums import Role
from subventions.demandes.models import Demande, LigneBudget, LigneFinancement, Message, NoteInterne
from tests.demandes.aides_vues import texte
from tests.factories import (
    FinanceurFactory,
    ObjectifFactory,
    PilierFactory,
    PorteurFactory,
    QPVFactory,
    TerritoireFactory,
    UserFactory,
    agent,
    demande_complete,
)

pytestmark = pytest.mark.django_db


def forcer(demande: Demande, statut: str) -> Demande:
    Demande.objects.filter(pk=demande.pk).update(statut=statut)
    return Demande.objects.get(pk=demande.pk)


def construire_monde() -> dict:
    """A deposited demande asking the État 8 000 € and the Ville 1 000 € (budget 10 000 €), in territoire `nord`;
    instructeurs of the État, of the Ville, of another financeur and of the État in another territoire."""
    demande = demande_complete(intitule="Ateliers d'écriture du Panier")
    etat = demande.campagne.financeurs.get(code="etat")
    ville = demande.campagne.financeurs.get(code="ville-test")
    LigneFinancement.objects.filter(demande=demande, financeur=ville).update(montant_demande=Decimal("1000.00"))
    LigneBudget.objects.filter(demande=demande, compte="75").update(montant=Decimal("1000.00"))
    nord = TerritoireFactory(contrat=demande.campagne.contrat, nom="Nord")
    nord.qpvs.set(demande.qpvs.all())
    Demande.objects.filter(pk=demande.pk).update(
        statut="deposee", numero=f"{demande.campagne.exercice}-000001", depose_le=timezone.now()
    )
    return {
        "demande": Demande.objects.get(pk=demande.pk),
        "campagne": demande.campagne,
        "etat": etat,
        "ville": ville,
        "nord": nord,
        "rl": demande.cree_par,
        "instr_etat": agent(Role.INSTRUCTEUR, financeurs=[etat]),
        "instr_etat_nord": agent(Role.INSTRUCTEUR, financeurs=[etat], territoires=[nord]),
        "instr_ville": agent(Role.INSTRUCTEUR, financeurs=[ville]),
        "instr_autre_financeur": agent(Role.INSTRUCTEUR, financeurs=[FinanceurFactory()]),
        "instr_autre_territoire": agent(Role.INSTRUCTEUR, financeurs=[etat], territoires=[TerritoireFactory()]),
    }


@pytest.fixture
def monde():
    return construire_monde()


_compteur = iter(range(100, 100000))


def demande_file(campagne, financeur, montant="1000", *, statut="deposee", porteur=None, cree_par=None, **champs):
    """A light deposited demande (no pièces) asking `montant` of `financeur`."""
    n = next(_compteur)
    demande = Demande.objects.create(
        campagne=campagne,
        porteur=porteur or PorteurFactory(),
        cree_par=cree_par or UserFactory(),
        intitule=champs.pop("intitule", f"Action {n}"),
        numero=f"{campagne.exercice}-{n:06d}",
        depose_le=champs.pop("depose_le", timezone.now()),
        **champs,
    )
    Demande.objects.filter(pk=demande.pk).update(statut=statut)
    for f in campagne.financeurs.all():
        LigneFinancement.objects.create(
            demande=demande, financeur=f, montant_demande=Decimal(montant) if f == financeur else Decimal("0")
        )
    return Demande.objects.get(pk=demande.pk)


def lignes_du_tableau(response) -> list[str]:
    return [d.numero for d in response.context["demandes"]]


# --- The queue.


def test_queue_shows_the_scope_only_with_counts_per_status(client, monde):
    campagne, etat, ville = monde["campagne"], monde["etat"], monde["ville"]
    pour_etat = demande_file(campagne, etat, intitule="Seulement l'État", statut="en_instruction")
    pour_ville = demande_file(campagne, ville, intitule="Seulement la Ville")
    demande_file(campagne, etat, intitule="Brouillon invisible", statut="brouillon")
    client.force_login(monde["instr_etat"])
    response = client.get(reverse("instruction:file"))
    page = texte(response)
    assert response.status_code == 200
    assert set(lignes_du_tableau(response)) == {pour_etat.numero, monde["demande"].numero}
    assert "Seulement la Ville" not in page and "Brouillon invisible" not in page
    assert {s: n for s, _l, n in response.context["comptes"]} == {"deposee": 1, "en_instruction": 1}
    assert 'data-statut="en_instruction"' in page

    # The Ville's instructeur sees the demande asking the Ville (1 000 €), not the one asking only the État.
    client.force_login(monde["instr_ville"])
    numeros = set(lignes_du_tableau(client.get(reverse("instruction:file"))))
    assert numeros == {pour_ville.numero, monde["demande"].numero}

    # A territoire-scoped instructeur sees the demandes of its territoire's QPV only.
    client.force_login(monde["instr_etat_nord"])
    assert lignes_du_tableau(client.get(reverse("instruction:file"))) == [monde["demande"].numero]
    client.force_login(monde["instr_autre_territoire"])
    assert lignes_du_tableau(client.get(reverse("instruction:file"))) == []


def test_queue_filters_search_and_sort(client, monde):
    campagne, etat, ville = monde["campagne"], monde["etat"], monde["ville"]
    instr = monde["instr_etat"]
    porteur = PorteurFactory(nom="Les Amis du Panier")
    objectif = ObjectifFactory(pilier=PilierFactory(contrat=campagne.contrat))
    qpv = QPVFactory(code="QN01301M")
    sud = TerritoireFactory(contrat=campagne.contrat, nom="Sud")
    grosse = demande_file(
        campagne,
        etat,
        "20000",
        porteur=porteur,
        intitule="Grande action",
        depose_le=timezone.now() - timedelta(days=40),
    )
    grosse.objectifs.set([objectif])
    grosse.qpvs.set([qpv])
    petite = demande_file(campagne, etat, "500", intitule="Petite action", territoire=sud, instructeur=instr)
    Demande.objects.filter(pk=petite.pk).update(statut="a_completer")
    LigneFinancement.objects.filter(demande=petite, financeur=ville).update(montant_demande=Decimal("100"))
    reference = monde["demande"]
    client.force_login(instr)

    def numeros(**criteres):
        response = client.get(reverse("instruction:file"), criteres)
        assert response.status_code == 200
        return lignes_du_tableau(response)

    tous = {grosse.numero, petite.numero, reference.numero}
    assert set(numeros()) == tous
    assert set(numeros(campagne=campagne.pk)) == tous
    assert numeros(statut="a_completer") == [petite.numero]
    assert set(numeros(financeur=ville.pk)) == {petite.numero, reference.numero}
    assert numeros(objectif=objectif.pk) == [grosse.numero]
    assert numeros(pilier=objectif.pilier_id) == [grosse.numero]
    assert numeros(territoire=sud.pk) == [petite.numero]
    assert numeros(territoire=monde["nord"].pk) == [reference.numero]
    assert numeros(qpv="qn01301m") == [grosse.numero]
    assert numeros(porteur=porteur.pk) == [grosse.numero]
    assert numeros(montant_min="9 000,01", montant_max="25 000,00") == [grosse.numero]
    assert numeros(montant_max="1 000,50") == [petite.numero]
    assert numeros(instructeur="moi") == [petite.numero]
    assert set(numeros(instructeur="aucun")) == {grosse.numero, reference.numero}
    assert numeros(instructeur=str(instr.pk)) == [petite.numero]
    hier = (timezone.localdate() - timedelta(days=1)).isoformat()
    assert set(numeros(depose_du=hier)) == {petite.numero, reference.numero}
    assert numeros(depose_au=hier) == [grosse.numero]
    assert set(numeros(q="panier")) == {grosse.numero, reference.numero}
    assert numeros(q="Amis du") == [grosse.numero]
    assert numeros(q=petite.numero) == [petite.numero]
    assert numeros(tri="-montant") == [grosse.numero, reference.numero, petite.numero]
    assert numeros(tri="montant") == [petite.numero, reference.numero, grosse.numero]
    assert numeros(tri="numero") == sorted(tous)
    assert numeros(tri="depot")[0] == grosse.numero
    # Counts per status follow the other filters.
    response = client.get(reverse("instruction:file"), {"financeur": ville.pk})
    assert {s: n for s, _l, n in response.context["comptes"]} == {"deposee": 1, "a_completer": 1}
    # A bad criterion is ignored and said, never a server error.
    response = client.get(reverse("instruction:file"), {"montant_min": "beaucoup", "depose_du": "hier"})
    assert response.status_code == 200 and set(lignes_du_tableau(response)) == tous
    assert "ignorés" in texte(response)


def test_queue_financeur_filter_within_and_outside_the_perimeter(client, monde):
    campagne, etat, ville = monde["campagne"], monde["etat"], monde["ville"]
    les_deux = monde["demande"]  # asks the État and the Ville
    etat_seul = demande_file(campagne, etat)
    ville_seule = demande_file(campagne, ville)
    autre = FinanceurFactory()
    campagne.financeurs.add(autre)
    autre_seul = demande_file(campagne, autre)
    LigneFinancement.objects.create(demande=etat_seul, financeur=autre, montant_demande=Decimal("50"))

    def numeros(instructeur, financeur):
        client.force_login(instructeur)
        return set(lignes_du_tableau(client.get(reverse("instruction:file"), {"financeur": financeur.pk})))

    both = agent(Role.INSTRUCTEUR, financeurs=[etat, ville])
    assert numeros(both, etat) == {les_deux.numero, etat_seul.numero}
    assert numeros(both, ville) == {les_deux.numero, ville_seule.numero}
    # A financeur outside the perimeter narrows the perimeter's demandes, never widens them.
    assert numeros(both, autre) == {etat_seul.numero}
    assert autre_seul.numero not in numeros(monde["instr_etat"], autre)


def test_queue_pages_by_fifty(client, monde):
    for _i in range(51):
        demande_file(monde["campagne"], monde["etat"])
    client.force_login(monde["instr_etat"])
    response = client.get(reverse("instruction:file"))
    assert len(response.context["demandes"]) == 50 and response.context["page"].paginator.count == 52
    response = client.get(reverse("instruction:file"), {"page": 2, "tri": "numero"})
    assert len(response.context["demandes"]) == 2
    assert "page=2" in texte(client.get(reverse("instruction:file"), {"tri": "numero"}))


def _remplir(monde, n: int) -> None:
    instr = monde["instr_etat"]
    for i in range(n):
        d = demande_file(
            monde["campagne"],
            monde["etat"],
            str(1000 + i),
            territoire=monde["nord"],
            instructeur=instr if i % 2 else None,
        )
        LigneFinancement.objects.filter(demande=d, financeur=monde["ville"]).update(montant_demande=Decimal("10"))


@pytest.mark.parametrize("lignes", [2, 30])
def test_queue_query_count_does_not_grow_with_rows(client, monde, django_assert_num_queries, lignes):
    Demande.objects.filter(pk=monde["demande"].pk).delete()
    _remplir(monde, lignes)
    client.force_login(monde["instr_etat"])
    url = reverse("instruction:file")
    with django_assert_num_queries(NB_REQUETES_FILE):
        response = client.get(url)
    assert len(response.context["demandes"]) == lignes
    # The chosen criteria are checked against the lists already loaded: no query per criterion.
    with django_assert_num_queries(NB_REQUETES_FILE):
        response = client.get(
            url,
            {"financeur": monde["etat"].pk, "territoire": monde["nord"].pk, "q": "Action", "tri": "-montant"},
        )
    assert len(response.context["demandes"]) == lignes
    montants = [d.montant_total for d in response.context["demandes"]]
    assert montants == sorted(montants, reverse=True) and montants[0] == Decimal(999 + lignes) + Decimal("10")
    # Not sorted by amount: the amount is summed from the page's lines, the same figure.
    response = client.get(url, {"tri": "numero"})
    assert sorted(d.montant_total for d in response.context["demandes"]) == sorted(montants)


# session, user, habilitations (every perimeter of the page), MFA, the filter lists (campagnes, their financeurs,
# piliers with their objectifs, "assigned to" instructeurs, territoires), counts per status (the paginator's count is
# their sum), the page, its financeur lines: 12, for 2 rows as for 30, with or without criteria.
NB_REQUETES_FILE = 12


# --- Assignment.


def test_assign_to_self_and_to_a_colleague_of_the_same_financeur(client, monde):
    demande, instr = monde["demande"], monde["instr_etat"]
    client.force_login(instr)
    url = reverse("instruction:assigner", args=[demande.pk])
    response = client.post(url, {"instructeur": "moi", "retour": reverse("instruction:file") + "?tri=numero"})
    assert response.status_code == 302 and response.url.endswith("?tri=numero")
    assert Demande.objects.get(pk=demande.pk).instructeur == instr

    collegue = monde["instr_etat_nord"]
    client.post(url, {"instructeur": collegue.pk})
    assert Demande.objects.get(pk=demande.pk).instructeur == collegue
    page = texte(client.get(reverse("instruction:demande", args=[demande.pk])))
    assert collegue.email in page or collegue.get_full_name() in page

    # Another financeur's instructeur cannot be handed the file: refused, nothing changes.
    response = client.post(url, {"instructeur": monde["instr_autre_financeur"].pk}, follow=True)
    assert "n'instruit pas pour les financeurs" in texte(response)
    assert Demande.objects.get(pk=demande.pk).instructeur == collegue
    client.post(url, {"instructeur": "aucun"})
    assert Demande.objects.get(pk=demande.pk).instructeur is None


def test_assign_from_the_queue_shows_me(client, monde):
    client.force_login(monde["instr_etat"])
    client.post(reverse("instruction:assigner", args=[monde["demande"].pk]), {"instructeur": "moi"})
    response = client.get(reverse("instruction:file"), {"instructeur": "moi"})
    assert lignes_du_tableau(response) == [monde["demande"].numero]


# --- The staff page and recevabilité.


def test_staff_page_shows_the_file_checklist_and_only_allowed_buttons(client, monde):
    demande = monde["demande"]
    client.force_login(monde["instr_etat"])
    response = client.get(reverse("instruction:demande", args=[demande.pk]))
    page = texte(response)
    assert response.status_code == 200
    assert demande.intitule in page and "Favoriser l'expression écrite" in page  # the recap of what was filed
    assert "Pièce jointe et valable : Statuts" in page and "Le dossier est complet" in page
    assert reverse("instruction:recevable", args=[demande.pk]) in page
    assert reverse("instruction:complements", args=[demande.pk]) in page
    assert reverse("instruction:irrecevable", args=[demande.pk]) in page
    piece = demande.pieces.get()
    assert reverse("instruction:piece", args=[demande.pk, piece.pk]) in page

    forcer(demande, "en_instruction")
    page = texte(client.get(reverse("instruction:demande", args=[demande.pk])))
    assert reverse("instruction:recevable", args=[demande.pk]) not in page
    assert reverse("instruction:complements", args=[demande.pk]) not in page


def test_piece_download_is_an_attachment_never_sniffed(client, monde):
    demande = monde["demande"]
    piece = demande.pieces.get()
    client.force_login(monde["instr_etat"])
    response = client.get(reverse("instruction:piece", args=[demande.pk, piece.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_ask_for_complements_then_refused_when_not_possible(client, monde):
    demande = monde["demande"]
    client.force_login(monde["instr_etat"])
    url = reverse("instruction:complements", args=[demande.pk])
    # A deadline in the past: refused in French, nothing changes.
    response = client.post(
        url, {"message": "RIB illisible", "echeance": timezone.localdate().isoformat()}, follow=True
    )
    assert "postérieure à aujourd'hui" in texte(response)
    assert Demande.objects.get(pk=demande.pk).statut == "deposee"
    # Without a message: refused.
    echeance = timezone.localdate() + timedelta(days=15)
    response = client.post(url, {"message": "", "echeance": echeance.isoformat()}, follow=True)
    assert "Compléments non demandés" in texte(response)
    assert Demande.objects.get(pk=demande.pk).statut == "deposee"

    response = client.post(url, {"message": "RIB illisible", "echeance": echeance.isoformat()}, follow=True)
    assert "Les compléments sont demandés" in texte(response)
    apres = Demande.objects.get(pk=demande.pk)
    assert apres.statut == "a_completer" and apres.echeance_complements == echeance
    assert "RIB illisible" in texte(response)  # in the history

    # Asked again from a_completer: not possible now.
    response = client.post(url, {"message": "Encore", "echeance": echeance.isoformat()}, follow=True)
    assert "pas possible dans l'état actuel" in texte(response)


def test_declare_irrecevable_needs_a_reason(client, monde):
    demande = monde["demande"]
    client.force_login(monde["instr_etat"])
    url = reverse("instruction:irrecevable", args=[demande.pk])
    response = client.post(url, {"motif": "  "}, follow=True)
    assert "motif d'irrecevabilité est obligatoire" in texte(response)
    assert Demande.objects.get(pk=demande.pk).statut == "deposee"
    response = client.post(url, {"motif": "Action hors QPV"}, follow=True)
    assert "déclarée irrecevable" in texte(response)
    assert Demande.objects.get(pk=demande.pk).statut == "irrecevable"


def test_declare_recevable_then_refused_twice_and_refused_out_of_scope(client, monde):
    demande = monde["demande"]
    client.force_login(monde["instr_autre_territoire"])
    assert client.post(reverse("instruction:recevable", args=[demande.pk])).status_code == 404
    assert Demande.objects.get(pk=demande.pk).statut == "deposee"

    client.force_login(monde["instr_etat"])
    response = client.post(reverse("instruction:recevable", args=[demande.pk]), follow=True)
    assert "l'instruction commence" in texte(response)
    assert Demande.objects.get(pk=demande.pk).statut == "en_instruction"
    response = client.post(reverse("instruction:recevable", args=[demande.pk]), follow=True)
    assert "pas possible dans l'état actuel" in texte(response)
    assert Demande.objects.get(pk=demande.pk).statut == "en_instruction"


# --- Avis.


def _donnees_avis(ligne, **valeurs) -> dict:
    prefixe = f"ligne-{ligne.pk}-"
    donnees = {"avis": "favorable", "montant_propose": "6 500,50", "motivation": "Action solide.", "version": 0}
    donnees.update(valeurs)
    return {prefixe + k: v for k, v in donnees.items()}


def test_avis_per_line_with_french_amount_then_instruite(client, monde):
    demande = forcer(monde["demande"], "en_instruction")
    ligne_etat = demande.lignes_financement.get(financeur=monde["etat"])
    ligne_ville = demande.lignes_financement.get(financeur=monde["ville"])
    client.force_login(monde["instr_etat"])
    page = texte(client.get(reverse("instruction:demande", args=[demande.pk])))
    assert reverse("instruction:avis", args=[demande.pk, ligne_etat.pk]) in page
    assert reverse("instruction:avis", args=[demande.pk, ligne_ville.pk]) not in page  # read-only for the État
    assert "8 000,00" in page.replace("\u00a0", " ")  # the État's maximum: 80 % of 10 000 €

    response = client.post(
        reverse("instruction:avis", args=[demande.pk, ligne_etat.pk]), _donnees_avis(ligne_etat), follow=True
    )
    assert "L'avis de État est enregistré" in texte(response)
    ligne_etat.refresh_from_db()
    assert (ligne_etat.statut, ligne_etat.avis, ligne_etat.montant_propose) == (
        "avis_donne",
        "favorable",
        Decimal("6500.50"),
    )
    assert Demande.objects.get(pk=demande.pk).statut == "en_instruction"

    # Above the financeur's maximum: refused with the reason, nothing changes.
    client.force_login(monde["instr_ville"])
    response = client.post(
        reverse("instruction:avis", args=[demande.pk, ligne_ville.pk]),
        _donnees_avis(ligne_ville, montant_propose="1 500"),
        follow=True,
    )
    assert "dépasse le montant demandé" in texte(response)
    response = client.post(
        reverse("instruction:avis", args=[demande.pk, ligne_ville.pk]),
        _donnees_avis(ligne_ville, avis="reserve", montant_propose="800"),
        follow=True,
    )
    assert Demande.objects.get(pk=demande.pk).statut == "instruite"
    assert "Instruite" in texte(response)


def test_the_ville_cannot_give_the_etat_avis(client, monde):
    demande = forcer(monde["demande"], "en_instruction")
    ligne_etat = demande.lignes_financement.get(financeur=monde["etat"])
    client.force_login(monde["instr_ville"])
    response = client.post(
        reverse("instruction:avis", args=[demande.pk, ligne_etat.pk]), _donnees_avis(ligne_etat), follow=True
    )
    assert response.status_code in (200, 403, 404)
    assert "pas le droit" in texte(response) or response.status_code in (403, 404)
    ligne_etat.refresh_from_db()
    assert (ligne_etat.statut, ligne_etat.avis, ligne_etat.montant_propose, ligne_etat.version) == (
        "demandee",
        "",
        None,
        0,
    )


def test_stale_version_is_told_the_file_changed(client, monde):
    demande = forcer(monde["demande"], "en_instruction")
    ligne = demande.lignes_financement.get(financeur=monde["etat"])
    client.force_login(monde["instr_etat"])
    url = reverse("instruction:avis", args=[demande.pk, ligne.pk])
    client.post(url, _donnees_avis(ligne, version=0))
    # A colleague's page still shows version 0.
    response = client.post(url, _donnees_avis(ligne, avis="defavorable", montant_propose="0", version=0), follow=True)
    assert "changé entre-temps" in texte(response)
    ligne.refresh_from_db()
    assert (ligne.avis, ligne.version) == ("favorable", 1)


def test_invalid_avis_form_is_shown_again(client, monde):
    demande = forcer(monde["demande"], "en_instruction")
    ligne = demande.lignes_financement.get(financeur=monde["etat"])
    client.force_login(monde["instr_etat"])
    response = client.post(
        reverse("instruction:avis", args=[demande.pk, ligne.pk]), _donnees_avis(ligne, montant_propose="beaucoup")
    )
    assert response.status_code == 200 and "Saisissez un montant en euros" in texte(response)
    ligne.refresh_from_db()
    assert ligne.statut == "demandee"


# --- Notes and messages.


def test_internal_notes_never_reach_the_porteur(client, monde):
    demande = monde["demande"]
    client.force_login(monde["instr_etat"])
    response = client.post(
        reverse("instruction:note", args=[demande.pk]), {"note-texte": "Porteur fragile : vérifier les comptes"}
    )
    assert response.status_code == 302
    client.post(reverse("instruction:message", args=[demande.pk]), {"message-texte": "Merci de préciser le lieu."})
    assert NoteInterne.objects.filter(demande=demande).count() == 1
    assert Message.objects.get(demande=demande).de_l_instruction
    page = texte(client.get(reverse("instruction:demande", args=[demande.pk])))
    assert "Porteur fragile : vérifier les comptes" in page and "Merci de préciser le lieu." in page
    # An empty note is refused.
    response = client.post(reverse("instruction:note", args=[demande.pk]), {"note-texte": " "}, follow=True)
    assert "La note est vide" in texte(response) and NoteInterne.objects.count() == 1

    client.force_login(monde["rl"])
    for url in (reverse("demandes:detail", args=[demande.pk]), reverse("demandes:liste")):
        response = client.get(url)
        assert response.status_code == 200
        assert "Porteur fragile" not in texte(response)


def test_espace_instruction_links_the_queue(client, monde):
    client.force_login(monde["instr_etat"])
    assert reverse("instruction:file") in texte(client.get(reverse("espace_instruction")))
