"""Starting Parley the way `make run` does, for the browser tests and the README screenshot.

`make run` migrates, seeds the demo and serves with `manage.py serve`; this does the same in
subprocesses, on a throwaway SQLite file and a free port, with the demo feed turned up so a
new post arrives every couple of seconds. Nothing here imports Django: the server is a
separate process, exactly as a user would run it.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[2]

# Debian's chromium; Playwright's own browser download does not work offline.
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

AGENT_USERNAME = "agent"
AGENT_PASSWORD = "e2e-agent-password"
ADMIN_PASSWORD = "e2e-admin-password"

# Generous: on a busy machine the first import of Django and the apps alone can take 30 s.
STARTUP_TIMEOUT_SECONDS = 90
SHUTDOWN_TIMEOUT_SECONDS = 10


@dataclass(frozen=True)
class DemoServer:
    base_url: str
    log_path: Path
    env: dict[str, str]

    def url(self, path: str) -> str:
        return self.base_url + path

    def manage(self, *args: str) -> subprocess.CompletedProcess:
        """Run a management command against the server's database, as an operator would."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=REPO_ROOT,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=60,
        )

    def wait_for_inbound_posts(self, at_least: int, *, timeout: float = 60) -> None:
        """Wait until the demo feed has stored `at_least` customer posts: its first burst
        comes with its first poll, which a busy machine (CI runs other phases alongside)
        can delay past a page's own waiting."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            counted = self.manage("shell", "-c", INBOUND_POSTS)
            if counted.returncode == 0 and int(counted.stdout.strip().splitlines()[-1]) >= at_least:
                return
            time.sleep(1)
        raise AssertionError(f"fewer than {at_least} posts arrived from the demo feed")

    def log(self) -> str:
        """Everything the migrate, seed and serve commands printed so far."""
        try:
            return self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return ""


INBOUND_POSTS = (
    "from core.models import Post; print(Post.objects.filter(direction='inbound').count())"
)


class DemoServerError(RuntimeError):
    pass


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def embedded_env(
    *, database_path: Path, posts_per_minute: float, poll_seconds: float
) -> dict[str, str]:
    """The environment of a fresh `make run`: SQLite, no Redis, tasks in-process."""
    env = dict(os.environ)
    # The production-shape test pass exports these; the demo server must not inherit them.
    for name in ("REDIS_URL", "CELERY_TASK_ALWAYS_EAGER", "CELERY_BROKER_URL"):
        env.pop(name, None)
    env.update(
        DATABASE_URL=f"sqlite:///{database_path}",
        DJANGO_SETTINGS_MODULE="parley.settings",
        DEMO_FEED_POSTS_PER_MINUTE=str(posts_per_minute),
        INGESTION_POLL_SECONDS=str(poll_seconds),
        PYTHONUNBUFFERED="1",
    )
    return env


# One migrated SQLite database per test run, copied for each server: migrating from nothing
# costs more than everything else a server does before it answers.
_migrated_template: Path | None = None


def migrated_database(target: Path, log) -> None:
    """Put a freshly migrated database at `target` (migrating once per run)."""
    global _migrated_template
    if _migrated_template is None:
        template_dir = Path(tempfile.mkdtemp(prefix="parley-e2e-migrated-"))
        atexit.register(shutil.rmtree, template_dir, ignore_errors=True)
        template = template_dir / "migrated.sqlite3"
        env = embedded_env(database_path=template, posts_per_minute=0, poll_seconds=1)
        command = [sys.executable, "manage.py", "migrate", "--noinput"]
        finished = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
        )
        if finished.returncode != 0:
            raise DemoServerError(f"migrate failed (exit {finished.returncode}): see the log")
        _migrated_template = template
    for suffix in ("", "-wal", "-shm"):
        source = _migrated_template.with_name(_migrated_template.name + suffix)
        if source.exists():
            shutil.copyfile(source, target.with_name(target.name + suffix))


@contextlib.contextmanager
def demo_server(
    *, posts_per_minute: float = 30, poll_seconds: float = 1, history_days: int = 0
) -> Iterator[DemoServer]:
    """Migrate, seed (with `history_days` of made-up history) and serve Parley in a
    temporary directory; stop it on exit."""
    with tempfile.TemporaryDirectory(prefix="parley-e2e-") as workdir:
        workdir_path = Path(workdir)
        env = embedded_env(
            database_path=workdir_path / "e2e.sqlite3",
            posts_per_minute=posts_per_minute,
            poll_seconds=poll_seconds,
        )
        port = free_port()
        server = DemoServer(
            base_url=f"http://127.0.0.1:{port}", log_path=workdir_path / "server.log", env=env
        )
        with server.log_path.open("ab") as log:

            def manage(*args: str) -> list[str]:
                return [sys.executable, "manage.py", *args]

            try:
                migrated_database(workdir_path / "e2e.sqlite3", log)
            except DemoServerError as error:
                log.flush()
                raise DemoServerError(f"{error}\n{server.log()}") from None
            for command in (
                manage(
                    "seed_demo",
                    "--agent-password",
                    AGENT_PASSWORD,
                    "--admin-password",
                    ADMIN_PASSWORD,
                    "--history-days",
                    str(history_days),
                ),
            ):
                finished = subprocess.run(
                    command, cwd=REPO_ROOT, env=env, stdout=log, stderr=subprocess.STDOUT
                )
                if finished.returncode != 0:
                    log.flush()
                    raise DemoServerError(f"{' '.join(command[1:])} failed:\n{server.log()}")

            process = subprocess.Popen(
                manage("serve", "--host", "127.0.0.1", "--port", str(port)),
                cwd=REPO_ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
            )
            try:
                wait_until_healthy(server, process)
                yield server
            finally:
                stop(process)


def wait_until_healthy(server: DemoServer, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_problem = "no answer yet"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DemoServerError(
                f"manage.py serve exited with {process.returncode}:\n{server.log()}"
            )
        try:
            with urllib.request.urlopen(server.url("/healthz"), timeout=2) as response:
                if response.status == 200:
                    return
                last_problem = f"HTTP {response.status}"
        except urllib.error.HTTPError as error:
            last_problem = f"HTTP {error.code}: {error.read()[:200]!r}"
        except OSError as error:
            last_problem = str(error)
        time.sleep(0.2)
    raise DemoServerError(
        f"/healthz did not answer 200 within {STARTUP_TIMEOUT_SECONDS} s ({last_problem}):\n"
        f"{server.log()}"
    )


def stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=SHUTDOWN_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
