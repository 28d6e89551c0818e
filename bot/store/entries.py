"""Entries: every item ever seen, deduplicated per feed by GUID, else canonical link."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.model import Credit, Entry, StoredEntry
from bot.store.tables import entries, feeds, unfiled


@dataclass(frozen=True, slots=True)
class NewEntry:
    """An entry to store, with the credits found in its text (found once, before storing) and, when it was
    fetched before this batch (by another process), when it was seen."""

    entry: Entry
    credits: tuple[Credit, ...] = ()
    seen_at: datetime | None = None


def credits_to_json(credits: Sequence[Credit]) -> list[dict[str, Any]]:
    return [{"source": c.source, "evidence": c.evidence, "via": c.via, "dateline": c.dateline} for c in credits]


def credits_from_json(data: list[dict[str, Any]] | None) -> tuple[Credit, ...]:
    return tuple(Credit(c["source"], c["evidence"], c.get("via"), bool(c.get("dateline"))) for c in data or ())


def key_hash(entry: Entry) -> str:
    return hashlib.sha256(entry.key.encode()).hexdigest()


def entry_from_row(row: RowMapping) -> Entry:
    return Entry(
        feed_url=row["feed_url"],
        outlet=row["outlet"],
        url=row["url"],
        title=row["title"],
        summary=row["summary"],
        guid=row["guid"],
        published=row["published_at"],
        content=row["content"],
        language=row["language"],
        author=row["author"],
    )


def stored_from_row(row: RowMapping) -> StoredEntry:
    """A row selected with `entry_columns()` as a StoredEntry."""
    return StoredEntry(
        row["id"], row["feed_id"], entry_from_row(row), credits_from_json(row["credits"]), row.get("story_language"),
        row.get("story_reason"),
    )


def entry_columns() -> list[sa.ColumnElement[object]]:
    """The columns `stored_from_row` reads (all but the story index's features); join `feeds` to use them."""
    return [*(column for column in entries.c if column.name != "story_features"), feeds.c.url.label("feed_url")]


_BATCH = 500
"""Keys looked up per query: both databases cap the parameters of one statement (SQLite 32,766)."""


async def _known_hashes(conn: AsyncConnection, feed_id: int, hashes: list[str]) -> set[str]:
    """Which of these keys the feed has had: stored, or handed over and waiting to be filed."""
    known: set[str] = set()
    for first in range(0, len(hashes), _BATCH):
        batch = hashes[first : first + _BATCH]
        query = sa.union(
            *(
                sa.select(table.c.key_hash).where(table.c.feed_id == feed_id, table.c.key_hash.in_(batch))
                for table in (entries, unfiled)
            )
        )
        known.update(await conn.scalars(query))
    return known


async def has_entries(conn: AsyncConnection, feed_id: int) -> bool:
    """Whether anything of this feed is stored yet, or waits to be filed."""
    for table in (entries, unfiled):
        if await conn.scalar(sa.select(table.c.id).where(table.c.feed_id == feed_id).limit(1)) is not None:
            return True
    return False


async def unseen_entries(conn: AsyncConnection, feed_id: int, items: Sequence[Entry]) -> list[Entry]:
    """The entries this feed has not had before, each once, in feed order."""
    by_hash: dict[str, Entry] = {}
    for item in items:
        by_hash.setdefault(key_hash(item), item)
    if not by_hash:
        return []
    known = await _known_hashes(conn, feed_id, list(by_hash))
    return [item for digest, item in by_hash.items() if digest not in known]


def entry_values(feed_id: int, entry: Entry, seen_at: datetime) -> dict[str, Any]:
    """An entry as the columns `entries` and `unfiled` share."""
    return {
        "feed_id": feed_id,
        "key_hash": key_hash(entry),
        "key": entry.key,
        "guid": entry.guid,
        "url": entry.url,
        "outlet": entry.outlet,
        "title": entry.title,
        "summary": entry.summary,
        "content": entry.content,
        "published_at": entry.published,
        "language": entry.language,
        "author": entry.author,
        "seen_at": seen_at,
    }


def _row(feed_id: int, item: NewEntry, seen_at: datetime) -> dict[str, Any]:
    return {**entry_values(feed_id, item.entry, item.seen_at or seen_at), "credits": credits_to_json(item.credits)}


async def insert_entries(
    conn: AsyncConnection, items: Sequence[tuple[int, NewEntry]], seen_at: datetime | None = None
) -> list[StoredEntry]:
    """Insert (feed id, entry) pairs in the given order, in one statement; ids follow that order; an entry
    without its own `seen_at` was seen at `seen_at` (default now). The caller has made sure they are new."""
    if not items:
        return []
    seen_at = seen_at or clock.now()
    statement = sa.insert(entries).returning(entries.c.id, sort_by_parameter_order=True)
    result = await conn.execute(statement, [_row(feed_id, item, seen_at) for feed_id, item in items])
    ids = list(result.scalars())
    return [
        StoredEntry(entry_id, feed_id, item.entry, item.credits)
        for entry_id, (feed_id, item) in zip(ids, items, strict=True)
    ]


async def add_new_entries(conn: AsyncConnection, feed_id: int, items: Sequence[Entry]) -> list[StoredEntry]:
    """Insert the entries this feed has not had before and return them; known ones are left as stored."""
    unseen = await unseen_entries(conn, feed_id, items)
    return await insert_entries(conn, [(feed_id, NewEntry(item)) for item in unseen])


async def entries_since(engine: AsyncEngine, since: datetime) -> list[StoredEntry]:
    """Entries first seen at or after `since`, in the order they were filed (their ids), for backtests."""
    query = (
        sa.select(*entry_columns())
        .join(feeds, feeds.c.id == entries.c.feed_id)
        .where(entries.c.seen_at >= since)
        .order_by(entries.c.id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [stored_from_row(row) for row in rows]
