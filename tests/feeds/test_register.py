"""The feed list into the store, on SQLite and PostgreSQL: new feeds are due at once, an edit of `every` (or of
the adaptive bounds) plans the next poll anew from the last poll, a Retry-After in force stays, and a feed
no longer listed is marked so, with its rows kept."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.config import FeedConfig
from bot.feeds.register import register_feeds
from bot.fetch.poll_policy import PollPolicy
from bot.model import PollReason
from bot.store.db import MIGRATIONS, create_engine, open_database
from bot.store.feeds import load_state, save_state
from bot.store.tables import feeds

POLICY = PollPolicy()
WIRE = FeedConfig(url="http://127.0.0.1:9/wire.xml", name="Wire", every=timedelta(hours=2))
ERR = FeedConfig(url="http://127.0.0.1:9/err.xml", name="ERR News")


async def test_new_edited_and_removed_feeds_are_planned(engine: AsyncEngine) -> None:
    now = clock.now()
    roster = await register_feeds(engine, [WIRE, ERR], POLICY, now)
    assert list(roster.ids) == [WIRE.url, ERR.url] and roster.replanned == {WIRE.url, ERR.url}
    assert [(s.next_poll_at, s.next_poll_reason) for s in roster.states.values()] == [(now, PollReason.FIRST_POLL)] * 2
    assert (await register_feeds(engine, [WIRE, ERR], POLICY, now)).replanned == frozenset()

    polled = replace(
        roster.states[WIRE.url],
        last_polled_at=now,
        next_poll_at=now + timedelta(hours=2),
        next_poll_reason=PollReason.EVERY,
    )
    async with engine.begin() as conn:
        await save_state(conn, roster.ids[WIRE.url], polled, title=None, polled_ok=True)
    assert (await load_state(engine, WIRE.url)).next_poll_reason is PollReason.EVERY

    later = now + timedelta(seconds=20)
    quick = WIRE.model_copy(update={"every": timedelta(seconds=30)})
    roster = await register_feeds(engine, [quick, ERR], POLICY, later)
    assert roster.replanned == {WIRE.url}, "the adaptive feed's settings did not change"
    stored = await load_state(engine, WIRE.url)
    assert (stored.next_poll_at, stored.next_poll_reason) == (now + timedelta(seconds=30), PollReason.EVERY)
    assert stored.schedule_key == POLICY.schedule_key(timedelta(seconds=30))

    narrower = replace(POLICY, max_interval=timedelta(minutes=30))
    assert (await register_feeds(engine, [quick, ERR], narrower, later)).replanned == {ERR.url}

    roster = await register_feeds(engine, [ERR], narrower, later)
    gone = await load_state(engine, WIRE.url)
    assert (gone.next_poll_at, gone.next_poll_reason, gone.last_polled_at) == (None, PollReason.REMOVED, now)
    back = await register_feeds(engine, [quick, ERR], narrower, later + timedelta(hours=1))
    assert back.states[WIRE.url].next_poll_at == later + timedelta(hours=1), "overdue: due now"
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(feeds)) == 2


async def test_a_retry_after_in_force_outlasts_an_edit(engine: AsyncEngine) -> None:
    now = clock.now()
    roster = await register_feeds(engine, [WIRE], POLICY, now)
    asked = now + timedelta(hours=5)
    told = replace(
        roster.states[WIRE.url], last_polled_at=now, next_poll_at=asked, next_poll_reason=PollReason.RETRY_AFTER
    )
    async with engine.begin() as conn:
        await save_state(conn, roster.ids[WIRE.url], told, title=None, polled_ok=False)
    quick = WIRE.model_copy(update={"every": timedelta(seconds=30)})
    roster = await register_feeds(engine, [quick], POLICY, now + timedelta(minutes=1))
    assert (roster.states[WIRE.url].next_poll_at, roster.states[WIRE.url].next_poll_reason) == (
        asked,
        PollReason.RETRY_AFTER,
    )


async def test_an_unknown_stored_reason_reads_as_none(engine: AsyncEngine) -> None:
    await register_feeds(engine, [WIRE], POLICY, clock.now())
    async with engine.begin() as conn:
        await conn.execute(sa.update(feeds).values(next_poll_reason="from_a_newer_version"))
    assert (await load_state(engine, WIRE.url)).next_poll_reason is None


async def test_feeds_of_an_earlier_version_are_planned_anew_after_the_upgrade(database_url: str) -> None:
    """A database at migration 0003 with a fixed feed whose `every: 30s` was raised to 2 min: after the upgrade
    (migration 0004), its first start plans it as written."""
    engine = create_engine(database_url)
    last = clock.now() - timedelta(seconds=10)

    def at_0003(connection: Connection) -> None:
        config = AlembicConfig()
        config.set_main_option("script_location", str(MIGRATIONS))
        config.attributes["connection"] = connection
        command.upgrade(config, "0003")

    async with engine.begin() as conn:
        await conn.run_sync(at_0003)
        await conn.execute(
            sa.text(
                "INSERT INTO feeds (url, name, every_seconds, last_polled_at, next_poll_at, created_at) "
                "VALUES (:url, 'Wire', 30, :last, :next, :last)"
            ),
            {"url": WIRE.url, "last": last, "next": last + timedelta(minutes=2)},
        )
    await engine.dispose()
    engine = await open_database(database_url)
    try:
        quick = WIRE.model_copy(update={"every": timedelta(seconds=30)})
        roster = await register_feeds(engine, [quick], POLICY, clock.now())
    finally:
        await engine.dispose()
    assert roster.replanned == {WIRE.url}
    state = roster.states[WIRE.url]
    assert (state.next_poll_at, state.next_poll_reason) == (last + timedelta(seconds=30), PollReason.EVERY)
