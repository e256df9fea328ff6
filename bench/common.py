"""What the benchmarks share: the fixtures they run against, the servers they start, timing."""

from __future__ import annotations

import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import connection

REPO_ROOT = Path(__file__).resolve().parent.parent
BRAND_ID = "1500000000"
LOG_DIR = REPO_ROOT / "bench" / "logs"


def percentile(values: list[float], fraction: float) -> float:
    """The nearest-rank percentile (p95: fraction=0.95) of a non-empty list."""
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(fraction * len(ordered) + 0.5) - 1))
    return ordered[rank]


def median_ms(action: Callable[[], object], *, repeat: int, warmup: int = 2) -> float:
    for _ in range(warmup):
        action()
    timings = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings)


def reset_traffic() -> None:
    """Empty what benchmarks write (customers, conversations, posts and what hangs off them),
    keeping the configuration: teams, agents, accounts, SLA policies, routing rules."""
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE helpdesk_customer, helpdesk_conversation, helpdesk_post, "
            "ingestion_webhookdelivery RESTART IDENTITY CASCADE"
        )


def checkpoint() -> None:
    """Have PostgreSQL write out what earlier work left dirty before a measurement that waits
    on commits, as pgbench's documentation advises, so that no checkpoint of it runs during
    the measurement. Skipped, with a line, where the role may not (CHECKPOINT needs a
    superuser or pg_checkpoint)."""
    from django.db import DatabaseError

    try:
        with connection.cursor() as cursor:
            cursor.execute("CHECKPOINT")
    except DatabaseError as error:
        print(f"(no CHECKPOINT before the measurement: {error})", file=sys.stderr)


def ensure_fixtures():
    """The team, the agents and the X account every benchmark uses; returns them."""
    from core.models import AgentProfile, Platform, Team
    from ingestion.models import PlatformAccount

    team, _ = Team.objects.get_or_create(
        slug="customer-care", defaults={"name": "Customer care", "is_default": True}
    )
    users = get_user_model()
    agent, created = users.objects.get_or_create(username="bench-agent")
    if created:
        agent.set_unusable_password()
        agent.save()
    profile, _ = AgentProfile.objects.get_or_create(user=agent, defaults={"is_online": True})
    profile.teams.add(team)
    admin, _ = users.objects.get_or_create(
        username="bench-admin", defaults={"is_superuser": True, "is_staff": True}
    )
    account, _ = PlatformAccount.objects.get_or_create(
        platform=Platform.TWITTER,
        handle="brand",
        defaults={"external_id": BRAND_ID, "display_name": "Brand"},
    )
    return team, agent, admin, account


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Running:
    pid: int
    log_path: Path


@contextmanager
def background(
    command: list[str], *, name: str, env: dict | None = None, stop_signal=signal.SIGTERM
) -> Iterator[Running]:
    """Run `command` from the repository root for the duration of the block; its output goes
    to bench/logs/<name>.log."""
    LOG_DIR.mkdir(exist_ok=True)
    log_path = LOG_DIR / f"{name}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            command,
            cwd=REPO_ROOT,
            env={**os.environ, **(env or {})},
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Running(process.pid, log_path)
            if process.poll() is not None:
                raise RuntimeError(f"{name} exited early; see {log_path}")
        finally:
            process.send_signal(stop_signal)
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def celery_worker(*, concurrency: int, name: str = "celery-worker"):
    queue = os.environ["CELERY_TASK_DEFAULT_QUEUE"]
    return background(
        [sys.executable, "-m", "celery", "-A", "parley", "worker", "-Q", queue,
         f"--concurrency={concurrency}", "--pool=prefork", "--loglevel=WARNING",
         "--without-mingle", "--without-gossip", "--hostname", f"bench-{os.getpid()}@%h"],
        name=name,
        # Cold shutdown: what is left in the queue afterwards is purged anyway.
        stop_signal=signal.SIGQUIT,
    )  # fmt: skip


