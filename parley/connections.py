"""The web process's PostgreSQL connections: a bounded pool instead of persistent connections.

Under ASGI each request runs its synchronous part in a thread of its own, so Django's
persistent connections (`CONN_MAX_AGE`) become one connection per request thread, left open
until the thread is collected. A storm of one-event webhook deliveries took PostgreSQL's last
free slot that way and the rest were answered 500 ("sorry, too many clients already"), as
Django's documentation warns: under ASGI, pool instead. So `serve` takes connections from
Django's psycopg pool, at most `DB_POOL_MAX_SIZE`, and a request waits up to
`DB_POOL_TIMEOUT` seconds for one rather than failing.

Celery workers keep their persistent per-process connections: a worker runs one task at a
time, and a pool opened before the prefork fork would be shared by the children
(celery/celery#9953).
"""

from __future__ import annotations

from django.conf import settings
from django.db import connections

POSTGRESQL = "django.db.backends.postgresql"


def use_connection_pool() -> bool:
    """From now on this process takes its PostgreSQL connections from a pool of at most
    `DB_POOL_MAX_SIZE` (health-checked, so a restarted server's dead connections are not
    handed out). Call it before serving; returns False where there is nothing to pool
    (SQLite, or `DB_POOL_MAX_SIZE=0`)."""
    database = settings.DATABASES["default"]
    if database["ENGINE"] != POSTGRESQL or settings.DB_POOL_MAX_SIZE <= 0:
        return False
    # A connection opened before (system checks, say) was not pooled. (Only when there is
    # one: a web process calls this while uvicorn loads the app, in its event loop.)
    if connections["default"].connection is not None:
        connections["default"].close()
    # Every thread's connection wrapper reads this same dict when it connects.
    database.setdefault("OPTIONS", {})["pool"] = {
        "min_size": min(settings.DB_POOL_MIN_SIZE, settings.DB_POOL_MAX_SIZE),
        "max_size": settings.DB_POOL_MAX_SIZE,
        "timeout": settings.DB_POOL_TIMEOUT,
    }
    database["CONN_MAX_AGE"] = 0
    database["CONN_HEALTH_CHECKS"] = True
    return True
