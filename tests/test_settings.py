"""Settings: environment parsing, the production profile and its deploy checks."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.template import Context, Template
from django.utils import translation

from subventions.env import env_bool, env_int, env_list, env_required
from subventions.templatetags.subventions_tags import formater_montant

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize(
    ("raw", "expected"), [("1", True), ("oui", True), ("TRUE", True), ("0", False), ("non", False), ("", False)]
)
def test_env_bool_reads_french_and_english(raw, expected):
    assert env_bool("X", default=not expected, environ={"X": raw}) is expected


def test_env_bool_rejects_garbage_with_a_french_message():
    with pytest.raises(ImproperlyConfigured, match="n'est pas un booléen"):
        env_bool("X", default=False, environ={"X": "peut-être"})


def test_env_int_list_and_required():
    assert env_int("N", 3, environ={}) == 3
    assert env_int("N", 3, environ={"N": "42"}) == 42
    with pytest.raises(ImproperlyConfigured, match="nombre entier"):
        env_int("N", 3, environ={"N": "quarante"})
    assert env_list("H", ["a"], environ={"H": " x.fr, y.fr ,"}) == ["x.fr", "y.fr"]
    with pytest.raises(ImproperlyConfigured, match="obligatoire en production"):
        env_required("DJANGO_SECRET_KEY", environ={})


def _run(code: str, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "SUBVENTIONS_PROFILE"))}
    environ.update(env)
    return subprocess.run(
        [sys.executable, *code.split()], cwd=ROOT, env=environ, capture_output=True, text=True, timeout=120
    )


def test_production_profile_requires_a_secret_key():
    result = _run("manage.py check", SUBVENTIONS_PROFILE="production", DJANGO_ALLOWED_HOSTS="x.fr")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY est obligatoire" in result.stderr


def test_production_profile_passes_check_deploy_without_warnings():
    result = _run(
        "manage.py check --deploy --fail-level WARNING",
        SUBVENTIONS_PROFILE="production",
        DJANGO_SECRET_KEY="k" * 20 + "-une-clé-longue-et-aléatoire-pour-le-test-0123456789",
        DJANGO_ALLOWED_HOSTS="subventions.exemple.fr",
    )
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_development_defaults(settings):
    assert settings.LANGUAGE_CODE == "fr"
    assert settings.TIME_ZONE == "Europe/Paris"
    assert settings.DEFAULT_AUTO_FIELD == "django.db.models.BigAutoField"
    assert dict(settings.LANGUAGES).keys() == {"fr", "en"}


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1234.56", "1\xa0234,56\xa0€"),
        ("0", "0,00\xa0€"),
        ("9999999.99", "9\xa0999\xa0999,99\xa0€"),
        ("12.345", "12,35\xa0€"),
    ],
)
def test_amounts_are_shown_the_french_way(value, expected):
    from decimal import Decimal

    assert formater_montant(Decimal(value)) == expected


def test_dates_are_shown_day_first():
    import datetime

    with translation.override("fr"):
        rendu = Template("{{ d|date }}").render(Context({"d": datetime.date(2025, 12, 31)}))
    assert rendu == "31/12/2025"
