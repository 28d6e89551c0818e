"""A topic's volume: one row per topic and story, at the story's first publication time, in hourly buckets.

`topic_stories` holds, for every story a rule matched (any of its members), the story's first publication
time: the earliest of its members' times, each its publication time, or when it was seen if it has none or
claims a later one (a feed's clock in the future never moves a story). `hour` is that time in whole hours
since 1970 (UTC), so a topic's stories per hour over 14 days is one range of the (rule_id, hour) index,
whatever the number of entries stored. Filing keeps it up to date in the transaction that files the
entries (`refresh_volume`, for the stories a batch changed: new members, merges), so the counts are never
ahead of or behind the stories.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from bot.store.db import MAX_PARAMETERS
from bot.store.tables import UTCDateTime, entries, matches, metadata

topic_stories = sa.Table(
    "topic_stories",
    metadata,
    sa.Column("rule_id", sa.String(200), primary_key=True),
    sa.Column("story_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("first_at", UTCDateTime, nullable=False),
    sa.Column("hour", sa.Integer, nullable=False),
    sa.Index("ix_topic_stories_rule_hour", "rule_id", "hour"),
    sa.Index("ix_topic_stories_story_id", "story_id"),
)

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_HOUR = timedelta(hours=1)


def hour_of(moment: datetime) -> int:
    """Whole hours since 1970-01-01 00:00 UTC."""
    return (moment - _EPOCH) // _HOUR


def hour_start(hour: int) -> datetime:
    return _EPOCH + hour * _HOUR


def member_time() -> sa.ColumnElement[datetime]:
    """When a member counts as published: its publication time, else (none, or one after it was seen) when it
    was seen."""
    late = sa.or_(entries.c.published_at.is_(None), entries.c.published_at > entries.c.seen_at)
    return sa.type_coerce(sa.case((late, entries.c.seen_at), else_=entries.c.published_at), UTCDateTime)


def _chunks(values: Sequence[int], size: int = MAX_PARAMETERS // 2) -> Iterable[Sequence[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def refresh_volume(conn: AsyncConnection, story_ids: Iterable[int]) -> None:
    """Bring the rows of these stories in line with their members and matches, inside the caller's
    transaction: a story merged away loses its rows, a story that matched a new topic gains one, an earlier
    member moves the story's time. Only the rows that differ are written."""
    wanted_ids = sorted(set(story_ids))
    for chunk in _chunks(wanted_ids):
        times: dict[int, datetime] = dict(
            (await conn.execute(
                sa.select(entries.c.story_id, sa.func.min(member_time()))
                .where(entries.c.story_id.in_(chunk))
                .group_by(entries.c.story_id)
            )).all()
        )  # fmt: skip
        topics = (
            await conn.execute(
                sa.select(matches.c.rule_id, entries.c.story_id)
                .join(entries, entries.c.id == matches.c.entry_id)
                .where(entries.c.story_id.in_(chunk))
                .distinct()
            )
        ).all()
        wanted = {(rule_id, story_id): times[story_id] for rule_id, story_id in topics if story_id in times}
        stored = {
            (rule_id, story_id): first_at
            for rule_id, story_id, first_at in await conn.execute(
                sa.select(topic_stories.c.rule_id, topic_stories.c.story_id, topic_stories.c.first_at).where(
                    topic_stories.c.story_id.in_(chunk)
                )
            )
        }
        gone = [{"b_rule": rule, "b_story": story} for rule, story in stored.keys() - wanted.keys()]
        moved = [
            {"b_rule": rule, "b_story": story, "b_at": at, "b_hour": hour_of(at)}
            for (rule, story), at in wanted.items()
            if (rule, story) in stored and stored[(rule, story)] != at
        ]
        new = [
            {"rule_id": rule, "story_id": story, "first_at": at, "hour": hour_of(at)}
            for (rule, story), at in wanted.items()
            if (rule, story) not in stored
        ]
        rows = topic_stories.c
        key = sa.and_(rows.rule_id == sa.bindparam("b_rule"), rows.story_id == sa.bindparam("b_story"))
        if gone:
            await conn.execute(sa.delete(topic_stories).where(key), gone)
        if moved:
            values: dict[str, Any] = {"first_at": sa.bindparam("b_at"), "hour": sa.bindparam("b_hour")}
            await conn.execute(sa.update(topic_stories).where(key).values(values), moved)
        if new:
            await conn.execute(sa.insert(topic_stories), new)


async def hourly_counts(
    conn: AsyncConnection, rule_ids: Sequence[str], first_hour: int, last_hour: int
) -> dict[str, dict[int, int]]:
    """Stories per topic and hour, for hours `first_hour` .. `last_hour` (hours without stories are absent)."""
    if not rule_ids:
        return {}
    query = (
        sa.select(topic_stories.c.rule_id, topic_stories.c.hour, sa.func.count())
        .where(
            topic_stories.c.rule_id.in_(sorted(set(rule_ids))),
            topic_stories.c.hour.between(first_hour, last_hour),
        )
        .group_by(topic_stories.c.rule_id, topic_stories.c.hour)
    )
    found: dict[str, dict[int, int]] = {rule_id: {} for rule_id in rule_ids}
    for rule_id, hour, count in await conn.execute(query):
        found[rule_id][hour] = count
    return found


async def first_hours(conn: AsyncConnection, rule_ids: Sequence[str]) -> dict[str, int]:
    """The hour of each topic's earliest story: where its history starts (topics without stories are absent).
    One query per topic, each a single step down the (rule_id, hour) index."""
    found = {}
    for rule_id in sorted(set(rule_ids)):
        query = sa.select(sa.func.min(topic_stories.c.hour)).where(topic_stories.c.rule_id == rule_id)
        first = await conn.scalar(query)
        if first is not None:
            found[rule_id] = int(first)
    return found


async def story_times(
    conn: AsyncConnection, rule_ids: Sequence[str], hours: Iterable[int]
) -> dict[str, list[datetime]]:
    """The first publication times of each topic's stories in these hours."""
    wanted = sorted(set(hours))
    found: dict[str, list[datetime]] = {rule_id: [] for rule_id in rule_ids}
    if not rule_ids or not wanted:
        return found
    query = sa.select(topic_stories.c.rule_id, topic_stories.c.first_at).where(
        topic_stories.c.rule_id.in_(sorted(set(rule_ids))), topic_stories.c.hour.in_(wanted)
    )
    for rule_id, first_at in await conn.execute(query):
        found[rule_id].append(first_at)
    return found


@dataclass(frozen=True, slots=True)
class TopStory:
    """The story of a topic's hour told by the most outlets."""

    story_id: int
    outlets: int


async def most_told(conn: AsyncConnection, rule_id: str, since: datetime, until: datetime) -> TopStory | None:
    """Of a topic's stories first published in (since, until], the one with the most outlets (the oldest of
    equals)."""
    outlets = sa.func.count(sa.distinct(entries.c.outlet))
    query = (
        sa.select(topic_stories.c.story_id, outlets)
        .join(entries, entries.c.story_id == topic_stories.c.story_id)
        .where(
            topic_stories.c.rule_id == rule_id,
            topic_stories.c.hour.between(hour_of(since), hour_of(until)),
            topic_stories.c.first_at > since,
            topic_stories.c.first_at <= until,
        )
        .group_by(topic_stories.c.story_id)
        .order_by(outlets.desc(), topic_stories.c.story_id)
        .limit(1)
    )
    row = (await conn.execute(query)).first()
    return TopStory(row[0], row[1]) if row is not None else None
