"""The per-feed scheduler on a real APScheduler: each feed runs on its own times, never overlapping itself,
and a job that blows up is still rescheduled."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

from bot import clock
from bot.fetch.schedule import FeedScheduler


async def test_each_feed_reschedules_itself_without_overlap() -> None:
    running: dict[str, int] = {"a": 0, "b": 0}
    most: dict[str, int] = {"a": 0, "b": 0}
    runs: dict[str, int] = {"a": 0, "b": 0}
    done = asyncio.Event()

    async def poll(url: str) -> datetime:
        running[url] += 1
        most[url] = max(most[url], running[url])
        await asyncio.sleep(0.05)
        running[url] -= 1
        runs[url] += 1
        if runs["a"] >= 3 and runs["b"] >= 3:
            done.set()
        # Ask for the next run "now": a run must still never start before this one returned.
        return clock.now()

    scheduler = FeedScheduler(poll)
    now = clock.now()
    scheduler.start([("a", now - timedelta(hours=1)), ("b", now)])
    try:
        await asyncio.wait_for(done.wait(), timeout=10)
    finally:
        scheduler.shutdown()
    assert most == {"a": 1, "b": 1}


async def test_a_failing_poll_is_retried_later_not_dropped() -> None:
    calls = 0

    async def poll(url: str) -> datetime:
        nonlocal calls
        calls += 1
        raise RuntimeError("bug")

    scheduler = FeedScheduler(poll)
    scheduler.start([("feed", clock.now())])
    try:
        for _ in range(100):
            if calls:
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        next_run = scheduler.next_run("feed")
    finally:
        scheduler.shutdown()
    assert calls == 1
    assert next_run is not None
    assert timedelta(minutes=4) < next_run - clock.now() <= timedelta(minutes=5)


async def test_feeds_are_added_moved_and_removed_while_running_without_overlap() -> None:
    """An edit of the config: a feed removed mid-poll is not polled again, one moved mid-poll goes on at the
    time its poll answers, never twice at once; a new feed starts."""
    started: dict[str, int] = {}
    running: set[str] = set()
    overlaps: list[str] = []
    release = asyncio.Event()

    async def poll(url: str) -> datetime:
        if url in running:
            overlaps.append(url)
        running.add(url)
        started[url] = started.get(url, 0) + 1
        if url in ("slow", "moved"):
            await release.wait()
        running.discard(url)
        return clock.now() + timedelta(hours=1)

    scheduler = FeedScheduler(poll)
    scheduler.start([("slow", clock.now()), ("moved", clock.now())])
    try:
        while len(started) < 2:
            await asyncio.sleep(0.01)
        scheduler.remove("slow")
        scheduler.set_due("moved", clock.now())
        scheduler.set_due("new", clock.now())
        while "new" not in started:
            await asyncio.sleep(0.01)
        release.set()
        await asyncio.sleep(0.1)
        assert scheduler.next_run("slow") is None
        moved = scheduler.next_run("moved")
        assert moved is not None and moved > clock.now() + timedelta(minutes=59)
        scheduler.set_due("moved", clock.now() - timedelta(seconds=5))
        while started["moved"] < 2:
            await asyncio.sleep(0.01)
    finally:
        scheduler.shutdown()
    assert started == {"slow": 1, "moved": 2, "new": 1}
    assert overlaps == []
