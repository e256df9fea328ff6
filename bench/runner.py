"""`python -m bench`: run every benchmark on Postgres + Redis, print one JSON object per
benchmark and a summary table, and write bench/results.json.

Defaults point at a private database and Redis db (`bench`, db 11) on 127.0.0.1; the runner
creates and migrates the database. `--quick` runs tiny sizes to prove the harness works.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/bench"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/11"
RESULTS = Path(__file__).resolve().parent / "results.json"
BENCHMARKS = ("triage", "webhooks", "ingest", "live", "inbox_fragments", "scale", "open_queue")

FULL = {
    "ingest_posts": 20_000,
    "per_delivery": 50,
    "workers": 4,
    "storms": 2,
    "triage_posts": 500,
    "sockets": 200,
    "live_posts": 40,
    "sizes": [10_000, 100_000, 1_000_000],
    "repeat": 15,
    "open_conversations": 100_000,
    # As many posts as the batched storm, so the two shapes compare: at 5,000 the storm was
    # five batches of 1,000 over four workers, and the last one ran alone.
    "ingest_posts_single": 20_000,
    "webhook_deliveries": 4_000,
    "webhook_offered_rate": 500,
    "fragment_batch": 50,
    "fragment_agents": 200,
}
QUICK = {
    "ingest_posts": 12,
    "per_delivery": 6,
    "workers": 1,
    "storms": 1,
    "triage_posts": 20,
    "sockets": 3,
    "live_posts": 2,
    "sizes": [200],
    "repeat": 1,
    "open_conversations": 20,
    "ingest_posts_single": 6,
    "webhook_deliveries": 40,
    "webhook_offered_rate": 20,
    "fragment_batch": 3,
    "fragment_agents": 3,
}

# (results key, target, "min" when the figure must reach the target, "max" when it must not
# exceed it); the summary table marks each figure against its target.
TARGETS = [
    ("ingest_posts_per_s", 1000, "min"),
    ("ingest_ratio_to_raw_insert", 0.50, "min"),
    ("triage_ms_per_post", 1.0, "max"),
    ("triage_ratio_to_bare_predict", 1.5, "max"),
    ("live_p95_ms", 250, "max"),
    ("inbox_queries_at_1m", 12, "max"),
    ("inbox_ms_at_1m", 100, "max"),
    ("conversation_queries_at_1m", 12, "max"),
    ("conversation_ms_at_1m", 100, "max"),
    ("kpi_ms_at_1m", 250, "max"),
    ("kpi_growth_ratio", 2, "max"),
    ("ingest_posts_per_s_single", 1000, "min"),
    ("worker_rss_mb", 400, "max"),
    ("inbox_ms_at_100k_open", 100, "max"),
    ("inbox_all_teams_ms_at_100k_open", 100, "max"),
    ("inbox_queries_at_100k_open", 12, "max"),
    ("search_ms_at_100k_open", 100, "max"),
    ("webhook_deliveries_per_s", 1000, "min"),
    ("webhook_p99_ms", 100, "max"),
    ("webhook_ratio_to_bare_asgi", 0.30, "min"),
    ("web_rss_mb", 400, "max"),
]


def configure_environment() -> None:
    os.environ.setdefault("DATABASE_URL", DEFAULT_DATABASE_URL)
    os.environ.setdefault("REDIS_URL", DEFAULT_REDIS_URL)
    if not os.environ["DATABASE_URL"].startswith(("postgres://", "postgresql://")):
        sys.exit("bench: DATABASE_URL must point at PostgreSQL (the benchmarks use COPY).")
    # Tasks go through Redis to real workers, on a queue of their own.
    os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"
    os.environ.setdefault("CELERY_TASK_DEFAULT_QUEUE", "bench")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "parley.settings")


def create_database() -> None:
    import psycopg

    parts = urlsplit(os.environ["DATABASE_URL"])
    name = parts.path.lstrip("/")
    server = parts._replace(path="/postgres").geturl()
    with psycopg.connect(server, autocommit=True) as admin:
        if not admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone():
            admin.execute(f'CREATE DATABASE "{name}"')


def machine() -> dict:
    pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    return {
        "cores": os.cpu_count(),
        "memory_gb": round(pages / 2**30, 1),
        "python": sys.version.split()[0],
        # Other work on the box slows every figure; the ratios are what to compare.
        "load_average_1m": round(os.getloadavg()[0], 2),
    }


def summary(results: dict) -> str:
    lines = [f"{'figure':32} {'value':>12} {'target':>10}  verdict"]
    for key, target, sense in TARGETS:
        value = results.get(key)
        if value is None:
            verdict = "not measured"
        elif (value >= target) if sense == "min" else (value <= target):
            verdict = "met"
        else:
            verdict = "MISSED"
        bound = f"{'>=' if sense == 'min' else '<='}{target:g}"
        shown = "-" if value is None else f"{value:g}"
        lines.append(f"{key:32} {shown:>12} {bound:>10}  {verdict}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="tiny sizes: proves it runs")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run just these")
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write")
    parser.add_argument(
        "--scale",
        choices=["1m", "10m"],
        default="1m",
        help="the largest history: 10m adds 10 M posts (long: loading alone takes a while)",
    )
    args = parser.parse_args(argv)
    sizes = QUICK if args.quick else FULL
    if args.scale == "10m" and not args.quick:
        sizes = {**sizes, "sizes": [*FULL["sizes"], 10_000_000]}
    chosen = args.only or BENCHMARKS

    configure_environment()
    create_database()
    import django

    django.setup()
    from django.core.management import call_command

    from .common import celery_worker, ensure_fixtures, free_port, parley_server

    call_command("migrate", verbosity=0)
    ensure_fixtures()

    port = free_port()
    with ExitStack() as servers:
        running: dict = {}

        def start_servers() -> dict:
            # After the triage benchmark (which must not share the CPU with their start-up),
            # before the others; the ingest benchmark waits until the worker answers.
            if "ingest" in chosen:
                running["worker"] = servers.enter_context(
                    celery_worker(concurrency=sizes["workers"])
                )
            if "live" in chosen:
                running["web"] = servers.enter_context(parley_server(port))
            return running

        output = run_benchmarks(chosen, sizes, port, start_servers)
    output["quick"] = args.quick
    args.results.write_text(json.dumps(output, indent=2) + "\n")
    print(summary(output))
    print(f"Results in {args.results} ({output['seconds']} s).")


def run_benchmarks(chosen, sizes: dict, port: int, start_servers) -> dict:
    from . import inbox_fragments, ingest, live, scale, triage_cost, webhook_intake

    started = time.perf_counter()
    results: dict = {}
    figures: dict = {}
    servers: dict = {}
    servers_started = False
    # Triage and webhook intake first: they need no worker (which would take the queued
    # deliveries' CPU from the server being measured).
    chosen = sorted(chosen, key=BENCHMARKS.index)
    for name in chosen:
        if name not in ("triage", "webhooks") and not servers_started:
            servers = start_servers()
            servers_started = True
        began = time.perf_counter()
        if name == "triage":
            # Batches of one webhook delivery's posts, as the ingest benchmark delivers them.
            result = triage_cost.run(posts=sizes["triage_posts"], batch=sizes["per_delivery"])
        elif name == "webhooks":
            result = webhook_intake.run(
                deliveries=sizes["webhook_deliveries"], offered_rate=sizes["webhook_offered_rate"]
            )
        elif name == "ingest":
            result = ingest.run(
                posts=sizes["ingest_posts"],
                per_delivery=sizes["per_delivery"],
                concurrency=sizes["workers"],
                storms=sizes["storms"],
                single_posts=sizes["ingest_posts_single"],
                worker_pid=servers["worker"].pid,
            )
        elif name == "live":
            result = live.run(sockets=sizes["sockets"], posts=sizes["live_posts"], port=port)
        elif name == "inbox_fragments":
            result = inbox_fragments.run(
                batch=sizes["fragment_batch"],
                agents=sizes["fragment_agents"],
                repeat=sizes["repeat"],
            )
        elif name == "scale":
            result = scale.run(sizes=sizes["sizes"], repeat=sizes["repeat"])
        else:
            # On the history the scale benchmark left (its largest size).
            result = scale.open_queue(
                open_conversations=sizes["open_conversations"], repeat=sizes["repeat"]
            )
        result["benchmark_seconds"] = round(time.perf_counter() - began, 1)
        print(json.dumps(result), flush=True)
        results[name] = result
        figures.update(
            {
                key: value
                for key, value in result.items()
                if isinstance(value, int | float) and key != "benchmark_seconds"
            }
        )
        figures.update(result.get("figures", {}))

    output = {
        **{key: figures.get(key) for key, _, _ in TARGETS},
        **{k: v for k, v in figures.items() if k not in dict.fromkeys(k for k, _, _ in TARGETS)},
        "machine": machine(),
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        "seconds": round(time.perf_counter() - started, 1),
        "benchmarks": results,
    }
    return output
