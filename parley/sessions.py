"""Sessions read from the shared cache (Redis) and written through to the database, for a
cache that may be away.

Django's `cached_db` store saves a query on every page, but it fails the request when the
cache cannot be reached: a login checks the cache for a clashing key, a logout deletes the
cached copy. Here the cache is best effort, so agents log in, work and log out while Redis is
down (tests/reliability/test_redis_down.py), and the database stays the truth.

A cached copy lives at most `SESSION_CACHE_SECONDS`: a logout while Redis was away cannot
remove it, and when Redis comes back with its data (AOF) that copy must not keep a browser
logged in for the session's two weeks.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.contrib.sessions.backends import cached_db
from redis.exceptions import RedisError

logger = logging.getLogger(__name__)

UNREACHABLE = (RedisError, OSError)


class BestEffortCache:
    """The calls `cached_db` makes on its cache; a cache that cannot be reached reads as empty
    and its writes are skipped, with a log line."""

    def __init__(self, cache: Any) -> None:
        self._cache = cache

    def _bounded(self, timeout: int | None) -> int:
        cap = settings.SESSION_CACHE_SECONDS
        return cap if timeout is None else max(0, min(timeout, cap))

    def _unreachable(self, action: str, error: Exception) -> None:
        logger.warning("Session cache unreachable (%s): %s; using the database", action, error)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self._cache.get(key, default)
        except UNREACHABLE as error:
            self._unreachable("read", error)
            return default

    def set(self, key: str, value: Any, timeout: int | None = None) -> None:
        try:
            self._cache.set(key, value, self._bounded(timeout))
        except UNREACHABLE as error:
            self._unreachable("write", error)

    def delete(self, key: str) -> None:
        try:
            self._cache.delete(key)
        except UNREACHABLE as error:
            self._unreachable("delete", error)

    def __contains__(self, key: str) -> bool:
        try:
            return key in self._cache
        except UNREACHABLE as error:
            self._unreachable("read", error)
            return False

    async def aget(self, key: str, default: Any = None) -> Any:
        try:
            return await self._cache.aget(key, default)
        except UNREACHABLE as error:
            self._unreachable("read", error)
            return default

    async def aset(self, key: str, value: Any, timeout: int | None = None) -> None:
        try:
            await self._cache.aset(key, value, self._bounded(timeout))
        except UNREACHABLE as error:
            self._unreachable("write", error)

    async def adelete(self, key: str) -> None:
        try:
            await self._cache.adelete(key)
        except UNREACHABLE as error:
            self._unreachable("delete", error)


class SessionStore(cached_db.SessionStore):
    def __init__(self, session_key: str | None = None) -> None:
        super().__init__(session_key)
        self._cache = BestEffortCache(self._cache)
