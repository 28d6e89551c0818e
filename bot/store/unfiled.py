"""Entries fetched but not yet filed: stored by the process that polled their feed, in the transaction that
stores the feed's new state, and filed (then deleted) by the one process that holds the ingest role.

A key a feed has handed over counts as seen (store/entries.py), so it is never handed over twice.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.model import Entry
from bot.store.entries import entry_from_row, entry_values
from bot.store.tables import entries, feeds, unfiled

_BATCH = 500
"""Rows per statement: both databases cap the parameters of one statement."""


@dataclass(frozen=True, slots=True)
class Unfiled:
    """A handed-over entry waiting to be filed: its feed, whether it may alert, and when it was seen."""

    id: int
    feed_id: int
    entry: Entry
    may_alert: bool
    seen_at: datetime


async def hand_over_entries(
    conn: AsyncConnection, feed_id: int, items: Sequence[Entry], alertable: Collection[str], seen_at: datetime
) -> None:
    """Store a poll's new entries for the ingest holder, inside the caller's transaction; a key handed over
    already is skipped."""
    if not items:
        return
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values: list[dict[str, Any]] = [
        {**entry_values(feed_id, entry, seen_at), "may_alert": entry.key in alertable} for entry in items
    ]
    for first in range(0, len(values), _BATCH):
        statement = dialect.insert(unfiled).values(values[first : first + _BATCH])
        await conn.execute(statement.on_conflict_do_nothing(index_elements=["feed_id", "key_hash"]))


async def unfiled_batch(engine: AsyncEngine, limit: int) -> list[Unfiled]:
    """At most `limit` waiting entries, first in the filing order (publication time, else when seen; feed
    URL; key), so that entries waiting together are cut into the same batches whatever order they came in."""
    query = (
        sa.select(unfiled, feeds.c.url.label("feed_url"))
        .join(feeds, feeds.c.id == unfiled.c.feed_id)
        .order_by(sa.func.coalesce(unfiled.c.published_at, unfiled.c.seen_at), feeds.c.url, unfiled.c.key)
        .limit(limit)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [Unfiled(row["id"], row["feed_id"], entry_from_row(row), row["may_alert"], row["seen_at"]) for row in rows]


async def filed_already(conn: AsyncConnection, items: Sequence[Unfiled]) -> set[int]:
    """The ids of waiting entries that are stored already: filing them again is skipped, so filing never
    fails on an entry that another holder filed before it died."""
    found: set[int] = set()
    for first in range(0, len(items), _BATCH):
        chunk = items[first : first + _BATCH]
        query = (
            sa.select(unfiled.c.id)
            .join(entries, sa.and_(entries.c.feed_id == unfiled.c.feed_id, entries.c.key_hash == unfiled.c.key_hash))
            .where(unfiled.c.id.in_([item.id for item in chunk]))
        )
        found.update(await conn.scalars(query))
    return found


async def take_unfiled(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """Delete handed-over entries being filed, inside the filing transaction."""
    for first in range(0, len(ids), _BATCH):
        await conn.execute(sa.delete(unfiled).where(unfiled.c.id.in_(ids[first : first + _BATCH])))


async def unfiled_count(engine: AsyncEngine) -> int:
    """How many handed-over entries wait to be filed (for status, and `poll --once` before it files)."""
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(unfiled)) or 0)
