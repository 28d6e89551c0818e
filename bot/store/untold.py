"""Stories that alerted or grew, filed but not yet told to their readers.

The filing transaction records them; the telling transaction (the delivery role) reads them, queues each
reader's message and deletes them. So a story is told only after its filing committed, the per-chat work
never runs inside a filing, and nothing filed is lost between the two: a teller that dies leaves the rows
to the next one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.store.db import MAX_PARAMETERS
from bot.store.tables import untold


@dataclass(frozen=True, slots=True)
class Untold:
    """A story to tell: the alerts the filing raised for it (none when it only grew), and whether it grew."""

    id: int
    story_id: int | None
    alert_ids: tuple[int, ...]
    grown: bool


@dataclass(frozen=True, slots=True)
class NewUntold:
    story_id: int | None
    alert_ids: tuple[int, ...]
    grown: bool


async def record_untold(conn: AsyncConnection, stories: Sequence[NewUntold]) -> None:
    """Record stories to tell, inside the filing transaction."""
    if not stories:
        return
    now = clock.now()
    rows = [
        {"story_id": s.story_id, "alert_ids": list(s.alert_ids), "grown": s.grown, "created_at": now} for s in stories
    ]
    await conn.execute(sa.insert(untold), rows)


async def untold_batch(conn: AsyncConnection, limit: int) -> list[Untold]:
    """The oldest stories to tell, at most `limit`, in the order they were filed."""
    rows = await conn.execute(sa.select(untold).order_by(untold.c.id).limit(limit))
    return [Untold(row.id, row.story_id, tuple(row.alert_ids), row.grown) for row in rows]


async def take_untold(conn: AsyncConnection, ids: Sequence[int]) -> None:
    """Delete the stories told, inside the telling transaction."""
    for first in range(0, len(ids), MAX_PARAMETERS):
        await conn.execute(sa.delete(untold).where(untold.c.id.in_(ids[first : first + MAX_PARAMETERS])))


async def untold_count(engine: AsyncEngine) -> int:
    """How many filed stories wait to be told (for status)."""
    async with engine.connect() as conn:
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(untold)) or 0)
