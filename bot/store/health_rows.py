"""What feed health and alert latency are computed from (bot/status/health.py): every feed's state, and
how long each alert since a time took from its story's publication to delivery (sent, or printed)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.model import FeedState
from bot.store.feeds import state_from_row
from bot.store.outbox import outbox
from bot.store.tables import alerts, entries, feeds


@dataclass(frozen=True, slots=True)
class StoredFeed:
    id: int
    state: FeedState


@dataclass(frozen=True, slots=True)
class AlertDelay:
    feed_id: int
    rule_id: str
    delay: timedelta


@dataclass(frozen=True, slots=True)
class HealthRows:
    feeds: tuple[StoredFeed, ...]
    delays: tuple[AlertDelay, ...]


async def health_rows(engine: AsyncEngine, since: datetime) -> HealthRows:
    """Every feed by name, and the delay of every alert raised since `since` whose entry has a date."""
    first_sent = (
        sa.select(outbox.c.alert_id, sa.func.min(outbox.c.sent_at).label("sent_at"))
        .where(outbox.c.sent_at.is_not(None), outbox.c.alert_id.is_not(None))
        .group_by(outbox.c.alert_id)
        .subquery()
    )
    delays = (
        sa.select(
            entries.c.feed_id, alerts.c.rule_id, entries.c.published_at, alerts.c.created_at, first_sent.c.sent_at
        )
        .select_from(alerts)
        .join(entries, entries.c.id == alerts.c.entry_id)
        .outerjoin(first_sent, first_sent.c.alert_id == alerts.c.id)
        .where(alerts.c.created_at >= since, entries.c.published_at.is_not(None))
    )
    async with engine.connect() as conn:
        feed_rows = (await conn.execute(sa.select(feeds).order_by(feeds.c.name))).mappings().all()
        delay_rows = (await conn.execute(delays)).all()
    return HealthRows(
        tuple(StoredFeed(row["id"], state_from_row(row)) for row in feed_rows),
        tuple(
            AlertDelay(feed_id, rule_id, max((sent or created) - published, timedelta(0)))
            for feed_id, rule_id, published, created, sent in delay_rows
        ),
    )
