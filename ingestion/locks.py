"""Which batch may store an author's posts now: a transaction-scoped lock per author.

A batch stores an author's posts only while it holds the author's lock (ingestion.store), so
two batches never open two conversations for one customer nor store one post twice. On
PostgreSQL the lock is an advisory lock on a hash of the author's platform and id, taken
before any row is written: a batch can then ask for the authors no other batch holds
without waiting (and store their posts at once, in parallel with the others) and wait only
for the rest. Holding the lock, it also takes the author's row lock (the profile upsert),
as every writer of posts always did. Elsewhere (SQLite writes one transaction at a time)
every author counts as held.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from django.db import connection

# One array per call, whatever the batch: a short statement psycopg parses once.
_TRY_LOCKS = "SELECT key FROM unnest(%s::bigint[]) AS key WHERE pg_try_advisory_xact_lock(key)"
# In the array's order (sorted): two batches waiting for locks never wait crosswise.
_LOCKS = "SELECT count(pg_advisory_xact_lock(key)) FROM unnest(%s::bigint[]) AS key"


def author_lock_key(platform: str, external_id: str) -> int:
    """The advisory lock key of an author: 64 bits of a hash (a collision only makes two
    authors' batches wait for each other)."""
    digest = hashlib.blake2b(f"ingest:{platform}:{external_id}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big", signed=True)


def lock_authors(*, platform: str, external_ids: Iterable[str], wait: bool) -> set[str]:
    """Lock these authors until the caller's transaction ends; returns the ones locked.

    With `wait`, every one of them, waiting for the transactions that hold them (in key
    order). Without, only those no other transaction holds: it never waits. Must be called
    inside a transaction (`transaction.atomic`).
    """
    keys = {author_lock_key(platform, external_id): external_id for external_id in external_ids}
    if connection.vendor != "postgresql" or not keys:
        return set(keys.values())
    with connection.cursor() as cursor:
        if wait:
            cursor.execute(_LOCKS, [sorted(keys)])
            return set(keys.values())
        cursor.execute(_TRY_LOCKS, [list(keys)])
        return {keys[key] for (key,) in cursor.fetchall()}
