"""Fixtures of the associations' portal tests: a porteur with its représentant légal, a signed-in client."""

from __future__ import annotations

import pytest

from associations.enums import RoleMembre
from tests.factories import MembreFactory, PorteurFactory


@pytest.fixture
def porteur(db):
    return PorteurFactory(nom="Les Amis du Panier", sigle="ADP")


@pytest.fixture
def representant(porteur):
    return MembreFactory(porteur=porteur, role=RoleMembre.REPRESENTANT_LEGAL)


@pytest.fixture
def gestionnaire(porteur):
    return MembreFactory(porteur=porteur, role=RoleMembre.GESTIONNAIRE)


@pytest.fixture
def lecteur(porteur):
    return MembreFactory(porteur=porteur, role=RoleMembre.LECTEUR)


@pytest.fixture
def client_de(client):
    """client_de(membre_or_user) → the test client signed in as that person."""

    def connecter(qui):
        client.force_login(getattr(qui, "user", qui))
        return client

    return connecter
