"""The staff list (filters, counts per status, blocked reasons) and the porteur's list: what a person sees, and a
number of queries that does not grow with the rows."""

from __future__ import annotations

import html
import re

import pytest
from django.db.models import Count
from django.urls import reverse

from associations.models import Porteur
from subventions.comptes.enums import Role
from subventions.conventions.models import ActeAttribution
from subventions.conventions.services import acte_envoyer, conventions_batir
from tests.conventions.aides import accordee, monde_de_test
from tests.factories import MembreFactory, PorteurFactory, agent

pytestmark = pytest.mark.django_db


def _documents(campagne, etat, n: int, *, porteur=None):
    for _ in range(n):
        p = porteur or PorteurFactory()
        MembreFactory(porteur=p)
        accordee(campagne, etat, "30000.00", porteur=p)
        accordee(campagne, etat, "1000.00", porteur=p)
    conventions_batir(campagne=campagne)


def _requetes(client, url) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        reponse = client.get(url)
    assert reponse.status_code == 200
    return len(ctx.captured_queries)


def test_staff_list_shows_counts_per_status_and_blocked_reasons(client):
    campagne, etat, ville = monde_de_test()
    _documents(campagne, etat, 3)
    bloque = PorteurFactory(nom="Association sans IBAN")
    Porteur.objects.filter(pk=bloque.pk).update(iban="")
    _documents(campagne, etat, 1, porteur=Porteur.objects.get(pk=bloque.pk))
    _documents(campagne, ville, 2)  # another financeur's: not listed
    instructeur = agent(Role.INSTRUCTEUR, financeurs=[etat])
    client.force_login(instructeur)
    page = html.unescape(client.get(reverse("conventions:liste")).content.decode())
    assert 'data-statut="generee">Générée <span class="badge text-bg-light compte-statut">3</span>' in page
    assert 'data-statut="bloquee">Bloquée <span class="badge text-bg-light compte-statut">1</span>' in page
    assert "Le porteur n'a pas renseigné d'IBAN." in page
    i = page.find("VILLE-TEST")
    assert i < 0, page[i - 300 : i + 100]
    assert len(re.findall(r">ETAT-2015-\d{4}</a>", page)) == 4
    filtre = client.get(reverse("conventions:liste") + "?statut=bloquee").content.decode()
    assert len(re.findall(r">ETAT-2015-\d{4}</a>", filtre)) == 1 and "Association sans IBAN" in filtre
    recherche = client.get(reverse("conventions:liste") + "?q=sans+iban").content.decode()
    assert len(re.findall(r">ETAT-2015-\d{4}</a>", recherche)) == 1


def test_staff_list_shows_the_number_of_actions_of_each_document(client):
    campagne, etat, _ville = monde_de_test()
    _documents(campagne, etat, 2)
    client.force_login(agent(Role.INSTRUCTEUR, financeurs=[etat]))
    page = client.get(reverse("conventions:liste")).content.decode()
    attendus = {
        a.pk: a.nb for a in ActeAttribution.objects.filter(financeur=etat).annotate(nb=Count("lignes")).order_by()
    }
    assert attendus and any(nb > 1 for nb in attendus.values()), attendus
    for pk, nb in attendus.items():
        ligne = re.search(rf'<a href="{reverse("conventions:acte", args=[pk])}">.*?</tr>', page, re.S).group(0)
        assert re.findall(r'<td class="text-end">([^<]*)</td>', ligne)[0] == str(nb), ligne


def test_staff_list_orders_by_financeur_then_latest_exercice_then_number(client):
    campagne, etat, ville = monde_de_test()
    _documents(campagne, etat, 2)
    _documents(campagne, ville, 2)
    for financeur in (etat, ville):
        dernier = ActeAttribution.objects.filter(financeur=financeur).order_by("numero").last()
        ActeAttribution.objects.filter(pk=dernier.pk).update(exercice=2016)  # the latest exercice: listed first
    attendu = list(
        ActeAttribution.objects.order_by("financeur__nom", "-exercice", "numero").values_list("financeur", "numero")
    )

    def numeros(user, **criteres) -> list[str]:
        client.force_login(user)
        page = client.get(reverse("conventions:liste"), criteres).content.decode()
        return re.findall(r'<td><a href="[^"]*">([^<]+)</a></td>', page)

    les_deux = agent(Role.INSTRUCTEUR, financeurs=[etat, ville])
    assert numeros(les_deux) == [numero for _f, numero in attendu]
    assert numeros(les_deux, financeur=ville.pk) == [numero for f, numero in attendu if f == ville.pk]
    etat_seul = [numero for f, numero in attendu if f == etat.pk]
    assert numeros(agent(Role.INSTRUCTEUR, financeurs=[etat])) == etat_seul
    assert etat_seul[0] != min(etat_seul)


def test_staff_list_costs_the_same_queries_for_3_or_30_documents(client):
    campagne, etat, _ville = monde_de_test()
    instructeur = agent(Role.INSTRUCTEUR, financeurs=[etat])
    client.force_login(instructeur)
    url = reverse("conventions:liste")
    _documents(campagne, etat, 3)
    peu = _requetes(client, url)
    _documents(campagne, etat, 27)
    beaucoup = _requetes(client, url)
    # Session, user, habilitations (every perimeter of the page), MFA, the counts per status (the paginator's count
    # is their sum), the page of documents, the financeurs of the filter.
    assert peu == beaucoup == 7, (peu, beaucoup)


def test_porteur_list_and_document_page_cost_constant_queries(client):
    campagne, etat, ville = monde_de_test()
    etat.toujours_convention = True
    etat.save()
    porteur = PorteurFactory()
    representant = MembreFactory(porteur=porteur).user
    instructeur = agent(Role.INSTRUCTEUR, financeurs=[etat, ville])
    accordee(campagne, etat, "1000.00", porteur=porteur)
    accordee(campagne, ville, "1000.00", porteur=porteur)
    conventions_batir(campagne=campagne)
    acte = ActeAttribution.objects.get(financeur=etat)
    acte_envoyer(acte, acteur=instructeur)
    client.force_login(representant)
    liste = reverse("conventions:porteur_actes", args=[porteur.pk])
    peu = _requetes(client, liste)
    page = client.get(liste).content.decode()
    assert acte.numero in page and "À signer" in page
    # The Ville's arrêté is not notified yet: the porteur does not see it.
    assert "VILLE-TEST" not in page
    for _ in range(10):
        accordee(campagne, etat, "500.00", porteur=porteur)
    conventions_batir(campagne=campagne)
    assert _requetes(client, liste) == peu
    detail = reverse("conventions:porteur_acte", args=[porteur.pk, acte.pk])
    assert _requetes(client, detail) <= 14


def test_document_page_history_reads_the_states_in_french(client):
    campagne, etat, _ville = monde_de_test()
    etat.toujours_convention = True
    etat.save()
    porteur = PorteurFactory()
    MembreFactory(porteur=porteur)
    accordee(campagne, etat, "1000.00", porteur=porteur)
    conventions_batir(campagne=campagne)
    instructeur = agent(Role.INSTRUCTEUR, financeurs=[etat])
    acte = acte_envoyer(ActeAttribution.objects.get(), acteur=instructeur)
    client.force_login(instructeur)
    page = client.get(reverse("conventions:acte", args=[acte.pk])).content.decode()
    historique = page[page.index('id="titre-historique"') :]
    assert "Générée" in historique and "Envoyée pour signature" in historique
    assert "envoyee" not in historique
