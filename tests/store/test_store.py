"""The store on real SQLite and PostgreSQL: migrations match the tables, nothing is stored twice,
state survives reopening."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import FeedConfig, StoriesConfig
from bot.model import Alert, ClauseHit, Entry, FeedState, Match, Span, StoredEntry, Story
from bot.status.story_views import alert_with_story
from bot.store.alerts import MatchRow, get_alert, insert_alert, insert_matches, move_alerts, recent_alerts, story_alerts
from bot.store.db import DatabaseError, open_database
from bot.store.entries import add_new_entries, entries_since
from bot.store.feeds import is_first_poll, load_state, save_state, sync_feeds
from bot.store.schema import metadata
from bot.store.stories import Filing, file_entries, live_story_id, merge_stories, merged_ids

FEED = FeedConfig(url="http://127.0.0.1:1/feed.xml", name="ERR News", every=timedelta(minutes=5))


def _entry(n: int, **changes: object) -> Entry:
    values: dict[str, object] = {
        "feed_url": FEED.url,
        "outlet": "ERR News",
        "url": f"https://news.example/{n}",
        "title": f"Story {n}",
        "summary": f"Text of story {n}",
        "guid": f"guid-{n}",
        "published": datetime(2024, 3, 14, 10, n, tzinfo=UTC),
    }
    values.update(changes)
    return Entry(**values)  # type: ignore[arg-type]


def _diff(connection: Connection) -> list[object]:
    return list(compare_metadata(MigrationContext.configure(connection), metadata))


async def test_migrations_create_exactly_the_declared_tables(engine: AsyncEngine) -> None:
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []


async def test_entries_are_deduplicated_by_guid_then_link(engine: AsyncEngine) -> None:
    ids = await sync_feeds(engine, [FEED])
    feed_id = ids[FEED.url]
    async with engine.begin() as conn:
        first = await add_new_entries(conn, feed_id, [_entry(1), _entry(2), _entry(2)])
        no_guid = _entry(3, guid=None)
        again = await add_new_entries(conn, feed_id, [_entry(1, title="edited"), no_guid, no_guid])
        repeat = await add_new_entries(conn, feed_id, [_entry(3, guid=None, title="retitled")])
    assert [s.entry.guid for s in first] == ["guid-1", "guid-2"]
    assert [s.entry.url for s in again] == ["https://news.example/3"]
    assert repeat == []
    stored = await entries_since(engine, datetime(2000, 1, 1, tzinfo=UTC))
    assert [s.entry.title for s in stored] == ["Story 1", "Story 2", "Story 3"]
    assert stored[0].entry.published == datetime(2024, 3, 14, 10, 1, tzinfo=UTC)


async def test_feed_state_round_trips_and_first_poll_ends(engine: AsyncEngine) -> None:
    feed_id = (await sync_feeds(engine, [FEED]))[FEED.url]
    now = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
    state = FeedState(
        url=FEED.url,
        name="ERR News",
        every=timedelta(minutes=5),
        etag='"abc"',
        last_modified="Wed, 21 Oct 2015 07:28:00 GMT",
        content_hash="f" * 64,
        last_polled_at=now,
        last_success_at=now,
        consecutive_errors=0,
        next_poll_at=now + timedelta(minutes=5),
        items_per_day=12.5,
        newest_entry_at=now - timedelta(hours=1),
        ttl=timedelta(minutes=30),
    )
    async with engine.begin() as conn:
        assert await is_first_poll(conn, feed_id)
        await save_state(conn, feed_id, state, title="ERR News in English", polled_ok=True)
        assert not await is_first_poll(conn, feed_id)
    loaded = await load_state(engine, FEED.url)
    assert loaded == replace(state, title="ERR News in English")
    assert loaded.outlet == "ERR News"
    renamed = FeedConfig(url=FEED.url, name="ERR", every=None)
    assert await sync_feeds(engine, [renamed]) == {FEED.url: feed_id}
    reloaded = await load_state(engine, FEED.url)
    assert (reloaded.name, reloaded.every, reloaded.etag) == ("ERR", None, '"abc"')
    unnamed = FeedConfig(url=FEED.url)
    await sync_feeds(engine, [unnamed])
    untitled = await load_state(engine, FEED.url)
    assert (untitled.name, untitled.outlet) == ("", "ERR News in English")


MATCH = Match(
    "troop-deployment",
    "Troop deployment",
    (ClauseHit("troops NEAR/12 send*", (Span("body", 0, 6, "troops"), Span("title", 2, 9, "sending"))),),
)


async def _alert(conn: AsyncConnection, stored: StoredEntry, story_id: int) -> Alert:
    """Record MATCH on a stored entry filed under `story_id`, and raise its alert."""
    await file_entries(conn, [Filing(stored.id, story_id, None, b"")])
    (match_id,) = await insert_matches(conn, [MatchRow(stored.id, MATCH)])
    story = Story(story_id, stored.entry.title, (), "")
    alert = Alert(MATCH.rule_id, MATCH.rule_title, stored.entry, MATCH, story=story)
    return await insert_alert(conn, alert, stored.id, match_id)


async def test_alerts_are_stored_with_their_match_and_found_by_story(engine: AsyncEngine) -> None:
    feed_id = (await sync_feeds(engine, [FEED]))[FEED.url]
    async with engine.begin() as conn:
        (stored,) = await add_new_entries(conn, feed_id, [_entry(1)])
        alert = await _alert(conn, stored, stored.id)
        assert set(await story_alerts(conn, [stored.id])) == {(MATCH.rule_id, stored.id)}
    loaded = await get_alert(engine, alert.id or 0)
    assert loaded is not None
    assert (loaded.alert.match, loaded.alert.entry, loaded.story_id) == (MATCH, stored.entry, stored.id)
    assert [a.alert.id for a in await recent_alerts(engine, ["troop-deployment", "estonia"])] == [alert.id]
    assert await recent_alerts(engine, ["other-rule"]) == []


async def test_merged_stories_keep_the_older_alert_and_show_every_member(engine: AsyncEngine) -> None:
    """Two alerted stories merge: the older alert belongs to the surviving story, the younger alert's story
    id leads to it, and both alerts show all members."""
    feed_id = (await sync_feeds(engine, [FEED]))[FEED.url]
    async with engine.begin() as conn:
        first, second = await add_new_entries(conn, feed_id, [_entry(1), _entry(2)])
        younger = await _alert(conn, second, second.id)
        older_in_survivor = await _alert(conn, first, first.id)
        await merge_stories(conn, first.id, [second.id])
        await move_alerts(conn, first.id, [second.id])
        kept = await story_alerts(conn, [first.id])
        assert kept[(MATCH.rule_id, first.id)].id == younger.id  # created first, so it is the story's alert
        assert await live_story_id(conn, second.id) == first.id
        assert await merged_ids(conn, [first.id, 999]) == {first.id: [first.id, second.id], 999: [999]}
    for alert in (younger, older_in_survivor):
        loaded = await alert_with_story(engine, alert.id or 0, StoriesConfig())
        assert loaded is not None and loaded.story is not None
        assert (loaded.story.id, [m.entry_id for m in loaded.story.members]) == (first.id, [first.id, second.id])


async def test_reopening_keeps_everything(database_url: str) -> None:
    engine = await open_database(database_url)
    feed_id = (await sync_feeds(engine, [FEED]))[FEED.url]
    async with engine.begin() as conn:
        await add_new_entries(conn, feed_id, [_entry(1)])
    await engine.dispose()
    reopened = await open_database(database_url)
    try:
        assert [s.entry.guid for s in await entries_since(reopened, datetime(2000, 1, 1, tzinfo=UTC))] == ["guid-1"]
    finally:
        await reopened.dispose()


async def test_unreachable_database_is_one_clear_error() -> None:
    with pytest.raises(DatabaseError, match=r"cannot open database postgresql://nobody:\*\*\*@127.0.0.1:1/x"):
        await open_database("postgresql://nobody:secret@127.0.0.1:1/x")
