"""The fault-injection run behind `make chaos`: no post lost, no reply sent twice.

Two real Celery workers (chaos.worker) on a private Redis (AOF on) and a private PostgreSQL
cluster (initdb in a temporary directory, on a spare port, with the distribution's binaries)
processes a stream of signed X webhook deliveries (through the real /webhooks/x/ view; a
delivery answered with an error is delivered again, as X does) and agents' replies (through
helpdesk.services.send_reply, published by the real tweepy client to chaos.stub). Meanwhile
the harness SIGKILLs a worker, restarts Redis empty (every queued message lost), SIGKILLs
Redis (it replays its AOF), crashes PostgreSQL (`pg_ctl stop -m immediate`, started again a
moment later), terminates the workers' PostgreSQL connections, and lets the stub answer 429,
500 and timeouts. Two Celery beats tick every periodic task twice; the harness also runs
the reliability sweep every couple of seconds, as a beat tick would. Without PostgreSQL
binaries (or with --shared-postgres) it uses a database on DATABASE_URL's server and skips
the crash.

Then faults stop and the harness waits for the work to drain and counts. The last line of
output is one JSON object; the exit status is 0 only when nothing was lost or duplicated.

    python -m chaos.harness            # the long form (make chaos)
    python -m chaos.harness --short    # the bounded form the test suite runs
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

REPO = Path(__file__).resolve().parent.parent
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/test"
X_ACCOUNT_ID = "1500000000"
CONSUMER_SECRET = "chaos-consumer-secret"
FIRST_POST_ID = 2_000_000_000_000_000_000
CUSTOMERS = 50  # posts cycle through them, so conversations get several posts
# Customers no agent answers during the run, so the duplicated beats have breach alerts to
# double. Agents answer the others within seconds, before a minute's target runs out.
UNANSWERED_CUSTOMERS = frozenset(str(40_000 + customer) for customer in range(5))

# Timings that make a short run possible: a worker's claim on a reply or on webhook deliveries
# lapses after a few seconds (the stub's read timeout is one), stranded work is swept after
# three.
CHAOS_ENV = {
    "CELERY_TASK_ALWAYS_EAGER": "false",
    "CELERY_RESULT_BACKEND": "",
    "CELERY_VISIBILITY_TIMEOUT": "20",
    "SLA_EXACT_CHECK_HORIZON_SECONDS": "0",
    "RELIABILITY_STRANDED_AFTER_SECONDS": "3",
    "RELIABILITY_REQUEUE_EVERY_SECONDS": "15",
    "RELIABILITY_REPLY_RETRY_AFTER_SECONDS": "4",
    "RELIABILITY_RETRY_BACKOFF_MAX": "4",
    "INGESTION_REPLY_CLAIM_SECONDS": "6",
    "INGESTION_DELIVERY_CLAIM_SECONDS": "6",
    "CHAOS_READ_TIMEOUT": "1",
    "LOG_LEVEL": "WARNING",
    # The two beats tick fast, so duplicated ticks have many chances to do harm.
    "SLA_SWEEP_SECONDS": "1",
    "CSAT_SEND_SECONDS": "1",
    "RELIABILITY_SWEEP_SECONDS": "2",
    "SNOOZE_WAKE_SECONDS": "2",
}
# A first-response target a run can see breached (the shortest a policy takes: a minute).
CHAOS_FIRST_RESPONSE_MINUTES = 1
# Each survey message carries its own link, so the platform's count per text is per survey.
CSAT_BODY = "How did we do? {{ survey_link }}"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--short", action="store_true", help="the bounded form for CI")
    parser.add_argument("--posts", type=int, help="posts to deliver by webhook")
    parser.add_argument("--replies", type=int, help="replies to request")
    parser.add_argument("--seconds", type=float, help="how long faults are injected")
    parser.add_argument("--drain-seconds", type=float, help="how long to wait for the backlog")
    parser.add_argument("--redis-port", type=int, default=6390, help="the private Redis's port")
    parser.add_argument("--database", default="parley_chaos", help="the private database")
    parser.add_argument(
        "--postgres-port", type=int, default=6391, help="the private PostgreSQL cluster's port"
    )
    parser.add_argument(
        "--shared-postgres",
        action="store_true",
        help="use a database on DATABASE_URL's server instead of a private cluster (it cannot "
        "be restarted, so the postgres_restart fault is skipped)",
    )
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    defaults = (150, 40, 20.0, 45.0) if args.short else (1000, 200, 90.0, 240.0)
    for name, default in zip(
        ("posts", "replies", "seconds", "drain_seconds"), defaults, strict=True
    ):
        if getattr(args, name) is None:
            setattr(args, name, default)
    return args


# --- servers the harness owns -----------------------------------------------------------------


class PrivateRedis:
    """A redis-server on its own port. Without persistence a restart loses every message;
    with `appendonly` (AOF, fsync every second) a SIGKILL loses at most the last second."""

    def __init__(self, port: int, workdir: Path, *, appendonly: bool = False) -> None:
        self.port, self.workdir, self.process = port, workdir, None
        self.appendonly = appendonly

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        command = [
            shutil.which("redis-server") or "redis-server",
            "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
            "--appendonly", "yes" if self.appendonly else "no", "--appendfsync", "everysec",
            "--dir", str(self.workdir), "--logfile", str(self.workdir / "redis.log"),
        ]  # fmt: skip
        self.process = subprocess.Popen(command)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if (
                subprocess.run(
                    ["redis-cli", "-p", str(self.port), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ):
                return
            time.sleep(0.05)
        raise RuntimeError(f"private redis-server on port {self.port} did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            subprocess.run(["redis-cli", "-p", str(self.port), "shutdown", "nosave"],
                           capture_output=True)  # fmt: skip
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def sigkill(self) -> None:
        """Die as a crashed or OOM-killed server does: no shutdown, no final write."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()
        self.process = None


