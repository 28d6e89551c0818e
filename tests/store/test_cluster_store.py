"""The store's side of several processes on one database: each due feed is claimed once, a claim ends when
its poll is saved and runs out when its process dies; a role is held by one session and freed with it;
entries handed over count as seen and are taken once; processes are recorded and forgotten."""

from __future__ import annotations

import asyncio
import contextlib
import time
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.config import FeedConfig
from bot.feeds.register import register_feeds
from bot.fetch.poll_policy import PollPolicy
from bot.model import Entry, FeedState
from bot.store.claims import claim_due, release_claims, renew_claims
from bot.store.entries import NewEntry, has_entries, insert_entries, unseen_entries
from bot.store.feeds import save_state, sync_feeds
from bot.store.locks import STEP_GRACE, Lock, LostRole, RoleSession, prove_held, take_turn
from bot.store.processes import ProcessRow, beat, forget_stale, leave, list_processes
from bot.store.unfiled import filed_already, hand_over_entries, take_unfiled, unfiled_batch, unfiled_count

FEEDS = [FeedConfig(url=f"http://127.0.0.1:1/{n}.xml", name=f"Feed {n}") for n in range(10)]
LEASE = timedelta(seconds=30)


def _state(feed: FeedConfig, next_poll_at: datetime) -> FeedState:
    return FeedState(url=feed.url, name=feed.name or feed.url, next_poll_at=next_poll_at)


async def registered(engine: AsyncEngine, feeds: list[FeedConfig], now: datetime) -> dict[str, int]:
    """The feeds known to the store, each planned as new feeds are: due at `now`."""
    return (await register_feeds(engine, feeds, PollPolicy(), now)).ids


async def test_processes_claiming_at_once_take_each_due_feed_once(pg_engine: AsyncEngine) -> None:
    now = clock.now()
    ids = await registered(pg_engine, FEEDS, now)
    batches = await asyncio.gather(*(claim_due(pg_engine, f"p{n}", now, LEASE, 4) for n in range(3)))
    claimed = [claim.feed_id for batch in batches for claim in batch]
    assert sorted(claimed) == sorted(ids.values())
    assert await claim_due(pg_engine, "late", now, LEASE, 10) == []


async def test_a_claim_ends_with_its_saved_poll_and_runs_out_when_its_process_dies(pg_engine: AsyncEngine) -> None:
    feed = FEEDS[0]
    now = clock.now()
    (feed_id,) = (await registered(pg_engine, [feed], now)).values()
    assert [c.feed_id for c in await claim_due(pg_engine, "a", now, LEASE, 5)] == [feed_id]
    next_poll = now + timedelta(minutes=5)
    async with pg_engine.begin() as conn:
        assert not await save_state(conn, feed_id, _state(feed, next_poll), title=None, polled_ok=True, owner="b")
        assert await save_state(conn, feed_id, _state(feed, next_poll), title=None, polled_ok=True, owner="a")
    assert await claim_due(pg_engine, "b", now, LEASE, 5) == [], "not due before its next poll"
    due = next_poll + timedelta(seconds=1)
    assert [c.feed_id for c in await claim_due(pg_engine, "b", due, LEASE, 5)] == [feed_id]
    assert await claim_due(pg_engine, "c", due + LEASE / 2, LEASE, 5) == [], "b's claim holds for its lease"
    # b dies: its claim runs out, c polls the feed, and b's late save finds the feed no longer its own.
    later = due + LEASE + timedelta(seconds=1)
    assert [c.feed_id for c in await claim_due(pg_engine, "c", later, LEASE, 5)] == [feed_id]
    async with pg_engine.begin() as conn:
        assert not await save_state(conn, feed_id, _state(feed, later), title=None, polled_ok=True, owner="b")
    # A live process renews the claims of the polls it is running (a claim whose poll is not running runs
    # out); a process that stops hands them back at once.
    async with pg_engine.begin() as conn:
        await renew_claims(conn, "c", [feed_id + 1], later + 10 * LEASE)
    assert [c.feed_id for c in await claim_due(pg_engine, "e", later + 5 * LEASE, LEASE, 5)] == [feed_id]
    await release_claims(pg_engine, "e")
    assert [c.feed_id for c in await claim_due(pg_engine, "c", later, LEASE, 5)] == [feed_id]
    async with pg_engine.begin() as conn:
        await renew_claims(conn, "c", [feed_id], later + 10 * LEASE)
    assert await claim_due(pg_engine, "d", later + 5 * LEASE, LEASE, 5) == []
    await release_claims(pg_engine, "c")
    assert [c.feed_id for c in await claim_due(pg_engine, "d", later, LEASE, 5)] == [feed_id]


