"""Entries: every item ever seen, deduplicated per feed by GUID, else canonical link."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.model import Entry
from bot.store.tables import entries, feeds, inserted_id, utcnow


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry with the ids the store gave it."""

    id: int
    feed_id: int
    entry: Entry


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
    return StoredEntry(row["id"], row["feed_id"], entry_from_row(row))


def entry_columns() -> list[sa.ColumnElement[object]]:
    """The columns `entry_from_row` reads; join `feeds` to use them."""
    return [*entries.c, feeds.c.url.label("feed_url")]


_BATCH = 500
"""Keys looked up per query: both databases cap the parameters of one statement (SQLite 32,766)."""


async def _known_hashes(conn: AsyncConnection, feed_id: int, hashes: list[str]) -> set[str]:
    known: set[str] = set()
    for first in range(0, len(hashes), _BATCH):
        batch = hashes[first : first + _BATCH]
        query = sa.select(entries.c.key_hash).where(entries.c.feed_id == feed_id, entries.c.key_hash.in_(batch))
        known.update(await conn.scalars(query))
    return known


async def has_entries(conn: AsyncConnection, feed_id: int) -> bool:
    """Whether anything of this feed is stored yet."""
    return await conn.scalar(sa.select(entries.c.id).where(entries.c.feed_id == feed_id).limit(1)) is not None


async def unseen_entries(conn: AsyncConnection, feed_id: int, items: Sequence[Entry]) -> list[Entry]:
    """The entries this feed has not had before, each once, in feed order."""
    by_hash: dict[str, Entry] = {}
    for item in items:
        by_hash.setdefault(key_hash(item), item)
    if not by_hash:
        return []
    known = await _known_hashes(conn, feed_id, list(by_hash))
    return [item for digest, item in by_hash.items() if digest not in known]


async def add_new_entries(conn: AsyncConnection, feed_id: int, items: Sequence[Entry]) -> list[StoredEntry]:
    """Insert the entries this feed has not had before and return them; known ones are left as stored."""
    stored = []
    seen_at = utcnow()
    for item in await unseen_entries(conn, feed_id, items):
        result = await conn.execute(
            sa.insert(entries).values(
                feed_id=feed_id,
                key_hash=key_hash(item),
                key=item.key,
                guid=item.guid,
                url=item.url,
                outlet=item.outlet,
                title=item.title,
                summary=item.summary,
                content=item.content,
                published_at=item.published,
                language=item.language,
                author=item.author,
                seen_at=seen_at,
            )
        )
        stored.append(StoredEntry(inserted_id(result), feed_id, item))
    return stored


async def entries_since(engine: AsyncEngine, since: datetime) -> list[StoredEntry]:
    """Entries first seen at or after `since`, oldest first (for backtests and rebuilding stories)."""
    query = (
        sa.select(*entry_columns())
        .join(feeds, feeds.c.id == entries.c.feed_id)
        .where(entries.c.seen_at >= since)
        .order_by(entries.c.seen_at, entries.c.id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [stored_from_row(row) for row in rows]
