"""The bounded form of `make chaos`: a real worker on a private Redis and database, killed
and restarted while posts and replies stream through (see chaos/harness.py)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.db import connection

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
    run = subprocess.run(
        [
            sys.executable,
            "-m",
            "chaos.harness",
            "--short",
            "--database",
            database,
            "--redis-port",
            str(6391 + os.getpid() % 50),
        ],
        cwd=REPO,
        env={**os.environ, "DATABASE_URL": database_url},
        capture_output=True,
        text=True,
        timeout=150,  # a hang guard; the run takes ~40 s
    )
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
    assert run.returncode == 0, run.stderr[-3000:]
