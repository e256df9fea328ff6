"""Which processes pool their PostgreSQL connections (parley/connections.py)."""

from __future__ import annotations

import pytest
from django.conf import settings

from parley.connections import use_connection_pool

POSTGRES = {
    "ENGINE": "django.db.backends.postgresql",
    "NAME": "parley",
    "CONN_MAX_AGE": 60,
    "CONN_HEALTH_CHECKS": True,
    "OPTIONS": {},
}


@pytest.fixture
def postgres_settings(monkeypatch):
    database = {**POSTGRES, "OPTIONS": {}}
    monkeypatch.setattr(settings, "DATABASES", {"default": database})
    return database


def test_web_server_on_postgres_takes_connections_from_a_bounded_pool(
    postgres_settings, monkeypatch
):
    monkeypatch.setattr(settings, "DB_POOL_MAX_SIZE", 8)
    monkeypatch.setattr(settings, "DB_POOL_MIN_SIZE", 2)
    monkeypatch.setattr(settings, "DB_POOL_TIMEOUT", 5.0)

    assert use_connection_pool() is True
    assert postgres_settings["OPTIONS"]["pool"] == {"min_size": 2, "max_size": 8, "timeout": 5.0}
    # Django refuses a pool with persistent connections; health checks stay on.
    assert postgres_settings["CONN_MAX_AGE"] == 0
    assert postgres_settings["CONN_HEALTH_CHECKS"] is True


def test_pool_size_zero_keeps_persistent_connections(postgres_settings, monkeypatch):
    monkeypatch.setattr(settings, "DB_POOL_MAX_SIZE", 0)

    assert use_connection_pool() is False
    assert "pool" not in postgres_settings["OPTIONS"]
    assert postgres_settings["CONN_MAX_AGE"] == 60


def test_sqlite_has_nothing_to_pool(monkeypatch):
    database = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "OPTIONS": {}}
    monkeypatch.setattr(settings, "DATABASES", {"default": database})

    assert use_connection_pool() is False
    assert database["OPTIONS"] == {}