@contextmanager
def serving(
    command: list[str], *, port: int, processes: int, name: str, env: dict | None = None
) -> Iterator[Running]:
    """`command` serving on `port` from `processes` web processes; yields once every process
    listens (Django's start-up takes seconds, more on a busy machine, and a process takes
    connections only once it listens)."""
    from parley.listeners import balanced_listening

    with background(command, name=name, env=env) as process:
        if balanced_listening():
            wait_for_listeners(port, processes, timeout=120)
        else:
            wait_for_port(port, timeout=120)
        yield process


def parley_server(
    port: int, *, processes: int = 0, env: dict | None = None, name: str = "serve"
) -> AbstractContextManager[Running]:
    """Parley served on `port` as production serves it, `manage.py serve --no-schedule`:
    `processes` web processes (by default one per core), each with what parley.serving does
    before its first request (pooled connections, the group commit, start-up kept out of the
    garbage collector's way)."""
    from parley.management.commands.serve import web_processes

    processes = processes or web_processes()
    command = [sys.executable, "manage.py", "serve", "--host", "127.0.0.1",
               "--port", str(port), "--no-schedule"]  # fmt: skip
    env = {**(env or {}), "WEB_CONCURRENCY": str(processes)}
    return serving(command, port=port, processes=processes, name=name, env=env)


def wait_for_worker(timeout: float = 120.0) -> None:
    from parley.celery import app

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if app.control.ping(timeout=0.5):
            return
    raise RuntimeError("The Celery worker did not answer a ping; see bench/logs/.")


def wait_for_port(port: int, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError(f"Nothing listens on port {port}; see bench/logs/.")


def peak_rss_mb(pid: int) -> float | None:
    """VmHWM of a live process: the most resident memory it has held, in MB."""
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return None
    for line in status.splitlines():
        if line.startswith("VmHWM:"):
            return round(int(line.split()[1]) / 1024, 1)
    return None


def children_of(pid: int) -> list[int]:
    """The live child processes of `pid` (a prefork worker's pool)."""
    try:
        tasks = Path(f"/proc/{pid}/task").iterdir()
        return [int(child) for task in tasks for child in (task / "children").read_text().split()]
    except OSError:
        return []


def listeners_on(port: int) -> int:
    """How many sockets listen on 127.0.0.1:`port`: one per web process when each has its own
    (parley.listeners), one when they share it."""
    return sum(
        1 for local, _, state, _ in _tcp_sockets() if local == ("0100007F", port) and state == "0A"
    )


def wait_for_listeners(port: int, count: int, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while listeners_on(port) < count:
        if time.monotonic() > deadline:
            raise RuntimeError(f"Not {count} sockets listening on port {port}; see bench/logs/.")
        time.sleep(0.1)


def connection_owners(port: int, pids: list[int]) -> dict[int, int]:
    """For each connection to 127.0.0.1:`port` whose server end one of `pids` holds: the
    client's port, and that process."""
    held = _sockets_held(pids)
    return {
        remote[1]: holders[0]
        for local, remote, state, inode in _tcp_sockets()
        if local == ("0100007F", port) and state == "01" and (holders := held.get(inode))
    }


def listening_pids(port: int, pids: list[int]) -> set[int]:
    """Those of `pids` that hold a socket listening on 127.0.0.1:`port`."""
    held = _sockets_held(pids)
    return {
        pid
        for local, _, state, inode in _tcp_sockets()
        if local == ("0100007F", port) and state == "0A"
        for pid in held.get(inode, [])
    }


def _sockets_held(pids: list[int]) -> dict[str, list[int]]:
    """The inode of each socket the processes `pids` hold, and those that hold it (a shared
    listening socket has several)."""
    held: dict[str, list[int]] = {}
    for pid in pids:
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                held.setdefault(target[len("socket:[") : -1], []).append(pid)
    return held


def _tcp_sockets() -> list[tuple[tuple[str, int], tuple[str, int], str, str]]:
    """IPv4 TCP sockets from /proc/net/tcp: (local, remote, state, inode), addresses as (hex
    address, port)."""
    sockets = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        local, remote = (
            (address, int(port, 16))
            for address, port in (field.split(":") for field in fields[1:3])
        )
        sockets.append((local, remote, fields[3], fields[9]))
    return sockets
