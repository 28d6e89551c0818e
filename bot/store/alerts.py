"""Matches and alerts: why a rule matched an entry, and the alert it raised (one per rule and entry)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.model import Alert, ClauseHit, Match, Span
from bot.store.entries import StoredEntry, entry_columns, entry_from_row
from bot.store.tables import alerts, entries, feeds, inserted_id, matches, utcnow


def clauses_to_json(clauses: Sequence[ClauseHit]) -> list[dict[str, Any]]:
    return [{"clause": hit.clause, "spans": [[s.field, s.start, s.end, s.text] for s in hit.spans]} for hit in clauses]


def clauses_from_json(data: list[dict[str, Any]]) -> tuple[ClauseHit, ...]:
    return tuple(
        ClauseHit(item["clause"], tuple(Span(f, start, end, text) for f, start, end, text in item["spans"]))
        for item in data
    )


async def record_match(conn: AsyncConnection, stored: StoredEntry, match: Match, *, raise_alert: bool) -> Alert | None:
    """Store why `match.rule_id` matched; with `raise_alert`, also the alert, unless one exists already."""
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
    exists = await conn.scalar(
        sa.select(alerts.c.id).where(alerts.c.entry_id == stored.id, alerts.c.rule_id == match.rule_id)
    )
    if exists is not None:
        return None
    created_at = utcnow()
    result = await conn.execute(
        sa.insert(alerts).values(match_id=match_id, entry_id=stored.id, rule_id=match.rule_id, created_at=created_at)
    )
    return Alert(
        rule_id=match.rule_id,
        rule_title=match.rule_title,
        entry=stored.entry,
        match=match,
        id=inserted_id(result),
        created_at=created_at,
    )


def _alert_query() -> sa.Select[*tuple[Any, ...]]:
    return (
        sa.select(
            *entry_columns(),
            alerts.c.id.label("alert_id"),
            alerts.c.created_at.label("alert_created_at"),
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


async def get_alert(engine: AsyncEngine, alert_id: int) -> Alert | None:
    async with engine.connect() as conn:
        row = (await conn.execute(_alert_query().where(alerts.c.id == alert_id))).mappings().first()
    return _alert_from_row(row) if row else None


async def recent_alerts(engine: AsyncEngine, rule_id: str | None = None, limit: int = 5) -> list[Alert]:
    """The newest alerts, of one rule or of all."""
    query = _alert_query().order_by(alerts.c.created_at.desc(), alerts.c.id.desc()).limit(limit)
    if rule_id is not None:
        query = query.where(alerts.c.rule_id == rule_id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [_alert_from_row(row) for row in rows]
