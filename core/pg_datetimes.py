"""timestamptz values read by psycopg's C loader on Django's PostgreSQL connections.

Django reads every timestamptz through a loader of its own: a Python subclass of psycopg's
pure-Python loader, which then sets the value's tzinfo to the connection's time zone. So
psycopg's C loader is never used, and each value costs ~5 µs of parsing in Python; the
ingest path reads some 18 a post (conversations, timers), about a twentieth of a worker's
CPU (docs/performance.md). Where Django's connection works in UTC (USE_TZ, and no TIME_ZONE
of the database's own: how Parley runs) and the session's time zone is UTC (Django sets it
when it connects), psycopg's C loader returns the same values, `datetime.timezone.utc`
included. This loader hands each value to it; its `timezone` is what Django compares with
the connection's when it opens a cursor, so Django keeps it. Anywhere else Django's stays.
"""

from __future__ import annotations

import datetime
from typing import Any

import psycopg
from psycopg.adapt import Loader
from psycopg.pq import Format

_TIMESTAMPTZ_OID = psycopg.adapters.types["timestamptz"].oid
# psycopg's own text loader: its C version when psycopg's binary or C package is installed.
_PSYCOPG_LOADER = psycopg.adapters.get_loader(_TIMESTAMPTZ_OID, Format.TEXT)


class UtcTimestamptzLoader(Loader):
    """psycopg's C timestamptz loader, on a connection whose session time zone is UTC."""

    timezone = datetime.UTC

    def __init__(self, oid: int, context: Any = None) -> None:
        super().__init__(oid, context)
        self._load = _PSYCOPG_LOADER(oid, context).load

    def load(self, data: Any) -> datetime.datetime:
        return self._load(data)


def use_c_loader(connection: Any) -> bool:
    """Read this Django connection's timestamptz values with psycopg's C loader when it gives
    what Django's would; whether it does now."""
    if (
        connection.vendor != "postgresql"
        or connection.timezone is not datetime.UTC
        or not _PSYCOPG_LOADER.__module__.startswith(("psycopg_binary", "psycopg_c"))
        or connection.connection.info.parameter_status("TimeZone") != "UTC"
    ):
        return False
    connection.connection.adapters.register_loader("timestamptz", UtcTimestamptzLoader)
    return True


def on_connection_created(sender: Any, connection: Any, **kwargs: Any) -> None:
    """connection_created receiver, for every connection Django opens or takes from its pool."""
    use_c_loader(connection)
