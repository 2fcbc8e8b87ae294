"""Fixtures of the bilans tests."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _hachage_rapide(settings):
    # Each builder creates several accounts; no test here logs in with a password (force_login only).
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
