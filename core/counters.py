"""Counters every process adds to and `/metrics` reads, such as posts ingested per platform.

They live in the cache: Redis in production, so web processes and workers add to one count;
per process on the embedded defaults. Counting there costs one increment per stored batch,
where counting rows at each scrape cost half a second at a million posts. A counter starts
again from 0 if Redis is emptied, which Prometheus' `rate()` and `increase()` allow for.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable

from django.core.cache import cache

logger = logging.getLogger(__name__)

PREFIX = "parley:counter:"


def increment(name: str, amount: int = 1) -> None:
    """Add `amount` to counter `name`; never fails the caller (a lost count is only a
    metric's)."""
    key = PREFIX + name
    try:
        cache.add(key, 0, timeout=None)
        cache.incr(key, amount)
    except Exception as error:
        logger.debug("Counter %s not incremented: %s", name, error)


def read(names: Iterable[str]) -> dict[str, int]:
    """The counters among `names` that have counted something."""
    names = list(names)
    found = cache.get_many([PREFIX + name for name in names])
    return {name: int(found[PREFIX + name]) for name in names if PREFIX + name in found}


def posts_ingested_counter(platform: str) -> str:
    return f"posts-ingested:{platform}"
