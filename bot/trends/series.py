"""A trend: topics' stories per hour or per day over a period, each bucket with its usual count and whether it
was a spike, for `/trend` and `newsbot trend`.

The counts are the volume rows (bot/store/volume.py); the usual count and the spike mark of each hour are
the spike test's (bot/alerts/spikes.py), taken on clock hours against the same hour of the previous days, so
the hours a chart marks are the hours the test finds (the live check tests the rolling last hour). A day's
count and usual count are its hours' sums; a day is marked when one of its hours is. Periods up to
`HOURLY_UP_TO` are drawn per hour, longer ones per day (UTC).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.alerts.spikes import DAY, HOUR, Verdict, hourly_verdicts
from bot.config import SpikesConfig
from bot.store.volume import first_hours, hour_of, hour_start, hourly_counts

HOURLY_UP_TO = timedelta(days=3)
LONGEST = timedelta(days=180)


@dataclass(frozen=True, slots=True)
class TopicSeries:
    """One topic's buckets: stories, the usual count (None where there is no history), spike marks."""

    rule_id: str
    title: str
    counts: tuple[int, ...]
    usual: tuple[float | None, ...]
    spikes: tuple[bool, ...]

    @property
    def total(self) -> int:
        return sum(self.counts)


@dataclass(frozen=True, slots=True)
class Trend:
    """Topics over one period: bucket i starts at `start + i * step`; the last bucket runs until `until`."""

    start: datetime
    step: timedelta
    until: datetime
    period: timedelta
    topics: tuple[TopicSeries, ...]

    @property
    def starts(self) -> list[datetime]:
        size = len(self.topics[0].counts) if self.topics else 0
        return [self.start + index * self.step for index in range(size)]

    @property
    def empty(self) -> bool:
        return all(topic.total == 0 for topic in self.topics)


def _days(starts: Sequence[datetime], verdicts: Sequence[Verdict]) -> tuple[list[datetime], list[list[Verdict]]]:
    days: dict[datetime, list[Verdict]] = {}
    for start, verdict in zip(starts, verdicts, strict=True):
        days.setdefault(start.replace(hour=0), []).append(verdict)
    return list(days), list(days.values())


def _series(
    rule_id: str, title: str, verdicts: Sequence[Verdict], hours: Sequence[datetime], daily: bool
) -> TopicSeries:
    if not daily:
        return TopicSeries(
            rule_id, title, tuple(v.count for v in verdicts), tuple(v.usual for v in verdicts),
            tuple(v.spike for v in verdicts),
        )  # fmt: skip
    _, days = _days(hours, verdicts)
    usual = [[v.usual for v in day if v.usual is not None] for day in days]
    return TopicSeries(
        rule_id, title, tuple(sum(v.count for v in day) for day in days),
        tuple(sum(known) if known else None for known in usual), tuple(any(v.spike for v in day) for day in days),
    )  # fmt: skip


async def load_trend(
    engine: AsyncEngine, topics: Mapping[str, str], period: timedelta, now: datetime, settings: SpikesConfig
) -> Trend:
    """The trend of `topics` (rule id -> title, in the order to show) over the `period` before `now`."""
    period = min(max(period, HOUR), LONGEST)
    daily = period > HOURLY_UP_TO
    last = hour_of(now)
    first_shown = hour_of(now - period) + 1  # hourly: the hours that end within the period
    if daily:  # daily: as many days as the period has, the last one today so far
        first_shown = hour_of((now - period + DAY).replace(hour=0, minute=0, second=0, microsecond=0))
    first_read = first_shown - settings.baseline_days * 24
    rule_ids = list(topics)
    async with engine.connect() as conn:
        counts = await hourly_counts(conn, rule_ids, first_read, last)
        firsts = await first_hours(conn, rule_ids)

    def build() -> Trend:
        hours = [hour_start(hour) for hour in range(first_shown, last + 1)]
        series = []
        for rule_id, title in topics.items():
            dense = [counts[rule_id].get(hour, 0) for hour in range(first_read, last + 1)]
            known = firsts.get(rule_id, last + 1) - first_read
            verdicts = hourly_verdicts(dense, known, settings, start=first_shown - first_read)
            series.append(_series(rule_id, title, verdicts, hours, daily))
        return Trend(hours[0], DAY if daily else HOUR, now, period, tuple(series))

    return await asyncio.to_thread(build)  # the test of every hour: CPU, off the chat front's event loop
