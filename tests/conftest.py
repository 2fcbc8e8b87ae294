"""Shared fixtures: private media in a temp dir, an eager task queue unless a test asks for the real one."""

from __future__ import annotations

import pytest
from django.db import connection

from subventions.celery import app as celery_app


@pytest.fixture(autouse=True)
def _media_root(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _eager_queue(request):
    """Tasks run inline by default; tests marked `real_queue` talk to the configured broker with a real worker."""
    if request.node.get_closest_marker("real_queue"):
        yield from _file_privee(request.getfixturevalue("tmp_path"))
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL (set DATABASE_URL); CI runs it.")


def _file_privee(tmp_path):
    """A filesystem broker folder of the test's own, so that another test session running at the same time on the
    same checkout (its worker would take our messages, against its own database) cannot interfere. Redis is kept."""
    if not celery_app.conf.broker_url.startswith("filesystem://"):
        yield
        return
    precedentes = celery_app.conf.broker_transport_options
    dossier = tmp_path / "broker"
    dossier.mkdir()
    celery_app.conf.broker_transport_options = {
        **precedentes,
        "data_folder_in": str(dossier),
        "data_folder_out": str(dossier),
        "control_folder": str(tmp_path / "control"),
    }
    celery_app._pool, celery_app.amqp._producer_pool = None, None  # reconnect with the new folders
    yield
    celery_app.conf.broker_transport_options = precedentes
    celery_app._pool, celery_app.amqp._producer_pool = None, None
