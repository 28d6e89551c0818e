"""Matches and alerts: why a rule matched an entry, and the alert it raised (one per rule and entry)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.model import Alert, ClauseHit, Match, Span, Story
from bot.store.entries import StoredEntry, entry_columns, entry_from_row
from bot.store.stories import load_story
from bot.store.tables import alerts, entries, feeds, inserted_id, matches, utcnow


def clauses_to_json(clauses: Sequence[ClauseHit]) -> list[dict[str, Any]]:
    return [{"clause": hit.clause, "spans": [[s.field, s.start, s.end, s.text] for s in hit.spans]} for hit in clauses]


def clauses_from_json(data: list[dict[str, Any]]) -> tuple[ClauseHit, ...]:
    return tuple(
        ClauseHit(item["clause"], tuple(Span(f, start, end, text) for f, start, end, text in item["spans"]))
        for item in data
    )


async def record_match(
    conn: AsyncConnection, stored: StoredEntry, match: Match, *, raise_alert: bool, story: Story | None = None
) -> Alert | None:
    """Store why `match.rule_id` matched; with `raise_alert`, also raise its alert.

    One alert per rule and story: when the story already has one for this rule, the result is that
    alert again, carrying the grown story and marked `update`. None when nothing is to be delivered.
    """
    match_id = await conn.scalar(
        sa.select(matches.c.id).where(matches.c.entry_id == stored.id, matches.c.rule_id == match.rule_id)
    )
    if match_id is None:
        result = await conn.execute(
            sa.insert(matches).values(
                entry_id=stored.id,
                rule_id=match.rule_id,
                rule_title=match.rule_title,
                clauses=clauses_to_json(match.clauses),
                score=match.score,
                created_at=utcnow(),
            )
        )
        match_id = inserted_id(result)
    if not raise_alert:
        return None
    if story is not None:
        earlier = await conn.scalar(
            sa.select(alerts.c.id).where(alerts.c.rule_id == match.rule_id, alerts.c.story_id == story.id)
        )
        if earlier is not None:
            first = await _load_alert(conn, earlier)
            return replace(first, story=story, update=True) if first else None
    exists = await conn.scalar(
        sa.select(alerts.c.id).where(alerts.c.entry_id == stored.id, alerts.c.rule_id == match.rule_id)
    )
    if exists is not None:
        return None
    created_at = utcnow()
    result = await conn.execute(
        sa.insert(alerts).values(
            match_id=match_id,
            entry_id=stored.id,
            rule_id=match.rule_id,
            story_id=story.id if story else None,
            created_at=created_at,
        )
    )
    return Alert(
        rule_id=match.rule_id,
        rule_title=match.rule_title,
        entry=stored.entry,
        match=match,
        id=inserted_id(result),
        story=story,
        created_at=created_at,
    )


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


async def _with_story(conn: AsyncConnection, row: RowMapping) -> Alert:
    alert = _alert_from_row(row)
    story_id = row["alert_story_id"]
    return replace(alert, story=await load_story(conn, story_id)) if story_id is not None else alert


async def _load_alert(conn: AsyncConnection, alert_id: int) -> Alert | None:
    row = (await conn.execute(_alert_query().where(alerts.c.id == alert_id))).mappings().first()
    return await _with_story(conn, row) if row else None


async def get_alert(engine: AsyncEngine, alert_id: int) -> Alert | None:
    """An alert with its match and its story as it stands now (for /why)."""
    async with engine.connect() as conn:
        return await _load_alert(conn, alert_id)


async def recent_alerts(engine: AsyncEngine, rule_id: str | None = None, limit: int = 5) -> list[Alert]:
    """The newest alerts, of one rule or of all, each with its story."""
    query = _alert_query().order_by(alerts.c.created_at.desc(), alerts.c.id.desc()).limit(limit)
    if rule_id is not None:
        query = query.where(alerts.c.rule_id == rule_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
        return [await _with_story(conn, row) for row in rows]


async def alert_counts(engine: AsyncEngine, since: datetime) -> dict[str, int]:
    """How many alerts each rule raised since `since` (rules without any are absent)."""
    query = sa.select(alerts.c.rule_id, sa.func.count()).where(alerts.c.created_at >= since).group_by(alerts.c.rule_id)
    async with engine.connect() as conn:
        return {rule_id: count for rule_id, count in await conn.execute(query)}
