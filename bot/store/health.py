"""Feed health and alert latency (publication -> alert delivered), for `newsbot status` and /status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.outbox import outbox
from bot.store.tables import alerts, entries, feeds


@dataclass(frozen=True, slots=True)
class Latency:
    """How long alerts took from the story's publication to delivery (sent, or printed)."""

    count: int
    p50: timedelta
    p95: timedelta


@dataclass(frozen=True, slots=True)
class FeedHealth:
    name: str
    url: str
    last_success_at: datetime | None
    last_error: str | None
    last_error_at: datetime | None
    failing_since: datetime | None
    next_poll_at: datetime | None
    items_per_day: float | None
    latency: Latency | None


@dataclass(frozen=True, slots=True)
class HealthReport:
    feeds: tuple[FeedHealth, ...]
    topics: tuple[tuple[str, Latency], ...]


def percentile(sorted_values: list[timedelta], fraction: float) -> timedelta:
    """Nearest-rank percentile of an ascending list."""
    rank = max(1, round(fraction * len(sorted_values) + 0.5 - 1e-9))
    return sorted_values[min(rank, len(sorted_values)) - 1]


def latency_of(delays: Iterable[timedelta]) -> Latency | None:
    ordered = sorted(delays)
    if not ordered:
        return None
    return Latency(len(ordered), percentile(ordered, 0.5), percentile(ordered, 0.95))


async def health_report(engine: AsyncEngine, since: datetime) -> HealthReport:
    """Every feed's state and the latency of alerts raised since `since`, per feed and per topic."""
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
    by_feed: dict[int, list[timedelta]] = defaultdict(list)
    by_topic: dict[str, list[timedelta]] = defaultdict(list)
    for feed_id, rule_id, published, created, sent in delay_rows:
        delay = max((sent or created) - published, timedelta(0))
        by_feed[feed_id].append(delay)
        by_topic[rule_id].append(delay)
    report_feeds = tuple(
        FeedHealth(
            name=row["name"],
            url=row["url"],
            last_success_at=row["last_success_at"],
            last_error=row["last_error"] if row["consecutive_errors"] else None,
            last_error_at=row["last_error_at"],
            failing_since=row["failing_since"],
            next_poll_at=row["next_poll_at"],
            items_per_day=row["items_per_day"],
            latency=latency_of(by_feed.get(row["id"], [])),
        )
        for row in feed_rows
    )
    topics = tuple((rule, latency) for rule in sorted(by_topic) if (latency := latency_of(by_topic[rule])))
    return HealthReport(report_feeds, topics)
