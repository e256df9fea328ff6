"""`python -m bench --quick` runs every benchmark end to end on tiny sizes and writes
well-formed results. No figure is checked against a target: speed belongs to `make bench`.

It runs the runner as `make bench QUICK=1` does, in a subprocess against a database of its
own (`<DATABASE_URL name>_bench_smoke`) and Redis db 14, so it never touches what the suite
or a full `make bench` keeps.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REPO_ROOT = Path(__file__).resolve().parents[2]
REQUIRED_NUMBERS = [
    "ingest_posts_per_s",
    "ingest_ratio_to_raw_insert",
    "triage_ms_per_post",
    "live_p95_ms",
    "live_sockets",
    "webhook_deliveries_per_s",
    "webhook_ratio_to_bare_asgi",
    "web_rss_mb",
    "ingest_posts_per_s_single",
    "worker_rss_mb",
]
REQUIRED_KEYS = [
    *REQUIRED_NUMBERS,
    "triage_ratio_to_bare_predict",
    "inbox_queries_at_1m",
    "inbox_ms_at_1m",
    "conversation_ms_at_1m",
    "kpi_ms_at_1m",
]


def smoke_database_url() -> str:
    db = connection.settings_dict
    host = db["HOST"] or "127.0.0.1"
    port = f":{db['PORT']}" if db["PORT"] else ""
    user = db["USER"] or "postgres"
    return f"postgres://{user}@{host}{port}/{db['NAME']}_bench_smoke"


def smoke_redis_url() -> str:
    return urlsplit(settings.REDIS_URL)._replace(path="/14").geturl()


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory):
    results = tmp_path_factory.mktemp("bench") / "results.json"
    environment = {
        **os.environ,
        "DATABASE_URL": smoke_database_url(),
        "REDIS_URL": smoke_redis_url(),
        "CELERY_TASK_DEFAULT_QUEUE": f"bench-smoke-{os.getpid()}",
    }
    run = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--results", str(results)],
        cwd=REPO_ROOT,
        env=environment,
        capture_output=True,
        text=True,
        # Three servers start (two uvicorns, a worker): a bound, not a target.
        timeout=300,
    )
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
    return run.stdout, json.loads(results.read_text())


def test_each_benchmark_prints_one_json_object_with_its_baseline(quick_run):
    stdout, _ = quick_run
    printed = [json.loads(line) for line in stdout.splitlines() if line.startswith("{")]
    assert [result["benchmark"] for result in printed] == [
        "triage",
        "webhooks",
        "ingest",
        "live",
        "inbox_fragments",
        "scale",
        "open_queue",
    ]
    assert all(result["baseline"] for result in printed)


def test_results_file_holds_every_required_figure(quick_run):
    _, results = quick_run
    assert set(REQUIRED_KEYS) <= set(results)
    for key in REQUIRED_NUMBERS:
        assert isinstance(results[key], int | float) and results[key] > 0, key
    assert results["machine"]["cores"] >= 1
    assert results["quick"] is True
    assert results["at"]


def test_summary_table_marks_each_target(quick_run):
    stdout, _ = quick_run
    assert "verdict" in stdout
    assert "live_p95_ms" in stdout.split("verdict", 1)[1]