class PrivatePostgres:
    """A PostgreSQL cluster of the run's own (initdb in the work directory, a spare port, the
    distribution's binaries), so the run can stop and start the server itself."""

    def __init__(self, bindir: Path, port: int, workdir: Path) -> None:
        self.bindir, self.port = bindir, port
        self.datadir = workdir / "pgdata"
        self.socketdir = workdir / "pgsocket"
        self.logfile = workdir / "postgres.log"

    @staticmethod
    def binaries() -> Path | None:
        """The newest installed server's bin directory (Debian: /usr/lib/postgresql/N/bin)."""
        found = sorted(
            Path("/usr/lib/postgresql").glob("*/bin/initdb"),
            key=lambda path: int(path.parts[-3]) if path.parts[-3].isdigit() else 0,
        )
        return found[-1].parent if found else None

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        # The server refuses to run as root; as root, run it as the postgres user.
        prefix = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        subprocess.run([*prefix, *command], check=True, capture_output=True)

    def init(self) -> None:
        for path in (self.datadir, self.socketdir):
            path.mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.datadir.parent, "postgres")
            for path in (self.datadir, self.socketdir):
                shutil.chown(path, "postgres")
        self._run(str(self.bindir / "initdb"), "-D", str(self.datadir), "-U", "postgres",
                  "--auth=trust", "--no-sync")  # fmt: skip
        self.start()

    def start(self) -> None:
        options = f"-p {self.port} -k {self.socketdir} -c listen_addresses=127.0.0.1"
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-l", str(self.logfile),
                  "-o", options, "-w", "start")  # fmt: skip

    def stop(self, mode: str = "fast") -> None:
        """`immediate` is a crash: no checkpoint, connections cut, WAL replayed at start."""
        self._run(str(self.bindir / "pg_ctl"), "-D", str(self.datadir), "-m", mode, "-w",
                  "stop")  # fmt: skip


class Worker:
    """A process of the run's own: by default the Celery worker (chaos.worker)."""

    def __init__(self, env: dict[str, str], log_path: Path, command: list[str] | None = None):
        self.env, self.log_path, self.process = env, log_path, None
        self.command = command or [sys.executable, "-m", "chaos.worker"]

    def start(self) -> None:
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.command, cwd=REPO, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            )  # fmt: skip

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill()

    def ensure_running(self) -> None:
        if self.process is None or self.process.poll() is not None:
            self.start()


def beat(env: dict[str, str], workdir: Path, name: str) -> Worker:
    """A Celery beat with a schedule file of its own: two of them tick every task twice, as
    when a second beat is started by mistake in production."""
    command = [sys.executable, "-m", "celery", "-A", "parley", "beat", "--loglevel=WARNING",
               "--schedule", str(workdir / f"{name}-schedule"), "--pidfile="]  # fmt: skip
    return Worker(env, workdir / f"{name}.log", command)


def private_database_url(base_url: str, name: str) -> str:
    parts = urlsplit(base_url)
    return urlunsplit(parts._replace(path=f"/{name}"))


