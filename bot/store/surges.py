"""Each topic's latest surge (bot/alerts/spikes.py): one row per topic, changed only from the state it was read in.

The row is written compare-and-set: a check that read a topic's surge in one state and finds it changed
(another process checked the same topic meanwhile) writes nothing and sends nothing; the outbox keys
(chat, topic, surge number) would also take a repeated message only once.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.model import Surge
from bot.store.tables import UTCDateTime, metadata

topic_surges = sa.Table(
    "topic_surges",
    metadata,
    sa.Column("rule_id", sa.String(200), primary_key=True),
    sa.Column("number", sa.Integer, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("fired_at", UTCDateTime, nullable=False),
    sa.Column("peak", sa.Integer, nullable=False),
)


async def last_surges(conn: AsyncConnection, rule_ids: Sequence[str]) -> dict[str, Surge]:
    """The latest surge of each of these topics (topics that never surged are absent)."""
    if not rule_ids:
        return {}
    query = sa.select(topic_surges).where(topic_surges.c.rule_id.in_(sorted(set(rule_ids))))
    return {
        row.rule_id: Surge(row.number, row.started_at, row.fired_at, row.peak) for row in await conn.execute(query)
    }


async def save_surge(conn: AsyncConnection, rule_id: str, before: Surge | None, after: Surge) -> bool:
    """Store a topic's surge as `after` if it still is `before` (None: no row yet); False when another check
    changed it first."""
    values = {"number": after.number, "started_at": after.started_at, "fired_at": after.fired_at, "peak": after.peak}
    if before is None:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        insert = dialect.insert(topic_surges).values(rule_id=rule_id, **values).on_conflict_do_nothing()
        return bool((await conn.execute(insert)).rowcount)
    update = (
        sa.update(topic_surges)
        .where(
            topic_surges.c.rule_id == rule_id,
            topic_surges.c.number == before.number,
            topic_surges.c.fired_at == before.fired_at,
        )
        .values(**values)
    )
    return bool((await conn.execute(update)).rowcount)
