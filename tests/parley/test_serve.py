"""How many web processes `manage.py serve` starts: one per core (or WEB_CONCURRENCY) where the
processes share their state through PostgreSQL and Redis, and one where they would not."""

from __future__ import annotations

import logging

import pytest
from django.conf import settings

from parley.management.commands import serve

POSTGRES = {"ENGINE": "django.db.backends.postgresql", "NAME": "parley", "OPTIONS": {}}
SQLITE = {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:", "OPTIONS": {}}


@pytest.fixture
def production(monkeypatch):
    monkeypatch.setattr(settings, "DATABASES", {"default": dict(POSTGRES)})
    monkeypatch.setattr(settings, "REDIS_URL", "redis://127.0.0.1:6379/0")
    monkeypatch.setattr(settings, "WEB_CONCURRENCY", 0)
    monkeypatch.setattr(serve, "_cores", lambda: 2)


def test_on_postgres_and_redis_one_web_process_per_core(production):
    assert serve.web_processes() == 2


def test_web_concurrency_sets_the_number(production, monkeypatch):
    monkeypatch.setattr(settings, "WEB_CONCURRENCY", 3)

    assert serve.web_processes() == 3


@pytest.mark.parametrize(
    "embedded",
    [
        pytest.param({"DATABASES": {"default": SQLITE}}, id="sqlite"),
        pytest.param({"REDIS_URL": ""}, id="in-memory channel layer and cache"),
    ],
)
def test_embedded_shapes_keep_one_process_even_when_more_are_asked_for(
    production, monkeypatch, caplog, embedded
):
    monkeypatch.setattr(settings, "WEB_CONCURRENCY", 4)
    for name, value in embedded.items():
        monkeypatch.setattr(settings, name, value)

    with caplog.at_level(logging.WARNING):
        assert serve.web_processes() == 1
    assert "WEB_CONCURRENCY=4 ignored" in caplog.text


def test_the_in_process_schedule_keeps_one_process(production):
    assert serve.web_processes(run_schedule=True) == 1


def test_every_web_process_logs_through_the_redacting_filter(monkeypatch):
    monkeypatch.setattr(settings, "LOG_FORMAT", "plain")
    config = serve.uvicorn_config(host="127.0.0.1", port=8110, app=serve.SERVED_APP, workers=2)

    # A web process configures uvicorn's logging from this (uvicorn.Config.configure_logging).
    log_config = config.log_config
    assert log_config["filters"]["redact"] == {"()": "reliability.redaction.RedactingFilter"}
    assert all("redact" in handler["filters"] for handler in log_config["handlers"].values())
    assert config.workers == 2
