"""Group commit (reliability.group_commit): the items waiting while a write is in flight are
written together, and each caller hears back only once its item's write has returned."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import CancelledError

import pytest

from reliability.group_commit import GroupCommit, LoopGroupCommit


class Store:
    """A store that records each batch and can be held in the middle of a write."""

    def __init__(self, fail_on=None) -> None:
        self.batches: list[list] = []
        self.writing = threading.Event()
        self.release = threading.Event()
        self.release.set()
        self.fail_on = fail_on

    def __call__(self, items):
        self.batches.append(list(items))
        self.writing.set()
        assert self.release.wait(10)
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"cannot store {self.fail_on}")
        return [f"stored {item}" for item in items]


@pytest.fixture
def held_store():
    store = Store()
    store.release.clear()
    return store


def test_items_arriving_during_a_write_are_written_together_in_the_next(held_store):
    writer = GroupCommit(held_store, max_batch=100, name="test-writer")
    first = writer.submit("a")
    assert held_store.writing.wait(10)
    waiting = [writer.submit(item) for item in "bcd"]

    held_store.release.set()

    assert first.result(10) == "stored a"
    assert [future.result(10) for future in waiting] == ["stored b", "stored c", "stored d"]
    assert held_store.batches == [["a"], ["b", "c", "d"]]
    writer.stop()


def test_no_caller_hears_back_before_its_write_has_returned(held_store):
    writer = GroupCommit(held_store, max_batch=100, name="test-writer")
    future = writer.submit("a")
    assert held_store.writing.wait(10)

    assert not future.done()
    held_store.release.set()
    assert future.result(10) == "stored a"
    writer.stop()


def test_a_batch_is_no_larger_than_max_batch(held_store):
    writer = GroupCommit(held_store, max_batch=2, name="test-writer")
    writer.submit("a")
    assert held_store.writing.wait(10)
    futures = [writer.submit(item) for item in "bcde"]

    held_store.release.set()

    assert [future.result(10) for future in futures] == [f"stored {x}" for x in "bcde"]
    assert held_store.batches == [["a"], ["b", "c"], ["d", "e"]]
    writer.stop()


def test_one_bad_item_fails_only_its_own_caller(held_store):
    held_store.fail_on = "bad"
    writer = GroupCommit(held_store, max_batch=100, name="test-writer")
    writer.submit("a")
    assert held_store.writing.wait(10)
    good, bad, other = (writer.submit(item) for item in ("b", "bad", "c"))

    held_store.release.set()

    assert good.result(10) == "stored b"
    assert other.result(10) == "stored c"
    with pytest.raises(ValueError, match="cannot store bad"):
        bad.result(10)
    # The failed batch, then each of its items alone.
    assert held_store.batches[1:] == [["b", "bad", "c"], ["b"], ["bad"], ["c"]]
    writer.stop()


def test_a_caller_that_gave_up_before_its_write_is_not_stored(held_store):
    writer = GroupCommit(held_store, max_batch=100, name="test-writer")
    writer.submit("a")
    assert held_store.writing.wait(10)
    gone = writer.submit("gone")
    kept = writer.submit("kept")
    assert gone.cancel()

    held_store.release.set()

    assert kept.result(10) == "stored kept"
    with pytest.raises(CancelledError):
        gone.result(10)
    assert held_store.batches == [["a"], ["kept"]]
    writer.stop()


def test_stop_writes_what_is_queued_first(held_store):
    writer = GroupCommit(held_store, max_batch=100, name="test-writer")
    writer.submit("a")
    assert held_store.writing.wait(10)
    queued = writer.submit("b")

    held_store.release.set()
    writer.stop()

    assert queued.result(0) == "stored b"


def test_callers_on_an_event_loop_hear_back_with_one_wake_up_per_batch(held_store):
    writer = GroupCommit(held_store, max_batch=100, name="test-writer")
    wake_ups = []

    async def deliver_all():
        loop = asyncio.get_running_loop()
        threadsafe = loop.call_soon_threadsafe

        def counted(callback, *args):
            wake_ups.append(callback)
            return threadsafe(callback, *args)

        loop.call_soon_threadsafe = counted
        first = writer.submit_async("a")
        while not held_store.writing.is_set():
            await asyncio.sleep(0.01)
        waiting = [writer.submit_async(item) for item in "bcd"]
        held_store.release.set()
        return await asyncio.gather(first, *waiting)

    results = asyncio.run(deliver_all())

    assert results == ["stored a", "stored b", "stored c", "stored d"]
    assert held_store.batches == [["a"], ["b", "c", "d"]]
    assert len(wake_ups) == 2  # one per batch, not one per caller
    writer.stop()


def test_a_caller_on_an_event_loop_that_gave_up_before_its_batch_is_not_stored(held_store):
    writer = GroupCommit(held_store, max_batch=100, name="test-writer")

    async def give_up_on_b():
        first = writer.submit_async("a")
        while not held_store.writing.is_set():
            await asyncio.sleep(0.01)
        abandoned, kept = writer.submit_async("b"), writer.submit_async("c")
        abandoned.cancel()
        held_store.release.set()
        return await asyncio.gather(first, kept)

    assert asyncio.run(give_up_on_b()) == ["stored a", "stored c"]
    assert held_store.batches == [["a"], ["c"]]
    writer.stop()


class LoopStore:
    """A coroutine store on the callers' event loop that records each batch and can be held
    in the middle of a write."""

    def __init__(self, fail_on=None) -> None:
        self.batches: list[list] = []
        self.writing = asyncio.Event()
        self.release = asyncio.Event()
        self.fail_on = fail_on

    async def __call__(self, items):
        self.batches.append(list(items))
        self.writing.set()
        await self.release.wait()
        if self.fail_on is not None and self.fail_on in items:
            raise ValueError(f"cannot store {self.fail_on}")
        return [f"stored {item}" for item in items]


def run_on_loop(scenario, *, max_batch=100, fail_on=None):
    """`scenario(writer, store)` on a fresh event loop, with a LoopGroupCommit over a held
    LoopStore; its result, and the store's batches."""

    async def main():
        store = LoopStore(fail_on)
        writer = LoopGroupCommit(store, max_batch=max_batch, name="test-writer")
        return await scenario(writer, store), store.batches

    return asyncio.run(main())


