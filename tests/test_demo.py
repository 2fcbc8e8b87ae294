"""The demo seed: idempotent, deterministic, and every printed login reaches its space."""

from __future__ import annotations

import json

import pytest
from django.core import serializers
from django.core.management import call_command
from django.test import Client

from subventions import demo
from subventions.campagnes.models import Campagne, Enveloppe
from subventions.comptes.models import Habilitation, User
from subventions.referentiel.models import QPV, ContratDeVille, Financeur, Objectif, Pilier, Territoire

pytestmark = pytest.mark.django_db

MODELS = [Financeur, ContratDeVille, Pilier, Objectif, QPV, Territoire, Campagne, Enveloppe, User, Habilitation]


def _dump() -> list:
    data = []
    for model in MODELS:
        rows = json.loads(serializers.serialize("json", model.objects.order_by("pk")))
        for row in rows:
            row["fields"].pop("last_login", None)
        data.append(rows)
    return data


def test_seed_twice_gives_the_same_database():
    call_command("seed_demo", "--seed", "7")
    premier = _dump()
    call_command("seed_demo", "--seed", "7")
    assert _dump() == premier


def test_seed_content_matches_marseille_2015():
    call_command("seed_demo")
    assert set(Financeur.objects.values_list("code", flat=True)) == {
        "etat",
        "ville-marseille",
        "metropole",
        "caf13",
        "region",
    }
    assert Pilier.objects.count() == 4
    assert Objectif.objects.count() == 8
    assert Territoire.objects.count() == 6
    assert QPV.objects.count() == 35
    assert QPV.objects.filter(code_fictif=False).count() == 0  # demo codes are marked as such
    c2015 = Campagne.objects.get(exercice=2015)
    assert c2015.financeurs.count() == 5
    assert Financeur.objects.get(code="etat").toujours_convention
    for financeur in Financeur.objects.all():
        financeur.full_clean()  # SIRET, IBAN and BIC of the demo are valid


def test_current_campagne_is_open_on_any_day():
    from datetime import date

    for jour in (date(2026, 1, 15), date(2026, 8, 31), date(2026, 9, 1), date(2026, 12, 31)):
        _exercice, ouverture, cloture = demo.campagne_courante_dates(jour)
        assert ouverture.date() <= jour < cloture.date()


def test_if_empty_does_not_reload(capsys):
    call_command("seed_demo")
    Financeur.objects.filter(code="region").update(nom="Changé à la main")
    call_command("seed_demo", "--if-empty")
    assert Financeur.objects.get(code="region").nom == "Changé à la main"


def test_each_printed_login_reaches_its_space_with_password_and_totp(settings):
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value
    from django.utils import timezone

    call_command("seed_demo")
    for compte in demo.COMPTES:
        client = Client()
        response = client.post(
            "/compte/login/", {"login": compte.email, "password": settings.SUBVENTIONS_DEMO_PASSWORD}
        )
        assert response.status_code == 302, compte.email
        if compte.role:
            assert response.url == "/compte/2fa/authenticate/"
            code = format_hotp_value(
                hotp_value(demo.secret_totp_demo(compte.email), int(timezone.now().timestamp()) // 30)
            )
            response = client.post("/compte/2fa/authenticate/", {"code": code})
            assert response.status_code == 302, compte.email
        assert client.get(compte.espace).status_code == 200, compte.email
