"""crmdemo.postgresql: a persistent connection is checked before reuse without a round trip, and
one the server ended is replaced without an error page."""

import time

import psycopg
import pytest
from django.db import close_old_connections, connections
from django.test import Client

pytestmark = pytest.mark.postgres


@pytest.fixture
def persistent(transactional_db):
    """The test's connection made persistent and health-checked, as the settings make it for
    the servers (``DB_CONN_MAX_AGE``, ``CONN_HEALTH_CHECKS``); restored afterwards."""
    connection = connections["default"]
    saved = connection.settings_dict
    connection.close()
    connection.settings_dict = {**saved, "CONN_MAX_AGE": 60, "CONN_HEALTH_CHECKS": True}
    connection.ensure_connection()
    yield connection
    connection.close()
    connection.settings_dict = saved


def test_the_engine_is_the_projects(persistent):
    assert type(persistent).__module__ == "crmdemo.postgresql.base"


def test_a_healthy_connection_is_checked_without_a_query(persistent, monkeypatch):
    def no_query(*args, **kwargs):
        raise AssertionError("the health check sent a query")

    monkeypatch.setattr(persistent.connection, "cursor", no_query)
    monkeypatch.setattr(persistent.connection, "execute", no_query)
    assert persistent.is_usable()


def test_a_connection_the_server_ended_is_replaced_without_an_error(persistent):
    before = persistent.connection.info.backend_pid
    settings = persistent.settings_dict
    admin = {"host": settings["HOST"] or "127.0.0.1", "port": settings["PORT"] or 5432}
    admin.update(user=settings["USER"], dbname=settings["NAME"])
    if settings["PASSWORD"]:
        admin["password"] = settings["PASSWORD"]
    with psycopg.connect(**admin, autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", (before,))
        for _ in range(100):  # the backend exits asynchronously
            if not other.execute(
                "SELECT 1 FROM pg_stat_activity WHERE pid = %s", (before,)
            ).fetchone():
                break
            time.sleep(0.02)
    assert not persistent.is_usable()

    # What Django does when a request starts (the test client leaves it out): the connection is
    # to be checked before the request's first query.
    close_old_connections()
    response = Client().get("/readyz")  # a request whose first query needs the database

    assert response.status_code == 200, response.content
    assert persistent.connection.info.backend_pid != before