async def _first_write_held(writer, store):
    first = asyncio.ensure_future(writer.submit_async("a"))
    await asyncio.wait_for(store.writing.wait(), 10)
    return first


def test_on_the_loop_items_arriving_during_a_write_are_written_together_after_it():
    async def scenario(writer, store):
        first = await _first_write_held(writer, store)
        waiting = [asyncio.ensure_future(writer.submit_async(item)) for item in "bcd"]
        await asyncio.sleep(0.01)
        heard_early = first.done() or any(future.done() for future in waiting)
        store.release.set()
        return heard_early, await asyncio.gather(first, *waiting)

    (heard_early, results), batches = run_on_loop(scenario)

    assert heard_early is False
    assert results == ["stored a", "stored b", "stored c", "stored d"]
    assert batches == [["a"], ["b", "c", "d"]]


def test_on_the_loop_one_bad_item_fails_only_its_own_caller():
    async def scenario(writer, store):
        first = await _first_write_held(writer, store)
        callers = [asyncio.ensure_future(writer.submit_async(item)) for item in ("b", "bad", "c")]
        await asyncio.sleep(0)
        store.release.set()
        return await asyncio.gather(first, *callers, return_exceptions=True)

    results, batches = run_on_loop(scenario, fail_on="bad")

    assert results[:2] == ["stored a", "stored b"]
    assert isinstance(results[2], ValueError)
    assert results[3] == "stored c"
    # The failed batch, then each of its items alone.
    assert batches[1:] == [["b", "bad", "c"], ["b"], ["bad"], ["c"]]


def test_on_the_loop_a_caller_that_gave_up_before_its_batch_is_not_stored():
    async def scenario(writer, store):
        first = await _first_write_held(writer, store)
        gone = asyncio.ensure_future(writer.submit_async("gone"))
        kept = asyncio.ensure_future(writer.submit_async("kept"))
        await asyncio.sleep(0)
        gone.cancel()
        store.release.set()
        return await asyncio.gather(first, kept)

    results, batches = run_on_loop(scenario)

    assert results == ["stored a", "stored kept"]
    assert batches == [["a"], ["kept"]]


def test_on_the_loop_a_batch_is_no_larger_than_max_batch():
    async def scenario(writer, store):
        first = await _first_write_held(writer, store)
        waiting = [asyncio.ensure_future(writer.submit_async(item)) for item in "bcde"]
        await asyncio.sleep(0)
        store.release.set()
        return await asyncio.gather(first, *waiting)

    results, batches = run_on_loop(scenario, max_batch=2)

    assert results == [f"stored {item}" for item in "abcde"]
    assert batches == [["a"], ["b", "c"], ["d", "e"]]


def _watch_gathering(writer) -> asyncio.Event:
    """An event set each time the writer starts waiting for a batch to fill (its real wait
    still runs)."""
    gathering = asyncio.Event()
    gather = writer._gather

    async def watched():
        gathering.set()
        await gather()

    writer._gather = watched
    return gathering


async def _release_the_held_write(store) -> None:
    """Let the write in progress return, and hold the next one."""
    store.writing.clear()
    store.release.set()
    await asyncio.sleep(0)
    store.release.clear()


def test_on_the_loop_under_load_deliveries_on_their_way_join_the_next_batch():
    async def scenario(writer, store):
        gathering = _watch_gathering(writer)
        first = await _first_write_held(writer, store)
        busy = [asyncio.ensure_future(writer.submit_async(item)) for item in "bcd"]
        await _release_the_held_write(store)
        await asyncio.wait_for(store.writing.wait(), 10)  # b, c, d: as many as waited
        early = asyncio.ensure_future(writer.submit_async("e"))
        store.release.set()
        # Fewer wait (one) than the last batch carried (three): the writer lets the loop turn
        # for more. (asyncio.timeout, not wait_for: no task of its own to go through.)
        async with asyncio.timeout(10):
            await gathering.wait()
        on_their_way = [asyncio.ensure_future(writer.submit_async(item)) for item in "fg"]
        return await asyncio.gather(first, *busy, early, *on_their_way)

    results, batches = run_on_loop(scenario)

    assert results == [f"stored {item}" for item in "abcdefg"]
    assert batches == [["a"], ["b", "c", "d"], ["e", "f", "g"]]


def test_on_the_loop_a_delivery_arriving_alone_is_not_held_for_others():
    async def scenario(writer, store):
        gathering = _watch_gathering(writer)
        store.release.set()
        alone = await writer.submit_async("a")
        after_it = await writer.submit_async("b")
        return alone, after_it, gathering.is_set()

    (alone, after_it, gathered), batches = run_on_loop(scenario)

    assert (alone, after_it) == ("stored a", "stored b")
    assert gathered is False
    assert batches == [["a"], ["b"]]
