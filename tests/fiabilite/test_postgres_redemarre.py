"""PostgreSQL restarted between two requests: the next request succeeds. A restart ends every client's session; we
do the same to the Django connection's server process (pg_terminate_backend) and make the next request through the
real request cycle (WSGI handler: request_started → close_old_connections → health check)."""

from __future__ import annotations

import io

import psycopg
import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.db import connection
from django.test import RequestFactory
from django.urls import reverse

from tests.factories import MembreFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


def _requete(handler: WSGIHandler, environ: dict) -> int:
    """One request as a WSGI server makes it (the test client skips close_old_connections: this does not)."""
    statut = []
    environ = {**environ, "wsgi.input": io.BytesIO(b"")}
    reponse = handler(environ, lambda status, headers, exc_info=None: statut.append(int(status.split()[0])))
    b"".join(reponse)
    reponse.close()  # request_finished: the connection is kept (CONN_MAX_AGE > 0) or closed
    return statut[0]


def _terminer_le_backend_django() -> int:
    pid = connection.connection.info.backend_pid
    s = connection.settings_dict
    with psycopg.connect(
        host=s["HOST"] or "127.0.0.1", port=s["PORT"] or 5432, user=s["USER"], password=s["PASSWORD"],
        dbname=s["NAME"], autocommit=True,
    ) as autre:  # fmt: skip
        assert autre.execute("SELECT pg_terminate_backend(%s)", [pid]).fetchone()[0] is True
    return pid


@pytest.mark.parametrize("conn_max_age", [0, 600], ids=["CONN_MAX_AGE=0", "CONN_MAX_AGE=600"])
def test_the_request_after_a_database_restart_succeeds(pg_seulement, client, conn_max_age):
    # A member's space: the session, the user, the member and its porteur's demandes are read from the database.
    client.force_login(MembreFactory().user)
    environ = RequestFactory().get(reverse("espace_association")).environ
    environ["HTTP_COOKIE"] = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    handler = WSGIHandler()
    precedent = connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"]
    assert precedent[1] is True, "settings: conn_health_checks=True"
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"] = conn_max_age
    try:
        assert _requete(handler, environ) == 200
        connection.ensure_connection()  # with CONN_MAX_AGE=0 the request closed it: one to terminate all the same
        tue = _terminer_le_backend_django()
        assert _requete(handler, environ) == 200
        if conn_max_age:
            assert connection.connection.info.backend_pid != tue, "a new session replaced the terminated one"
        assert _requete(handler, environ) == 200
    finally:
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"] = precedent[0]


def test_without_health_checks_a_persistent_connection_fails_the_next_request(pg_seulement, client):
    """The control: the test above would catch the setting's removal (one request fails, then Django reconnects)."""
    client.force_login(MembreFactory().user)
    environ = RequestFactory().get(reverse("espace_association")).environ
    environ["HTTP_COOKIE"] = "; ".join(f"{k}={v.value}" for k, v in client.cookies.items())
    handler = WSGIHandler()
    precedent = connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"]
    connection.close()
    connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = 600, False
    try:
        assert _requete(handler, environ) == 200
        _terminer_le_backend_django()
        assert _requete(handler, environ) == 500
        assert _requete(handler, environ) == 200
    finally:
        connection.close()
        connection.settings_dict["CONN_MAX_AGE"], connection.settings_dict["CONN_HEALTH_CHECKS"] = precedent