async def test_feeds_the_config_dropped_are_kept_but_never_claimed(pg_engine: AsyncEngine) -> None:
    now = clock.now()
    await registered(pg_engine, FEEDS, now)
    kept = await registered(pg_engine, FEEDS[:2], now)
    claimed = await claim_due(pg_engine, "a", now, LEASE, 10)
    assert sorted(c.feed_id for c in claimed) == sorted(kept.values())


async def test_a_role_is_held_by_one_session_and_freed_with_it(pg_engine: AsyncEngine) -> None:
    first = await RoleSession.open(pg_engine, None)
    second = await RoleSession.open(pg_engine, None)
    try:
        assert await first.try_take(Lock.INGEST)
        assert not await second.try_take(Lock.INGEST)
        assert await second.try_take(Lock.DELIVERY)
        async with pg_engine.begin() as conn:
            await prove_held(conn, Lock.INGEST, first.pid)
        with pytest.raises(LostRole):
            async with pg_engine.begin() as conn:
                await prove_held(conn, Lock.INGEST, second.pid)
        await first.close()
        with pytest.raises(LostRole):  # a send's proof: no step to wait for, the check alone
            async with pg_engine.begin() as conn:
                await prove_held(conn, Lock.INGEST, first.pid, in_turn=False)
        assert await second.try_take(Lock.INGEST)
    finally:
        await second.close()


async def test_a_process_takes_back_its_own_claims_whose_poll_died(pg_engine: AsyncEngine) -> None:
    """A claim this process holds but no poll of it runs (it died with the database connection) is claimed
    again at once by its owner, never by another process before its lease runs out."""
    now = clock.now()
    ids = await registered(pg_engine, FEEDS[:2], now)
    first, second = sorted(ids.values())
    assert {c.feed_id for c in await claim_due(pg_engine, "a", now, LEASE, 10)} == {first, second}
    assert await claim_due(pg_engine, "b", now, LEASE, 10) == []
    again = await claim_due(pg_engine, "a", now, LEASE, 10, polling={first})
    assert [c.feed_id for c in again] == [second]


async def test_a_silent_session_loses_its_roles(pg_engine: AsyncEngine) -> None:
    silent = await RoleSession.open(pg_engine, timedelta(seconds=1))
    other = await RoleSession.open(pg_engine, None)
    try:
        assert await silent.try_take(Lock.INGEST)
        await asyncio.sleep(2)
        assert await other.try_take(Lock.INGEST), "the server ended the silent session and freed its role"
    finally:
        await silent.close()
        await other.close()


async def test_processes_are_recorded_with_their_roles_and_forgotten(engine: AsyncEngine) -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
    async with engine.begin() as conn:
        await beat(conn, ProcessRow("a", "host-1", 11, (), start, start))
        await beat(conn, ProcessRow("b", "host-2", 22, ("ingest",), start, start))
        await beat(conn, ProcessRow("a", "host-1", 11, ("delivery",), start, start + timedelta(minutes=20)))
    rows = {row.id: row for row in await list_processes(engine)}
    assert rows["a"].roles == ("delivery",) and rows["a"].heartbeat_at == start + timedelta(minutes=20)
    assert rows["b"] == ProcessRow("b", "host-2", 22, ("ingest",), start, start)
    async with engine.begin() as conn:
        await forget_stale(conn, start + timedelta(minutes=10))
    assert [row.id for row in await list_processes(engine)] == ["a"]
    await leave(engine, "a")
    assert await list_processes(engine) == []


