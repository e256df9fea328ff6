"""A web process keeps what start-up built out of the garbage collector's full passes
(parley.serving), and a worker's pool process what it inherited (parley.celery): they walked
every module and model and held the process's work for 75 to 170 ms."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]


def _printed_by(probe: str) -> list[int]:
    """The numbers `probe` prints, run in a fresh interpreter on the embedded defaults
    (SQLite: the probes open no connection)."""
    env = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env={**env, "DJANGO_SETTINGS_MODULE": "parley.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [int(number) for number in completed.stdout.split()]


def test_a_web_process_freezes_what_start_up_built():
    # How many objects start-up left frozen, and how many a full pass still walks.
    frozen, walked = _printed_by(
        "import gc, parley.serving; print(gc.get_freeze_count(), len(gc.get_objects()))"
    )
    assert frozen > 100_000
    assert walked < frozen // 100


def test_a_worker_pool_process_freezes_what_it_inherited():
    [frozen] = _printed_by(
        "import gc, django; django.setup()\n"
        "from celery.signals import worker_process_init\n"
        "import parley.celery\n"
        "worker_process_init.send(sender=None)\n"
        "print(gc.get_freeze_count())\n"
    )
    assert frozen > 100_000
