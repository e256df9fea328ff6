"""Group commit: many callers' rows written in one transaction, each caller answered after it.

A commit costs an fsync (about 9 ms on the benchmark machine), so a web process that commits
once per webhook delivery is bound by commits, not by Python. Here callers hand their item to
one writer thread and wait; the thread takes every item waiting at that moment (up to
`max_batch`), stores them with one call of `store` (one transaction: the caller's business),
and only then resolves each caller's future. While a commit is in flight the next callers
queue up, so batches grow with the load and nothing waits for a timer.

The writer keeps its database connection from one batch to the next. Handing it back to
the pool after each batch, as Django does after a request, made the next batch take it
again, and the pool's check of a connection it hands out is a round trip: a quarter of the
writer's busy time in a webhook storm. After a batch that failed it is given back (closed
when broken) before the items are retried, and when the writer stops.

Guarantees: a future gets its result only once `store` has returned, i.e. committed; when
`store` raises, the batch's items are tried one by one, so one bad item fails only its own
caller; a caller that gave up (its future cancelled, say the client went away) before its
item was taken is left out, and one that gives up later finds it stored (the platform's
redelivery is then a duplicate, which the caller's `store` must tolerate).

Callers on an event loop (`submit_async`) get an asyncio future, and the writer wakes each
loop once per batch to settle all of that loop's futures: waking it once per item (what
`asyncio.wrap_future` does) was a tenth of a webhook delivery's CPU in a profile.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
from collections.abc import Awaitable, Callable, Sequence
from concurrent.futures import Future
from typing import Any

from django.db import close_old_connections

logger = logging.getLogger(__name__)


class _LoopWaiter:
    """A caller waiting on an event loop: its asyncio future, settled on that loop."""

    __slots__ = ("future", "loop")

    def __init__(self, loop: asyncio.AbstractEventLoop, future: asyncio.Future) -> None:
        self.loop = loop
        self.future = future

    def set_running_or_notify_cancel(self) -> bool:
        # Read from the writer thread: a caller cancelled a moment later is stored anyway,
        # as one that gives up after its item was taken is.
        return not self.future.cancelled()


def _settle_on_loop(outcomes: list[tuple[asyncio.Future, Any, BaseException | None]]) -> None:
    for future, result, error in outcomes:
        if future.done():  # cancelled meanwhile
            continue
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)


class GroupCommit:
    """One writer thread storing the items handed to `submit` in batches; see the module."""

    def __init__(
        self, store: Callable[[Sequence[Any]], Sequence[Any]], *, max_batch: int, name: str
    ) -> None:
        self._store = store
        self.max_batch = max(1, max_batch)
        self.name = name
        self._queue: queue.SimpleQueue[tuple[Any, Future | _LoopWaiter] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, item: Any) -> Future:
        """A future resolved with `store`'s result for `item` once its batch has committed."""
        future: Future = Future()
        self._queue.put((item, future))
        if self._thread is None:
            self._start()
        return future

    def submit_async(self, item: Any) -> asyncio.Future:
        """From a coroutine: an asyncio future of the running loop, resolved with `store`'s
        result for `item` once its batch has committed. Cancelling it before the writer
        takes the item leaves the item out."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put((item, _LoopWaiter(loop, future)))
        if self._thread is None:
            self._start()
        return future

    def stop(self, timeout: float = 10.0) -> None:
        """Store what is queued, then end the thread."""
        thread = self._thread
        if thread is not None:
            self._queue.put(None)
            thread.join(timeout)
            self._thread = None

    def _start(self) -> None:
        # Started on first use, in the process (and after the fork) that serves.
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()

    def _run(self) -> None:
        try:
            self._write_batches()
        finally:
            close_old_connections()

    def _write_batches(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            stopping = False
            while len(batch) < self.max_batch:
                try:
                    waiting = self._queue.get_nowait()
                except queue.Empty:
                    break
                if waiting is None:
                    stopping = True
                    break
                batch.append(waiting)
            # A caller that has given up already is not stored; the others can no longer be
            # cancelled.
            self._write([entry for entry in batch if entry[1].set_running_or_notify_cancel()])
            if stopping:
                return

    def _write(self, batch: list[tuple[Any, Any]]) -> None:
        if not batch:
            return
        outcomes: list[tuple[Any, Any, BaseException | None]] = []
        try:
            results = self._store([item for item, _ in batch])
        except Exception as error:
            close_old_connections()
            if len(batch) == 1:
                outcomes.append((batch[0][1], None, error))
            else:
                logger.warning(
                    "%s: a batch of %d failed (%r); storing its items one by one",
                    self.name,
                    len(batch),
                    error,
                )
                outcomes.extend(self._write_alone(entry) for entry in batch)
        else:
            outcomes.extend(
                (waiter, result, None) for (_, waiter), result in zip(batch, results, strict=True)
            )
        _settle(outcomes)

    def _write_alone(self, entry: tuple[Any, Any]) -> tuple[Any, Any, BaseException | None]:
        item, waiter = entry
        try:
            return (waiter, self._store([item])[0], None)
        except Exception as error:
            return (waiter, None, error)
        finally:
            close_old_connections()


def _settle(outcomes: list[tuple[Any, Any, BaseException | None]]) -> None:
    """Resolve each caller's future: a thread's at once, a loop's with one wake-up per loop."""
    by_loop: dict[asyncio.AbstractEventLoop, list] = {}
    for waiter, result, error in outcomes:
        if isinstance(waiter, _LoopWaiter):
            by_loop.setdefault(waiter.loop, []).append((waiter.future, result, error))
        elif error is not None:
            waiter.set_exception(error)
        else:
            waiter.set_result(result)
    for loop, settled in by_loop.items():
        try:
            loop.call_soon_threadsafe(_settle_on_loop, settled)
        except RuntimeError:
            # The loop is closed: its callers are gone, their items stored all the same.
            logger.debug("group commit: a caller's event loop closed before it heard back")


