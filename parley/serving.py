"""The ASGI application as each `manage.py serve` process runs it.

uvicorn imports this module in every web process it starts (one per core in production,
`WEB_CONCURRENCY`), so what each process needs before its first request is done here, once:
PostgreSQL connections from a bounded pool (parley.connections), webhook deliveries
stored through one group-commit writer (ingestion.intake), and no access-log line for a
delivery answered 200 (parley.webhook_fast_path). Tests and other servers import
parley.asgi, which does neither.
"""

from __future__ import annotations

# First: importing it sets Django up, which the models below need.
from .asgi import application
from .connections import use_connection_pool

use_connection_pool()

from ingestion.intake import start_group_commit  # noqa: E402

from .webhook_fast_path import skip_stored_deliveries_in_access_log  # noqa: E402

start_group_commit()
skip_stored_deliveries_in_access_log()

__all__ = ["application"]
