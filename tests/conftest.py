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
        yield
        return
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = previous


@pytest.fixture
def postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("Needs PostgreSQL (set DATABASE_URL); CI runs it.")