async def test_handed_over_entries_count_as_seen_and_are_taken_once(engine: AsyncEngine) -> None:
    feed = FEEDS[0]
    (feed_id,) = (await sync_feeds(engine, [feed])).values()
    first, second, third = (
        Entry(feed_url=feed.url, outlet="Feed 0", url=f"https://news.example/{n}", title=f"Story {n}", guid=f"g{n}")
        for n in range(3)
    )
    seen = clock.now()
    async with engine.begin() as conn:
        await hand_over_entries(conn, feed_id, [first, second], {first.key}, seen)
        await hand_over_entries(conn, feed_id, [first], {first.key}, seen)
        assert await unseen_entries(conn, feed_id, [first, second, third]) == [third]
        assert await has_entries(conn, feed_id)
    waiting = await unfiled_batch(engine, 10)
    assert [(row.entry, row.may_alert) for row in waiting] == [(first, True), (second, False)]
    async with engine.begin() as conn:
        assert await filed_already(conn, waiting) == set()
        await insert_entries(conn, [(feed_id, NewEntry(second))])  # `poll --once` stored it meanwhile
        assert await filed_already(conn, waiting) == {waiting[1].id}
        await take_unfiled(conn, [row.id for row in waiting])
    assert await unfiled_count(engine) == 0


async def test_a_holder_ends_a_stuck_step_transaction_and_a_lost_process_never_does(pg_engine: AsyncEngine) -> None:
    """A step transaction left open (its process paused inside it after proving a role it has since lost) is
    ended by the role's holder after STEP_GRACE; a process without the role gets LostRole and ends nothing."""
    holder = await RoleSession.open(pg_engine, None)
    stuck = await pg_engine.connect()
    try:
        assert await holder.try_take(Lock.INGEST)
        await stuck.begin()
        await take_turn(stuck, Lock.FILING)
        with pytest.raises(LostRole):
            async with pg_engine.begin() as conn:
                await prove_held(conn, Lock.INGEST, holder.pid + 1_000_000)
        assert not stuck.invalidated and (await stuck.scalar(sa.select(1))) == 1
        started = time.monotonic()
        async with pg_engine.begin() as conn:
            await prove_held(conn, Lock.INGEST, holder.pid)
        assert STEP_GRACE <= time.monotonic() - started < STEP_GRACE + 5
        with pytest.raises(sa.exc.DBAPIError):
            await stuck.scalar(sa.select(1))
    finally:
        await stuck.close()
        await holder.close()


async def test_a_role_holder_frozen_in_a_statement_is_ended_and_an_idle_one_left_alone(pg_engine: AsyncEngine) -> None:
    frozen = await RoleSession.open(pg_engine, None)
    idle = await RoleSession.open(pg_engine, None)
    other = await RoleSession.open(pg_engine, None)
    try:
        assert await frozen.try_take(Lock.INGEST)
        assert await idle.try_take(Lock.DELIVERY)
        statement = asyncio.create_task(frozen.conn.execute(sa.select(sa.func.pg_sleep(30))))
        await asyncio.sleep(2.5)
        await other.end_silent_holder(Lock.DELIVERY, timedelta(seconds=1))
        await other.end_silent_holder(Lock.INGEST, timedelta(seconds=1))
        with pytest.raises(sa.exc.DBAPIError):
            await asyncio.wait_for(statement, 10)
        assert await other.try_take(Lock.INGEST)
        assert not await other.try_take(Lock.DELIVERY)
    finally:
        for session in (frozen, idle, other):
            with contextlib.suppress(Exception):
                await session.close()
