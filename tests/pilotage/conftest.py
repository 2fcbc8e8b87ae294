"""Pilotage tests create many accounts (authors of demandes, agents of each role): a fast password hash for them."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _hachage_rapide(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
