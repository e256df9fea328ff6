"""The ASGI application as each `manage.py serve` process runs it.

uvicorn imports this module in every web process it starts (one per core in production,
`WEB_CONCURRENCY`), so what each process needs before its first request is done here, once:
PostgreSQL connections from a bounded pool (parley.connections), webhook deliveries
stored through one group-commit writer (ingestion.intake), no access-log line for a
delivery answered 200 (parley.webhook_fast_path), and what start-up built kept out of the
garbage collector's way. Tests and other servers import parley.asgi, which does none of it.
"""

from __future__ import annotations

import gc

# First: importing it sets Django up, which the models below need.
from .asgi import application
from .connections import use_connection_pool

use_connection_pool()

from ingestion.intake import start_group_commit  # noqa: E402

from .webhook_fast_path import skip_stored_deliveries_in_access_log  # noqa: E402

start_group_commit()
skip_stored_deliveries_in_access_log()

# What start-up built (modules, settings, models, URL patterns: a few hundred thousand
# objects) lives as long as the process. Left to the collector, each of its full passes
# walked all of it and held every request of the process for 75 to 170 ms, every few
# seconds of a storm: the webhook p99 at 500 deliveries/s (docs/performance.md). Frozen, a
# full pass walks only what was made since (as Instagram does for its Django processes).
gc.collect()
gc.freeze()

__all__ = ["application"]
