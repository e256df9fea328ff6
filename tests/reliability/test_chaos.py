"""The bounded form of `make chaos`: a real worker on a private Redis and database, killed
and restarted while posts and replies stream through (see chaos/harness.py)."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psycopg
import pytest
from django.db import connection

from chaos.harness import PrivatePostgres
from tests.e2e.demo_server import free_port

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

REPO = Path(__file__).resolve().parents[2]
KEYS = {
    "posts_sent",
    "posts_stored",
    "posts_lost",
    "posts_duplicated",
    "replies_requested",
    "replies_posted",
    "replies_duplicated",
    "faults",
}


def test_under_worker_kills_redis_restarts_and_platform_errors_nothing_is_lost_or_doubled(
    capsys,
):
    settings_dict = connection.settings_dict
    database_url = (
        f"postgres://{settings_dict['USER']}@{settings_dict['HOST']}:{settings_dict['PORT']}"
        f"/{settings_dict['NAME']}"
    )
    # Its own database and Redis port, so it never touches the suite's or a `make chaos` run's.
    database = f"{settings_dict['NAME']}_chaos_{os.getpid()}"
    try:
        run = _run_harness(database, database_url)
    finally:
        _drop(database)
    lines = run.stdout.strip().splitlines()
    assert lines, f"no output; stderr:\n{run.stderr[-3000:]}"
    result = json.loads(lines[-1])
    with capsys.disabled():
        print("\n" + "\n".join(lines))

    assert result.keys() >= KEYS
    assert result["posts_sent"] > 0 and result["replies_requested"] > 0
    assert result["posts_stored"] == result["posts_sent"]
    assert result["posts_lost"] == 0
    assert result["posts_duplicated"] == 0
    assert result["replies_posted"] == result["replies_requested"]
    assert result["replies_duplicated"] == 0
    assert result["faults"].get("worker_sigkill", 0) >= 2
    assert result["faults"].get("redis_restart", 0) >= 1
    # A second beat ticked every task too: surveys went out, none twice, no alert twice.
    assert result["faults"].get("duplicate_beat", 0) >= 1
    assert result["csat_messages"] > 0
    assert result["csat_messages_duplicated"] == 0
    assert result["sla_alerts"] > 0
    assert result["sla_alerts_duplicated"] == 0
    if PrivatePostgres.binaries() is not None:
        # The run owns its PostgreSQL cluster, and crashed it at least once.
        assert result["faults"].get("postgres_restart", 0) >= 1
    assert run.returncode == 0, run.stderr[-3000:]


def _run_harness(database: str, database_url: str) -> subprocess.CompletedProcess:
    command = [
        sys.executable, "-m", "chaos.harness", "--short", "--database", database,
        # Spare ports, not the defaults: another run on this machine may hold those.
        "--redis-port", str(free_port()), "--postgres-port", str(free_port()),
    ]  # fmt: skip
    # Its own process group, so a hung run is ended with its worker and Redis.
    process = subprocess.Popen(
        command,
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = process.communicate(timeout=150)  # a hang guard; it takes ~45 s
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        stdout, stderr = process.communicate()
        pytest.fail(f"the chaos run hung; its output:\n{stdout[-3000:]}\n{stderr[-3000:]}")
    return subprocess.CompletedProcess(command, process.returncode, stdout, stderr)


def _drop(database: str) -> None:
    settings_dict = connection.settings_dict
    conninfo = (
        f"host={settings_dict['HOST']} port={settings_dict['PORT'] or 5432} "
        f"user={settings_dict['USER']} dbname=postgres"
    )
    with psycopg.connect(conninfo, autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
