"""Feed health and alert latency (publication -> alert delivered), for `newsbot status` and /status."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.status.schedule import why
from bot.store.health_rows import health_rows


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
    why: str
    why_short: str
    consecutive_errors: int
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
    rows = await health_rows(engine, since)
    by_feed: dict[int, list[timedelta]] = defaultdict(list)
    by_topic: dict[str, list[timedelta]] = defaultdict(list)
    for delay in rows.delays:
        by_feed[delay.feed_id].append(delay.delay)
        by_topic[delay.rule_id].append(delay.delay)
    report_feeds = tuple(
        FeedHealth(
            name=feed.state.outlet,
            url=feed.state.url,
            last_success_at=feed.state.last_success_at,
            last_error=feed.state.last_error if feed.state.consecutive_errors else None,
            last_error_at=feed.state.last_error_at,
            failing_since=feed.state.failing_since,
            next_poll_at=feed.state.next_poll_at,
            why=why(feed.state),
            why_short=why(feed.state, short=True),
            consecutive_errors=feed.state.consecutive_errors,
            items_per_day=feed.state.items_per_day,
            latency=latency_of(by_feed.get(feed.id, [])),
        )
        for feed in sorted(rows.feeds, key=lambda feed: feed.state.outlet.casefold())
    )
    topics = tuple((rule, latency) for rule in sorted(by_topic) if (latency := latency_of(by_topic[rule])))
    return HealthReport(report_feeds, topics)