def recreate_database(base_url: str, name: str) -> None:
    admin_url = private_database_url(base_url, "postgres").replace("postgres://", "postgresql://")
    with psycopg.connect(admin_url, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        connection.execute(f'CREATE DATABASE "{name}"')


# --- the stream -------------------------------------------------------------------------------


def sign(body: bytes) -> str:
    digest = hmac.new(CONSUMER_SECRET.encode(), body, hashlib.sha256).digest()
    return "sha256=" + base64.b64encode(digest).decode()


def tweet_event(n: int, *, start: datetime) -> dict:
    customer = n % CUSTOMERS
    return {
        "created_at": format_datetime(start + timedelta(seconds=n)),
        "id_str": str(FIRST_POST_ID + n),
        "text": f"@acme order #{100000 + n} has not arrived, where is it?",
        "in_reply_to_status_id_str": None,
        "user": {
            "id_str": str(40_000 + customer),
            "screen_name": f"chaos_customer{customer}",
            "name": f"Chaos customer {customer}",
            "followers_count": customer,
            "verified": False,
        },
    }


def run(args: argparse.Namespace) -> dict:
    rng = random.Random(args.seed)
    workdir = Path(tempfile.mkdtemp(prefix="parley-chaos-"))
    postgres = None
    bindir = None if args.shared_postgres else PrivatePostgres.binaries()
    if bindir is not None:
        postgres = PrivatePostgres(bindir, args.postgres_port, workdir)
        postgres.init()
        base_url = postgres.url
    else:
        print("No PostgreSQL binaries to run a private cluster: the server is not restarted")
        base_url = os.environ.get("DATABASE_URL", DEFAULT_DATABASE_URL)
    database_url = private_database_url(base_url, args.database)
    recreate_database(base_url, args.database)
    redis = PrivateRedis(args.redis_port, workdir, appendonly=True)
    redis.start()

    from chaos.stub import PlatformStub

    stub = PlatformStub(stall_seconds=2.5, seed=args.seed).start()
    env = {
        **os.environ,
        **CHAOS_ENV,
        "DATABASE_URL": database_url,
        "REDIS_URL": redis.url,
        "CHAOS_STUB_URL": stub.url,
        "DJANGO_SETTINGS_MODULE": "parley.settings",
    }
    os.environ.update({k: v for k, v in env.items() if k != "CHAOS_STUB_URL"})
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    beats = [beat(env, workdir, "beat-a"), beat(env, workdir, "beat-b")]
    # Two workers, as production runs several: the two beats' ticks are taken by both at
    # once, so a periodic task that is not safe to run concurrently doubles its effects.
    workers = [
        Worker({**env, "CHAOS_WORKER_NAME": name}, workdir / f"{name}.log")
        for name in ("worker-a", "worker-b")
    ]
    try:
        return _stream(args, rng, redis, postgres, stub, workers, beats, workdir)
    finally:
        if postgres is not None:
            from django.db import connections

            connections.close_all()
            postgres.stop()


def _stream(
    args, rng, redis: PrivateRedis, postgres: PrivatePostgres | None, stub, workers: list[Worker],
    beats: list[Worker], workdir: Path,
) -> dict:  # fmt: skip
    from django.db import DatabaseError, close_old_connections, connection
    from django.test import Client

    from core.models import DeliveryStatus, Direction, IntegrationWebhook, Post
    from ingestion.models import WebhookDelivery
    from ingestion.sweeps import requeue_stranded_work
    from reports.models import CsatTemplate
    from sla.models import SlaPolicy
    from tests.factories import AgentFactory, PlatformAccountFactory, TeamFactory

    team = TeamFactory(name="Customer care", slug="customer-care", is_default=True)
    agent = AgentFactory(teams=[team])
    PlatformAccountFactory(
        platform="twitter",
        handle="acme",
        external_id=X_ACCOUNT_ID,
        # Webhooks only: polling is not what this run is about.
        next_poll_at=datetime.now(UTC) + timedelta(days=365),
        credentials={
            "consumer_key": "k",
            "consumer_secret": CONSUMER_SECRET,
            "access_token": "t",
            "access_token_secret": "s",
        },
    )
    # What the duplicated beats could double: SLA breach alerts (each one an integration
    # event in the outbox) and CSAT survey messages.
    SlaPolicy.objects.create(
        name="Chaos: a minute to answer",
        position=0,
        first_response_minutes=CHAOS_FIRST_RESPONSE_MINUTES,
        # Customers write again after each answer: their next-response clocks breach too.
        next_response_minutes=CHAOS_FIRST_RESPONSE_MINUTES,
    )
    IntegrationWebhook.objects.create(
        name="Chaos alerts", url=f"{stub.url}/integrations", events=["sla.breached"],
        secret={"key": "chaos"},
    )  # fmt: skip
    CsatTemplate.objects.update_or_create(
        platform="twitter", defaults={"body": CSAT_BODY, "is_active": True}
    )
    # A server error is an answer, as a platform sees it: the delivery is sent again.
    client = Client(HTTP_HOST="127.0.0.1", raise_request_exception=False)
    faults: Counter[str] = Counter()
    sent_ids: set[str] = set()
    bodies: list[bytes] = []
    webhook_failures: Counter[int] = Counter()
    reply_texts: list[str] = []
    reply_ids: list[int] = []
    answered: set[int] = set()
    start = datetime.now(UTC) - timedelta(hours=1)

    for process in [*workers, *beats]:
        process.start()
    faults["duplicate_beat"] = len(beats) - 1
    stub.faults_on = True
    began = time.monotonic()
    fault_end = began + args.seconds
    next_fault = began + 2
    next_sweep = began
    fault_kinds = [
        "worker_sigkill",
        "redis_restart",
        "worker_sigkill",
        "postgres_restart",
        "postgres_terminate",
        "redis_sigkill",
    ]
    if postgres is None:
        fault_kinds.remove("postgres_restart")
    injected = 0
    redis_back_at = None
    postgres_back_at = None
    n = 0
    per_tick = max(1, round(args.posts / (args.seconds / 0.1)))

    def sweep() -> None:
        try:
            close_old_connections()
            requeue_stranded_work()
            _clocks_run_out(UNANSWERED_CUSTOMERS)
        except Exception as error:  # the sweep is a beat tick: the next one tries again
            print(f"sweep failed: {error}", file=sys.stderr)

    # Until the fault phase is over and everything was sent (bounded, whatever happens).
    give_up_at = fault_end + args.drain_seconds
    while time.monotonic() < give_up_at and (
        time.monotonic() < fault_end or n < args.posts or len(reply_ids) < args.replies or bodies
    ):
        now = time.monotonic()
        # Posts: a few signed deliveries a tick; some repeat a tweet or a whole body.
        for _ in range(per_tick):
            if n >= args.posts:
                break
            events = [tweet_event(n + i, start=start) for i in range(min(3, args.posts - n))]
            n += len(events)
            if sent_ids and rng.random() < 0.1:  # a tweet already delivered, again
                events.append(tweet_event(rng.randrange(n - len(events)), start=start))
            sent_ids.update(event["id_str"] for event in events)
            body = json.dumps({"for_user_id": X_ACCOUNT_ID, "tweet_create_events": events})
            bodies.append(body.encode())
        if bodies and rng.random() < 0.05:
            bodies.append(rng.choice(bodies))  # a platform's redelivery of a whole body
        unacknowledged = []
        for body in bodies:
            response = client.post(
                "/webhooks/x/",
                body,
                content_type="application/json",
                HTTP_X_TWITTER_WEBHOOKS_SIGNATURE=sign(body),
            )
            if response.status_code != 200:
                # X delivers again what it could not hand over (the database was down).
                webhook_failures[response.status_code] += 1
                unacknowledged.append(body)
        bodies[:] = unacknowledged
        # Replies: agents answer conversations whose posts are stored.
        if len(reply_ids) < args.replies and postgres_back_at is None:
            close_old_connections()
            # Each conversation is answered once before any gets a second reply.
            try:
                candidates = list(
                    Post.objects.filter(direction=Direction.INBOUND)
                    .exclude(conversation_id__in=answered)
                    .exclude(customer__external_id__in=UNANSWERED_CUSTOMERS)
                    .values_list("conversation_id", flat=True)
                    .distinct()[:2]
                )
            except DatabaseError:  # the server is on its way back: next tick
                candidates = []
            if not candidates and answered and n >= args.posts:
                answered.clear()
            for conversation_id in candidates[: 1 + (args.replies > args.posts // 5)]:
                reply = _request_reply(conversation_id, agent, len(reply_ids))
                answered.add(conversation_id)
                if reply is not None:
                    reply_ids.append(reply.pk)
                    reply_texts.append(reply.text)
                    if len(reply_ids) % 2:
                        _resolve(conversation_id)  # the beats then offer its CSAT survey
        # Faults.
        if redis_back_at is not None and now >= redis_back_at:
            redis.start()
            redis_back_at = None
        if postgres_back_at is not None and now >= postgres_back_at:
            postgres.start()
            postgres_back_at = None
        if (
            now >= next_fault
            and now < fault_end
            and redis_back_at is None
            and postgres_back_at is None
        ):
            kind = fault_kinds[injected % len(fault_kinds)]
            injected += 1
            faults[kind] += 1
            print(f"+{now - began:5.1f}s fault: {kind}", flush=True)
            if kind == "worker_sigkill":
                # Each worker in turn.
                worker = workers[faults[kind] % len(workers)]
                worker.kill()
                worker.start()
            elif kind == "redis_restart":
                # A Redis that comes back empty (a replaced node without its disk): every
                # queued message is gone.
                redis.stop()
                shutil.rmtree(workdir / "appendonlydir", ignore_errors=True)
                redis_back_at = now + 1.5
            elif kind == "redis_sigkill":
                # Killed mid-write, AOF on: it replays its log at start, minus the last second.
                redis.sigkill()
                redis_back_at = now + 1.5
            elif kind == "postgres_restart":
                # A crash of the server (immediate: no checkpoint, every connection cut).
                postgres.stop("immediate")
                postgres_back_at = now + 1.5
            else:
                with connection.cursor() as cursor:
                    cursor.execute(
                        "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                        "WHERE datname = current_database() AND pid <> pg_backend_pid()"
                    )
            # Far enough apart that a restarted worker gets some work done in between.
            next_fault = now + rng.uniform(3, 5)
        if now >= next_sweep:
            sweep()
            next_sweep = now + 2
        for process in [*workers, *beats]:
            process.ensure_running()
        time.sleep(0.1)

    # Kills and restarts stop; the platform keeps failing now and then, less often, and
    # everything committed must now get through.
    stub.fault_rate = 0.1
    if redis_back_at is not None:
        redis.start()
    if postgres_back_at is not None:
        postgres.start()
    for worker in workers:
        worker.ensure_running()
    drain_deadline = time.monotonic() + args.drain_seconds
    drained = False
    while time.monotonic() < drain_deadline:
        sweep()
        close_old_connections()
        stored = Post.objects.filter(external_id__in=sent_ids).count()
        busy = (
            WebhookDelivery.objects.filter(processed_at__isnull=True).exists()
            or Post.objects.filter(direction=Direction.INBOUND, intent="").exists()
            or Post.objects.filter(
                pk__in=reply_ids, delivery_status=DeliveryStatus.PENDING
            ).exists()
        )
        if stored == len(sent_ids) and not busy:
            drained = True
            break
        waiting = {
            "posts_missing": len(sent_ids) - stored,
            "deliveries": WebhookDelivery.objects.filter(processed_at__isnull=True).count(),
            "untriaged": Post.objects.filter(direction=Direction.INBOUND, intent="").count(),
            "replies_pending": Post.objects.filter(
                pk__in=reply_ids, delivery_status=DeliveryStatus.PENDING
            ).count(),
        }
        print(f"+{time.monotonic() - began:5.1f}s draining: {waiting}", flush=True)
        for worker in workers:
            worker.ensure_running()
        time.sleep(2)
    drain_seconds = round(time.monotonic() - fault_end, 1)
    for process in beats:
        process.stop()
    for worker in workers:
        worker.stop()
    stub.stop()
    redis.stop()

    close_old_connections()
    stored_ids = list(
        Post.objects.filter(external_id__in=sent_ids).values_list("external_id", flat=True)
    )
    published = {text: stub.publications[text] for text in reply_texts}
    faults.update(stub.faults)
    result = {
        **_beat_duplicates(stub),
        "posts_sent": len(sent_ids),
        "posts_stored": len(set(stored_ids)),
        "posts_lost": len(sent_ids - set(stored_ids)),
        "posts_duplicated": len(stored_ids) - len(set(stored_ids)),
        "posts_untriaged": Post.objects.filter(direction=Direction.INBOUND, intent="").count(),
        "replies_requested": len(reply_ids),
        "replies_posted": sum(1 for count in published.values() if count),
        "replies_duplicated": sum(count - 1 for count in published.values() if count > 1),
        "replies_unsent": sum(1 for count in published.values() if not count),
        "replies_marked_sent": Post.objects.filter(
            pk__in=reply_ids, delivery_status=DeliveryStatus.SENT
        ).count(),
        "webhook_errors": sum(webhook_failures.values()),
        "drained": drained,
        "drain_seconds": drain_seconds,
        "seconds": round(time.monotonic() - began, 1),
        "faults": dict(sorted(faults.items())),
        "worker_logs": [str(worker.log_path) for worker in workers],
    }
    return result


def _resolve(conversation_id: int) -> None:
    from helpdesk.services import change_status

    try:
        change_status(conversation_id=conversation_id, status="resolved")
    except Exception as error:  # the database went away under us: it stays open
        print(f"resolving failed: {error}", file=sys.stderr)


def _clocks_run_out(customer_ids: frozenset[str]) -> int:
    """The running SLA timers of these customers' conversations fall due now, as if their
    minute had passed: the beats' sweeps then alert them while faults are injected, in the
    short run too (its faults last 20 s). Returns the timers moved."""
    from django.utils import timezone

    from sla.models import SlaTimer

    now = timezone.now()
    return SlaTimer.objects.filter(
        conversation__customer__external_id__in=customer_ids, stopped_at=None, due_at__gt=now
    ).update(due_at=now, at_risk_at=now)


def _beat_duplicates(stub) -> dict:
    """What two beats ticking every task twice could have doubled: SLA breach alerts (one
    per timer and cycle) and CSAT survey messages (one per resolution), counted in the
    outbox and on the platform."""
    from django.db.models import Sum

    from core.models import IntegrationDelivery
    from reports.models import CsatSurvey
    from sla.models import SlaTimer

    alerts = Counter(
        payload["conversation"]["id"]
        for payload in IntegrationDelivery.objects.filter(event="sla.breached").values_list(
            "payload", flat=True
        )
    )
    breaches = dict(
        SlaTimer.objects.filter(breach_alerted_cycle__gt=0)
        .values_list("conversation_id")
        .annotate(cycles=Sum("breach_alerted_cycle"))
    )
    surveys = list(CsatSurvey.objects.exclude(message=None).select_related("message"))
    survey_messages = Counter((survey.conversation_id, survey.resolved_at) for survey in surveys)
    published = [stub.publications[text] for text in {survey.message.text for survey in surveys}]
    return {
        "sla_alerts": sum(alerts.values()),
        "sla_alerts_duplicated": sum(
            max(0, count - breaches.get(conversation, 0)) for conversation, count in alerts.items()
        ),
        "csat_messages": len(surveys),
        "csat_messages_duplicated": sum(count - 1 for count in survey_messages.values())
        + sum(count - 1 for count in published if count > 1),
    }


def _request_reply(conversation_id: int, agent, number: int):
    from helpdesk.services import send_reply

    try:
        return send_reply(
            conversation_id=conversation_id,
            agent=agent,
            text=f"Sorry about that! Reply {number}: we are looking into your order now.",
        )
    except Exception as error:  # a database connection terminated under us: not requested
        print(f"reply request failed: {error}", file=sys.stderr)
        return None


def passed(result: dict) -> bool:
    return (
        # The beats had breaches to alert and surveys to send: no doubles means nothing
        # without them.
        result["sla_alerts"] > 0
        and result["csat_messages"] > 0
        and result["sla_alerts_duplicated"] == 0
        and result["csat_messages_duplicated"] == 0
        and result["posts_lost"] == 0
        and result["posts_duplicated"] == 0
        and result["replies_duplicated"] == 0
        and result["replies_unsent"] == 0
        and result["replies_posted"] == result["replies_requested"]
    )


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    sys.path.insert(0, str(REPO))
    result = run(args)
    print(
        f"posts: sent {result['posts_sent']}, stored {result['posts_stored']}, "
        f"lost {result['posts_lost']}, duplicated {result['posts_duplicated']}, "
        f"untriaged {result['posts_untriaged']}"
    )
    print(
        f"replies: requested {result['replies_requested']}, posted {result['replies_posted']}, "
        f"duplicated {result['replies_duplicated']}, unsent {result['replies_unsent']}, "
        f"marked sent {result['replies_marked_sent']}"
    )
    print("faults: " + ", ".join(f"{kind} {count}" for kind, count in result["faults"].items()))
    print(
        f"two beats: SLA alerts {result['sla_alerts']} "
        f"(duplicated {result['sla_alerts_duplicated']}), CSAT messages "
        f"{result['csat_messages']} (duplicated {result['csat_messages_duplicated']})"
    )
    print(f"webhook non-2xx answers: {result['webhook_errors']}; drained: {result['drained']}")
    print(json.dumps(result, sort_keys=True))
    return 0 if passed(result) else 1


if __name__ == "__main__":
    sys.exit(main())
