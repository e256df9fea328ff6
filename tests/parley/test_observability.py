"""Errors to Sentry when SENTRY_DSN is set, and a request id on every log line — in JSON when
asked — that follows a webhook delivery into the Celery task that processes it.

Sentry is set up by the settings module at import, so each case imports the settings in a
fresh interpreter with the environment under test, and swaps the client's transport for one
that keeps the events instead of sending them.
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from core.models import Platform, Post
from parley.celery import app as celery_app
from parley.observability import WORKER_SEEN_KEY, last_seen
from tests.factories import PlatformAccountFactory
from tests.helpdesk.test_celery_worker import running_celery_worker
from tests.ingestion.conftest import FACEBOOK_PAGE_ID, META_APP_SECRET, payload
from tests.ingestion.test_webhooks import meta_signature, post_meta

REPO_ROOT = Path(__file__).resolve().parents[2]

SENTRY_PROBE = r"""
import json, os
import django
django.setup()

import sentry_sdk
from sentry_sdk.transport import Transport
from django.http import HttpResponse
from django.test import Client, override_settings
from django.urls import path

events = []


class KeepEvents(Transport):
    def capture_envelope(self, envelope):
        events.extend(item.payload.json for item in envelope.items if item.type == "event")


client = sentry_sdk.get_client()
report = {"active": client.is_active(), "dsn": client.options["dsn"]}
if client.is_active():
    client.transport = KeepEvents(client.options)
    report["integrations"] = sorted(client.integrations)


def boom(request):
    raise RuntimeError("Graph API said no: https://graph.example/me?access_token=EAABsecret123")


def fine(request):
    return HttpResponse("ok")


urlpatterns = [path("boom", boom), path("fine", fine)]
with override_settings(ROOT_URLCONF="__main__", ALLOWED_HOSTS=["testserver"]):
    browser = Client(raise_request_exception=False)
    report["statuses"] = [
        browser.get("/fine").status_code,
        browser.get("/boom", HTTP_X_REQUEST_ID="req-42").status_code,
    ]
sentry_sdk.flush()
report["events"] = [
    {
        "exception": [value["value"] for value in event["exception"]["values"]],
        "tags": event.get("tags", {}),
        "has_user": bool(event.get("user")),
        "cookies": event.get("request", {}).get("cookies"),
    }
    for event in events
    if event.get("exception")
]
print(json.dumps(report))
"""


def run_probe(probe: str, **environment: str) -> dict:
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env={
            "PATH": os.environ.get("PATH", ""),
            "DJANGO_SETTINGS_MODULE": "parley.settings",
            "DATABASE_URL": "sqlite://:memory:",
            **environment,
        },
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_with_a_dsn_a_failing_request_reaches_sentry_scrubbed_and_tagged():
    report = run_probe(SENTRY_PROBE, SENTRY_DSN="https://public@sentry.example.com/42")

    assert report["active"] is True
    assert report["dsn"] == "https://public@sentry.example.com/42"
    assert {"django", "celery"} <= set(report["integrations"])
    assert report["statuses"] == [200, 500]
    [event] = report["events"]
    assert event["exception"] == [
        "Graph API said no: https://graph.example/me?access_token=[redacted]"
    ]
    assert event["tags"]["request_id"] == "req-42"
    assert event["has_user"] is False


def test_without_a_dsn_sentry_stays_off():
    report = run_probe(SENTRY_PROBE)

    assert report["active"] is False
    assert report["statuses"] == [200, 500]
    assert report["events"] == []


# --- Request ids in the logs --------------------------------------------------------------------


@pytest.mark.django_db
def test_a_request_id_is_returned_and_put_on_each_log_line_of_the_request(client, caplog):
    caplog.set_level(logging.INFO)

    given = client.get("/livez", HTTP_X_REQUEST_ID="lb-7f3a")
    made = client.get("/livez")

    assert given["X-Request-ID"] == "lb-7f3a"
    assert len(made["X-Request-ID"]) == 32
    assert made["X-Request-ID"] != given["X-Request-ID"]


@pytest.mark.postgres
@pytest.mark.redis
@pytest.mark.django_db(transaction=True)
def test_a_webhook_deliverys_request_id_follows_it_into_the_worker_in_json_logs(
    client, default_team, tmp_path, monkeypatch
):

    PlatformAccountFactory(
        platform=Platform.FACEBOOK,
        external_id=FACEBOOK_PAGE_ID,
        credentials={"page_access_token": "page-token", "app_secret": META_APP_SECRET},
    )
    body = json.dumps(payload("meta_feed_webhook.json")).encode()
    monkeypatch.setenv("LOG_FORMAT", "json")
    celery_app.control.purge()

    previous, celery_app.conf.task_always_eager = celery_app.conf.task_always_eager, False
    try:
        response = post_meta(
            client.__class__(HTTP_X_REQUEST_ID="meta-delivery-8841"), body, meta_signature(body)
        )
    finally:
        celery_app.conf.task_always_eager = previous
    assert response.status_code == 200
    assert response["X-Request-ID"] == "meta-delivery-8841"
    log_path = tmp_path / "worker.log"
    with running_celery_worker(log_path) as worker:
        deadline = time.monotonic() + 30
        while not Post.objects.exists() and worker.poll() is None:
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.2)
        time.sleep(0.5)  # the task's last lines

    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.startswith("{")]
    assert lines, log_path.read_text()
    assert {"time", "level", "logger", "message", "request_id"} <= set(lines[0])
    traced = [line for line in lines if line["request_id"] == "meta-delivery-8841"]
    assert any(
        "process_webhook_delivery" in line["message"] and "succeeded" in line["message"]
        for line in traced
    ), lines
    # The worker's heartbeat, which /readyz reads, reached the shared cache.
    assert time.time() - last_seen(WORKER_SEEN_KEY) < 60


def test_served_with_json_logs_every_line_is_json_uvicorns_included(tmp_path):
    from tests.e2e.demo_server import embedded_env, free_port

    port = free_port()
    env = embedded_env(database_path=tmp_path / "db.sqlite3", posts_per_minute=0, poll_seconds=60)
    env["LOG_FORMAT"] = "json"
    log_path = tmp_path / "serve.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "serve", "--port", str(port), "--no-schedule"],
            cwd=REPO_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/livez", timeout=2):
                        break
                except OSError:
                    time.sleep(0.3)
            time.sleep(0.5)  # the access log line
        finally:
            server.terminate()
            server.wait(timeout=15)

    lines = [line for line in log_path.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # fails on any line that is not JSON
    loggers = {record["logger"] for record in records}
    assert {"uvicorn.error", "uvicorn.access"} <= loggers, lines
    assert any("GET /livez" in record["message"] for record in records)
