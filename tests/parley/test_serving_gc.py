"""A web process keeps what start-up built out of the garbage collector's full passes
(parley.serving): they walked every module and model and held its requests for 75 to 170 ms."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# How many objects start-up left frozen, and how many a full pass still walks.
PROBE = "import gc, parley.serving; print(gc.get_freeze_count(), len(gc.get_objects()))"


def test_a_web_process_freezes_what_start_up_built():
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "parley.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, walked = map(int, completed.stdout.split())
    assert frozen > 100_000
    assert walked < frozen // 100