# How many turns of the event loop a batch waits for the items on their way (LoopGroupCommit).
GATHER_TURNS = 2


class LoopGroupCommit:
    """The same group commit for a coroutine `store`, run on the callers' event loop: no
    writer thread. For a store whose database I/O is asynchronous (a psycopg AsyncConnection),
    so the web process's one thread waits for the database as it waits for sockets.

    With a writer thread, a webhook storm kept two threads of each web process taking the
    GIL from each other (the loop parsing requests, the writer in psycopg), and each batch
    woke the loop from the other thread; the thread was a fifth of a delivery's CPU and the
    loop's side of the hand-over more (docs/performance.md). Same guarantees as GroupCommit:
    a caller hears back only once `store` has returned; a failed batch is retried item by
    item; a caller that gave up before its batch was taken is left out. One writer serves one
    event loop (a web process has one).
    """

    def __init__(
        self,
        store: Callable[[Sequence[Any]], Awaitable[Sequence[Any]]],
        *,
        max_batch: int,
        name: str,
    ) -> None:
        self._store = store
        self.max_batch = max(1, max_batch)
        self.name = name
        self._waiting: list[tuple[Any, asyncio.Future]] = []
        self._writing: asyncio.Task | None = None
        # How many items the last batch carried: the load the writer has just seen.
        self._last_batch_size = 0

    async def submit_async(self, item: Any) -> Any:
        """`store`'s result for `item`, once its batch has been stored."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._waiting.append((item, future))
        if self._writing is None:
            self._writing = loop.create_task(self._write_batches(), name=self.name)
        return await future

    def stop(self, timeout: float = 10.0) -> None:
        """Nothing to stop: what is waiting is written by the loop that serves its callers."""

    async def _write_batches(self) -> None:
        try:
            while self._waiting:
                if len(self._waiting) < min(self._last_batch_size, self.max_batch):
                    await self._gather()
                batch = self._waiting[: self.max_batch]
                del self._waiting[: self.max_batch]
                self._last_batch_size = len(batch)
                # A caller that has given up already is not stored.
                await self._write([entry for entry in batch if not entry[1].cancelled()])
        finally:
            self._writing = None

    async def _gather(self) -> None:
        """Under load (fewer items wait than the last batch carried), let the items on their
        way join this batch: the event loop turns twice first, reading the requests whose
        bytes have arrived and running them up to their `submit_async`.

        In a storm the callers answered by the last commit send their next requests a moment
        later, while the writer has already taken the few that came during the commit: each
        commit carried half the callers. Two turns of the loop (a few microseconds when
        nothing is there) made the commits a quarter fewer and the CPU per item, the
        database's included, a tenth lower, and answered sooner, not later
        (docs/performance.md). A lone item never waits: after a batch of one, nothing is
        smaller. A timed wait would be loop-dependent: uvloop runs a timer under a
        millisecond at its next turn, asyncio's own loop a millisecond later."""
        for _ in range(GATHER_TURNS):
            await asyncio.sleep(0)

    async def _write(self, batch: list[tuple[Any, asyncio.Future]]) -> None:
        if not batch:
            return
        try:
            results = await self._store([item for item, _ in batch])
        except Exception as error:
            if len(batch) == 1:
                _settle_on_loop([(batch[0][1], None, error)])
                return
            logger.warning(
                "%s: a batch of %d failed (%r); storing its items one by one",
                self.name,
                len(batch),
                error,
            )
            for entry in batch:
                await self._write([entry])
            return
        _settle_on_loop(
            [(future, result, None) for (_, future), result in zip(batch, results, strict=True)]
        )
