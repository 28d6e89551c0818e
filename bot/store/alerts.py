"""Matches and alerts: why a rule matched an entry, and the alerts raised (one per rule and story)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.model import Alert, ClauseHit, Match, Span
from bot.store.db import MAX_PARAMETERS
from bot.store.entries import entry_columns, entry_from_row
from bot.store.stories import live_story_id
from bot.store.tables import alerts, entries, feeds, inserted_id, matches


def clauses_to_json(clauses: Sequence[ClauseHit]) -> list[dict[str, Any]]:
    return [{"clause": hit.clause, "spans": [[s.field, s.start, s.end, s.text] for s in hit.spans]} for hit in clauses]


def clauses_from_json(data: list[dict[str, Any]]) -> tuple[ClauseHit, ...]:
    return tuple(
        ClauseHit(item["clause"], tuple(Span(f, start, end, text) for f, start, end, text in item["spans"]))
        for item in data
    )


@dataclass(frozen=True, slots=True)
class MatchRow:
    """A rule that matched a stored entry, to record."""

    entry_id: int
    match: Match


async def insert_matches(conn: AsyncConnection, found: Sequence[MatchRow]) -> list[int]:
    """Record why rules matched new entries, in one statement; returns the match ids in the same order."""
    if not found:
        return []
    now = clock.now()
    statement = sa.insert(matches).returning(matches.c.id, sort_by_parameter_order=True)
    rows = [
        {
            "entry_id": item.entry_id,
            "rule_id": item.match.rule_id,
            "rule_title": item.match.rule_title,
            "clauses": clauses_to_json(item.match.clauses),
            "score": item.match.score,
            "created_at": now,
        }
        for item in found
    ]
    return list((await conn.execute(statement, rows)).scalars())


async def insert_alert(conn: AsyncConnection, alert: Alert, entry_id: int, match_id: int) -> Alert:
    """Store a new alert (of the recorded match `match_id` of entry `entry_id`); returns it with its id."""
    created_at = clock.now()
    result = await conn.execute(
        sa.insert(alerts).values(
            match_id=match_id,
            entry_id=entry_id,
            rule_id=alert.rule_id,
            story_id=alert.story.id if alert.story else None,
            created_at=created_at,
        )
    )
    return replace(alert, id=inserted_id(result), created_at=created_at)


async def story_alerts(conn: AsyncConnection, story_ids: Sequence[int]) -> dict[tuple[str, int], Alert]:
    """The alerts raised for these (live) stories, by (rule, story), each with its entry and match."""
    if not story_ids:
        return {}
    wanted = sorted(set(story_ids))
    found: dict[tuple[str, int], Alert] = {}
    for start in range(0, len(wanted), MAX_PARAMETERS):
        query = _alert_query().where(alerts.c.story_id.in_(wanted[start : start + MAX_PARAMETERS]))
        for row in (await conn.execute(query)).mappings():
            found[(row["rule_id"], row["alert_story_id"])] = _alert_from_row(row)
    return found


async def move_alerts(conn: AsyncConnection, into: int, others: Sequence[int]) -> None:
    """Stories `others` merged into `into`: their alerts now belong to `into`. Where both had an alert for
    one rule, the older alert becomes the story's (later outlets are added to it) and the younger keeps
    pointing at its merged story, whose id leads to `into` (see story_merges)."""
    for other in others:
        mine = {
            rule: (alert_id, created)
            for alert_id, rule, created in await conn.execute(
                sa.select(alerts.c.id, alerts.c.rule_id, alerts.c.created_at).where(alerts.c.story_id == into)
            )
        }
        theirs = list(
            await conn.execute(
                sa.select(alerts.c.id, alerts.c.rule_id, alerts.c.created_at).where(alerts.c.story_id == other)
            )
        )
        for alert_id, rule, created in theirs:
            kept = mine.get(rule)
            if kept is None:
                await conn.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(story_id=into))
            elif (created, alert_id) < (kept[1], kept[0]):  # theirs is older: swap the two
                await conn.execute(sa.update(alerts).where(alerts.c.id == kept[0]).values(story_id=None))
                await conn.execute(sa.update(alerts).where(alerts.c.id == alert_id).values(story_id=into))
                await conn.execute(sa.update(alerts).where(alerts.c.id == kept[0]).values(story_id=other))


def _alert_query() -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(
            *entry_columns(),
            alerts.c.id.label("alert_id"),
            alerts.c.created_at.label("alert_created_at"),
            alerts.c.story_id.label("alert_story_id"),
            matches.c.rule_id,
            matches.c.rule_title,
            matches.c.clauses,
            matches.c.score,
        )
        .select_from(alerts)
        .join(matches, matches.c.id == alerts.c.match_id)
        .join(entries, entries.c.id == alerts.c.entry_id)
        .join(feeds, feeds.c.id == entries.c.feed_id)
    )


def _alert_from_row(row: RowMapping) -> Alert:
    match = Match(row["rule_id"], row["rule_title"], clauses_from_json(row["clauses"]), row["score"])
    return Alert(
        rule_id=row["rule_id"],
        rule_title=row["rule_title"],
        entry=entry_from_row(row),
        match=match,
        id=row["alert_id"],
        created_at=row["alert_created_at"],
    )


@dataclass(frozen=True, slots=True)
class StoredAlert:
    """An alert as stored (without its story), and the id of the story it belongs to now: a merged story's
    alert names the story it merged into."""

    alert: Alert
    story_id: int | None


async def _stored(conn: AsyncConnection, row: RowMapping) -> StoredAlert:
    story_id = row["alert_story_id"]
    return StoredAlert(_alert_from_row(row), await live_story_id(conn, story_id) if story_id is not None else None)


async def get_alert(engine: AsyncEngine, alert_id: int) -> StoredAlert | None:
    """An alert with its match, and its story's id as it stands now."""
    async with engine.connect() as conn:
        row = (await conn.execute(_alert_query().where(alerts.c.id == alert_id))).mappings().first()
        return await _stored(conn, row) if row else None


async def recent_alerts(
    engine: AsyncEngine, rule_ids: Sequence[str] | None = None, limit: int = 5
) -> list[StoredAlert]:
    """The newest alerts, of these rules or of all."""
    query = _alert_query().order_by(alerts.c.created_at.desc(), alerts.c.id.desc()).limit(limit)
    if rule_ids is not None:
        query = query.where(alerts.c.rule_id.in_(sorted(set(rule_ids))))
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
        return [await _stored(conn, row) for row in rows]


async def alert_counts(engine: AsyncEngine, since: datetime) -> dict[str, int]:
    """How many alerts each rule raised since `since` (rules without any are absent)."""
    query = sa.select(alerts.c.rule_id, sa.func.count()).where(alerts.c.created_at >= since).group_by(alerts.c.rule_id)
    async with engine.connect() as conn:
        return {rule_id: count for rule_id, count in await conn.execute(query)}
