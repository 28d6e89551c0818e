"""Stories in the store: each entry's story, merges of stories, members to assemble, the window to restore.

The store keeps what the story index decided and what it needs to restore itself, and reads members
back; assembling a Story (outlets, origin, breaking) from them is bot/ingest/views.py's job.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.model import Entry, StoredEntry
from bot.store.db import MAX_PARAMETERS
from bot.store.entries import credits_from_json, entry_columns, stored_from_row
from bot.store.tables import entries, feeds, matches, story_merges


@dataclass(frozen=True, slots=True)
class Filing:
    """Where the story index put an entry, and what it keeps of it."""

    entry_id: int
    story_id: int
    copy_of: int | None
    features: bytes
    closed: bool = False
    reason: str = ""
    language: str | None = None
    meaning_kept: bool = False


@dataclass(frozen=True, slots=True)
class WindowEntry:
    """An entry of the window as the story index restores it: its features, else (filed before features
    were kept) the entry itself to read again."""

    id: int
    url: str
    time: datetime
    story_id: int | None
    closed: bool
    features: bytes | None
    stored: StoredEntry | None = None


async def file_entries(conn: AsyncConnection, filings: Sequence[Filing]) -> None:
    """Record each entry's story, the article it copies and its features, in one statement."""
    if not filings:
        return
    statement = (
        sa.update(entries)
        .where(entries.c.id == sa.bindparam("b_id"))
        .values(
            story_id=sa.bindparam("b_story"),
            copy_of=sa.bindparam("b_copy"),
            story_features=sa.bindparam("b_features"),
            story_closed=sa.bindparam("b_closed"),
            story_reason=sa.bindparam("b_reason"),
            story_language=sa.bindparam("b_language"),
            meaning_kept=sa.bindparam("b_meaning"),
        )
    )
    await conn.execute(
        statement,
        [
            {"b_id": f.entry_id, "b_story": f.story_id, "b_copy": f.copy_of, "b_features": f.features,
             "b_closed": f.closed, "b_reason": f.reason, "b_language": f.language, "b_meaning": f.meaning_kept}
            for f in filings
        ],
    )


async def merge_stories(conn: AsyncConnection, into: int, others: Sequence[int]) -> None:
    """Move the members of `others` to story `into`, and point their ids (and ids merged into them) at it."""
    if not others:
        return
    await conn.execute(sa.update(entries).where(entries.c.story_id.in_(others)).values(story_id=into))
    await conn.execute(sa.update(story_merges).where(story_merges.c.merged_into.in_(others)).values(merged_into=into))
    now = clock.now()
    await conn.execute(
        sa.insert(story_merges), [{"story_id": other, "merged_into": into, "merged_at": now} for other in others]
    )


async def live_story_id(conn: AsyncConnection, story_id: int) -> int:
    """The story a (possibly merged) story id belongs to now."""
    merged = await conn.scalar(sa.select(story_merges.c.merged_into).where(story_merges.c.story_id == story_id))
    return int(merged) if merged is not None else story_id


async def live_story_ids(conn: AsyncConnection, story_ids: Sequence[int]) -> dict[int, int]:
    """For each (possibly merged) story id, the story it belongs to now."""
    found = {story_id: story_id for story_id in story_ids}
    wanted = sorted(found)
    for first in range(0, len(wanted), MAX_PARAMETERS):
        chunk = wanted[first : first + MAX_PARAMETERS]
        query = sa.select(story_merges.c.story_id, story_merges.c.merged_into).where(story_merges.c.story_id.in_(chunk))
        for story_id, into in await conn.execute(query):
            found[story_id] = into
    return found


async def merged_ids(conn: AsyncConnection, story_ids: Sequence[int]) -> dict[int, list[int]]:
    """For each live story, its id and the ids of every story merged into it."""
    found = {story_id: [story_id] for story_id in story_ids}
    if not found:
        return found
    query = (
        sa.select(story_merges.c.merged_into, story_merges.c.story_id)
        .where(story_merges.c.merged_into.in_(sorted(found)))
        .order_by(story_merges.c.story_id)
    )
    for into, merged in await conn.execute(query):
        found[into].append(merged)
    return found


def _headline_row(row: sa.RowMapping) -> StoredEntry:
    entry = Entry(
        feed_url=row["feed_url"],
        outlet=row["outlet"],
        url=row["url"],
        title=row["title"],
        published=row["published_at"],
    )
    return StoredEntry(
        row["id"], row["feed_id"], entry, credits_from_json(row["credits"]), row["story_language"], row["story_reason"],
    )


