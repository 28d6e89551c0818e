"""A topic's volume rows (bot/store/volume.py) on SQLite and PostgreSQL: kept in line with stories as they
grow and merge, filled by the migration from what was stored before it, and read per hour."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import sqlalchemy as sa
from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import FeedConfig
from bot.model import ClauseHit, Entry, Match, Span
from bot.store.alerts import MatchRow, insert_matches
from bot.store.db import MIGRATIONS
from bot.store.entries import NewEntry, insert_entries
from bot.store.feeds import sync_feeds
from bot.store.stories import Filing, file_entries, merge_stories
from bot.store.volume import (
    first_hours,
    hour_of,
    hour_start,
    hourly_counts,
    most_told,
    refresh_volume,
    story_times,
    topic_stories,
)

FEED = FeedConfig(url="http://127.0.0.1:1/feed.xml", name="Wire")
T = datetime(2026, 2, 17, 10, 0, tzinfo=UTC)


def _entry(n: int, published: datetime | None, outlet: str = "Wire") -> Entry:
    return Entry(FEED.url, outlet, f"https://w.example/{n}", f"Story {n}", "text", f"g{n}", published)


def _match(rule: str) -> Match:
    return Match(rule, rule.title(), (ClauseHit(rule, (Span("title", 0, 5, "Story"),)),))


async def _add(
    conn: AsyncConnection, feed_id: int, entry: Entry, story: int | None, seen: datetime, rules: tuple[str, ...] = ()
) -> int:
    (stored,) = await insert_entries(conn, [(feed_id, NewEntry(entry, (), seen))])
    await file_entries(conn, [Filing(stored.id, story or stored.id, None, b"")])
    await insert_matches(conn, [MatchRow(stored.id, _match(rule)) for rule in rules])
    return stored.id


async def _rows(conn: AsyncConnection) -> set[tuple[str, int, datetime, int]]:
    query = sa.select(topic_stories.c.rule_id, topic_stories.c.story_id, topic_stories.c.first_at, topic_stories.c.hour)
    return {tuple(row) for row in await conn.execute(query)}  # type: ignore[misc]


async def test_rows_follow_new_members_merges_and_untrusted_times(engine: AsyncEngine) -> None:
    feed_id = (await sync_feeds(engine, [FEED]))[FEED.url]
    async with engine.begin() as conn:
        one = await _add(conn, feed_id, _entry(1, T + timedelta(minutes=5)), None, T + timedelta(hours=1), ("alpha",))
        two = await _add(conn, feed_id, _entry(2, T + timedelta(minutes=40)), None, T + timedelta(hours=1), ("beta",))
        await _add(conn, feed_id, _entry(3, None), two, T + timedelta(hours=1))  # no time, no match: seen at 11:00
        future = await _add(conn, feed_id, _entry(4, datetime(2099, 1, 1, tzinfo=UTC)), None, T, ("alpha",))
        await refresh_volume(conn, [one, two, future])
        assert await _rows(conn) == {
            ("alpha", one, T + timedelta(minutes=5), hour_of(T)),
            ("beta", two, T + timedelta(minutes=40), hour_of(T)),
            ("alpha", future, T, hour_of(T)),  # a time after it was seen counts as when it was seen
        }
        await _add(conn, feed_id, _entry(5, T - timedelta(hours=3)), two, T + timedelta(hours=1))  # earlier member
        await refresh_volume(conn, [two])
        assert ("beta", two, T - timedelta(hours=3), hour_of(T) - 3) in await _rows(conn)
        await merge_stories(conn, one, [two])
        await refresh_volume(conn, [one, two])
        assert await _rows(conn) == {
            ("alpha", one, T - timedelta(hours=3), hour_of(T) - 3),
            ("beta", one, T - timedelta(hours=3), hour_of(T) - 3),
            ("alpha", future, T, hour_of(T)),
        }


async def test_counts_per_hour_history_times_and_the_most_told_story(engine: AsyncEngine) -> None:
    feed_id = (await sync_feeds(engine, [FEED]))[FEED.url]
    async with engine.begin() as conn:
        made, seen = [], T + timedelta(hours=3)
        for n, minutes in enumerate((-50, 5, 10, 50, 130)):
            made.append(await _add(conn, feed_id, _entry(n, T + timedelta(minutes=minutes)), None, seen, ("alpha",)))
        for n, outlet in enumerate(("Other", "Third")):  # the story at 10:10 is told by three outlets
            await _add(conn, feed_id, _entry(10 + n, T + timedelta(minutes=12), outlet), made[2], seen)
        await _add(conn, feed_id, _entry(20, T), None, T, ("beta",))
        await refresh_volume(conn, range(1, 100))
        hour = hour_of(T)
        assert await hourly_counts(conn, ["alpha", "beta", "gamma"], hour - 1, hour + 1) == {
            "alpha": {hour - 1: 1, hour: 3},
            "beta": {hour: 1},
            "gamma": {},
        }
        assert await first_hours(conn, ["alpha", "beta", "gamma"]) == {"alpha": hour - 1, "beta": hour}
        times = await story_times(conn, ["alpha"], [hour, hour + 2])
        assert sorted(times["alpha"]) == [T + timedelta(minutes=m) for m in (5, 10, 50, 130)]
        top = await most_told(conn, "alpha", T, T + timedelta(hours=1))
        assert top is not None and (top.story_id, top.outlets) == (made[2], 3)
        assert await most_told(conn, "alpha", T + timedelta(hours=5), T + timedelta(hours=6)) is None
    assert hour_start(hour) == T


def _alembic(connection: object, revision: str, up: bool) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    (command.upgrade if up else command.downgrade)(config, revision)


async def test_the_migration_fills_the_rows_from_what_was_stored(engine: AsyncEngine) -> None:
    feed_id = (await sync_feeds(engine, [FEED]))[FEED.url]
    async with engine.begin() as conn:
        ids, seen = [], T + timedelta(hours=30)
        for n, minutes in enumerate((-70, 5, 59, 61, 24 * 60 + 1)):
            published = T + timedelta(minutes=minutes, seconds=n)
            ids.append(await _add(conn, feed_id, _entry(n, published), None, seen, ("a",)))
        await _add(conn, feed_id, _entry(9, None), ids[1], T + timedelta(hours=30), ("b",))
        await _add(conn, feed_id, _entry(8, datetime(2099, 1, 1, tzinfo=UTC)), None, T, ("a", "b"))
        await refresh_volume(conn, range(1, 100))
        kept = await _rows(conn)
    async with engine.begin() as conn:
        await conn.run_sync(_alembic, "0006", False)
    async with engine.begin() as conn:
        await conn.run_sync(_alembic, "heads", True)
    async with engine.connect() as conn:
        assert await _rows(conn) == kept
    assert len(kept) == 8
