"""A web process keeps what start-up built out of the garbage collector's full passes
(parley.serving), and a worker's pool process what it inherited (parley.celery): they walked
every module and model and held the process's work for 75 to 170 ms."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]
# How many objects start-up left frozen, and how many a full pass still walks.
PROBE = "import gc, parley.serving; print(gc.get_freeze_count(), len(gc.get_objects()))"


def _without_database() -> dict[str, str]:
    # The embedded defaults (SQLite): the probes open no connection.
    return {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}


def test_a_web_process_freezes_what_start_up_built():
    completed = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO_ROOT,
        env={**_without_database(), "DJANGO_SETTINGS_MODULE": "parley.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    frozen, walked = map(int, completed.stdout.split())
    assert frozen > 100_000
    assert walked < frozen // 100


def test_a_worker_pool_process_freezes_what_it_inherited():
    probe = (
        "import gc, django; django.setup()\n"
        "from celery.signals import worker_process_init\n"
        "import parley.celery\n"
        "worker_process_init.send(sender=None)\n"
        "print(gc.get_freeze_count())\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=REPO_ROOT,
        env={**_without_database(), "DJANGO_SETTINGS_MODULE": "parley.settings"},
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    assert int(completed.stdout.split()[-1]) > 100_000