async def _members(conn: AsyncConnection, stories: sa.ColumnElement[bool]) -> dict[int, list[StoredEntry]]:
    query = (
        sa.select(
            entries.c.id, entries.c.feed_id, entries.c.story_id, entries.c.outlet, entries.c.url, entries.c.title,
            entries.c.published_at, entries.c.credits, entries.c.story_language, entries.c.story_reason,
            feeds.c.url.label("feed_url"),
        )
        .join(feeds, feeds.c.id == entries.c.feed_id)
        .where(stories)
        .order_by(entries.c.id)
    )
    found: dict[int, list[StoredEntry]] = {}
    for row in (await conn.execute(query)).mappings():
        found.setdefault(row["story_id"], []).append(_headline_row(row))
    return found


async def store_features(conn: AsyncConnection, features: Sequence[tuple[int, bytes]]) -> None:
    """Replace the story features of entries (id, features), nothing else of them."""
    if features:
        statement = sa.update(entries).where(entries.c.id == sa.bindparam("b_id"))
        await conn.execute(
            statement.values(story_features=sa.bindparam("b_features")),
            [{"b_id": entry_id, "b_features": data} for entry_id, data in features],
        )


async def story_members(conn: AsyncConnection, story_ids: Sequence[int]) -> dict[int, list[StoredEntry]]:
    """The members of live stories, oldest id first, as headline entries (outlet, title, link, time, credits;
    no text)."""
    if not story_ids:
        return {}
    return await _members(conn, entries.c.story_id.in_(sorted(set(story_ids))))


def _unread(features: bytes | None) -> bool:
    return features is None


async def window_entries(
    engine: AsyncEngine, since: datetime, chunk: int = 5000, read_again: Callable[[bytes | None], bool] = _unread
) -> AsyncIterator[list[WindowEntry]]:
    """Entries seen since `since`, in the order they were stored, with what restoring the index needs; in
    chunks, so a 200,000-entry window is never held twice in memory (rows and index). The entries whose
    features `read_again` says so (by default those stored without) come with their text."""
    query = (
        sa.select(
            entries.c.id, entries.c.url, entries.c.published_at, entries.c.seen_at, entries.c.story_id,
            entries.c.story_closed, entries.c.story_features,
        )
        .where(entries.c.seen_at >= since)
        .order_by(entries.c.id)
    )
    async with engine.connect() as conn:
        result = await conn.stream(query.execution_options(yield_per=chunk))
        async for rows in result.partitions(chunk):
            unread = [row.id for row in rows if read_again(row.story_features)]
            texts: dict[int, StoredEntry] = {}
            for start in range(0, len(unread), 500):
                full = sa.select(*entry_columns()).join(feeds, feeds.c.id == entries.c.feed_id)
                for row in (await conn.execute(full.where(entries.c.id.in_(unread[start : start + 500])))).mappings():
                    texts[row["id"]] = stored_from_row(row)
            yield [
                WindowEntry(
                    row.id, row.url, row.published_at or row.seen_at, row.story_id, row.story_closed,
                    row.story_features, texts.get(row.id),
                )
                for row in rows
            ]


async def meaning_kept_entries(engine: AsyncEngine, since: datetime, most: int, chars: int) -> list[StoredEntry]:
    """The latest `most` entries seen since `since` whose texts the story index kept for the meaning signal,
    oldest first, their summary and content cut to `chars` characters (what the model reads): restoring the
    index keeps them again."""
    cut = {"summary", "content"}
    columns = [sa.func.substr(c, 1, chars).label(c.name) if c.name in cut else c for c in entry_columns()]
    latest = (
        sa.select(*columns)
        .join(feeds, feeds.c.id == entries.c.feed_id)
        .where(entries.c.seen_at >= since, entries.c.meaning_kept)
        .order_by(entries.c.id.desc())
        .limit(most)
    )
    async with engine.connect() as conn:
        found = [stored_from_row(row) for row in (await conn.execute(latest)).mappings()]
    return found[::-1]


async def recent_story_members(
    conn: AsyncConnection, since: datetime, rule_id: str | None = None
) -> dict[int, list[StoredEntry]]:
    """The members of the stories that gained a member since `since`; with `rule_id`, only stories one of whose
    members that rule matched."""
    recent = sa.select(entries.c.story_id).where(entries.c.seen_at >= since, entries.c.story_id.is_not(None))
    chosen: sa.ColumnElement[bool] = entries.c.story_id.in_(recent)
    if rule_id is not None:
        matched = (
            sa.select(entries.c.story_id)
            .join(matches, matches.c.entry_id == entries.c.id)
            .where(matches.c.rule_id == rule_id, entries.c.story_id.is_not(None))
        )
        chosen = sa.and_(chosen, entries.c.story_id.in_(matched))
    return await _members(conn, chosen)


async def entry_stories(engine: AsyncEngine, since: datetime) -> dict[int, int]:
    """The story of each entry seen since `since`, by entry id (entries not filed yet are left out)."""
    query = sa.select(entries.c.id, entries.c.story_id).where(
        entries.c.seen_at >= since, entries.c.story_id.is_not(None)
    )
    async with engine.connect() as conn:
        return {row.id: row.story_id for row in await conn.execute(query)}
