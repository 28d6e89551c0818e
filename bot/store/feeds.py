"""Feeds and their fetch state: what the poller needs between polls, kept across restarts."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.config import FeedConfig
from bot.model import FeedState, PollReason
from bot.store.locks import Lock, take_turn
from bot.store.tables import feeds, inserted_id


def _seconds(value: float | None) -> timedelta | None:
    return timedelta(seconds=value) if value is not None else None


def _reason(value: str | None) -> PollReason | None:
    """A stored reason; one this version does not know (written by a newer one) reads as none."""
    try:
        return PollReason(value) if value is not None else None
    except ValueError:
        return None


def state_from_row(row: RowMapping) -> FeedState:
    return FeedState(
        url=row["url"],
        name=row["name"],
        every=_seconds(row["every_seconds"]),
        etag=row["etag"],
        last_modified=row["last_modified"],
        content_hash=row["content_hash"],
        last_polled_at=row["last_polled_at"],
        last_success_at=row["last_success_at"],
        last_error=row["last_error"],
        last_error_at=row["last_error_at"],
        consecutive_errors=row["consecutive_errors"],
        next_poll_at=row["next_poll_at"],
        items_per_day=row["items_per_day"],
        failing_since=row["failing_since"],
        newest_entry_at=row["newest_entry_at"],
        ttl=_seconds(row["ttl_seconds"]),
        title=row["title"],
        next_poll_reason=_reason(row["next_poll_reason"]),
        schedule_key=row["schedule_key"],
    )


async def sync_feeds(engine: AsyncEngine, configured: list[FeedConfig]) -> dict[str, int]:
    """Make the feeds table know every configured feed (name and interval follow the config; "" for no name,
    so the feed's own title names it, see `FeedState.outlet`). Only rows that change are written, so a restart
    or an edit of a long feed list is quick.

    Feeds removed from the config keep their rows and entries: nothing stored is lost.
    Returns feed ids by URL. Processes starting together on one database take turns, and rows are written in
    id order, as every statement that locks several feeds does (store/claims.py): none waits for another
    in a circle.
    """
    async with engine.begin() as conn:
        await take_turn(conn, Lock.SETUP)
        rows = await conn.execute(sa.select(feeds.c.url, feeds.c.id, feeds.c.name, feeds.c.every_seconds))
        known = {row.url: row for row in rows}
        ids = {url: row.id for url, row in known.items()}
        changed: dict[int, dict[str, object]] = {}
        for config in configured:
            values: dict[str, object] = {
                "name": (config.name or "").strip(),
                "every_seconds": config.every.total_seconds() if config.every else None,
            }
            row = known.get(config.url)
            if row is None:
                result = await conn.execute(sa.insert(feeds).values(url=config.url, created_at=clock.now(), **values))
                ids[config.url] = inserted_id(result)
            elif (row.name, row.every_seconds) != (values["name"], values["every_seconds"]):
                changed[row.id] = values
        for feed_id in sorted(changed):
            await conn.execute(sa.update(feeds).where(feeds.c.id == feed_id).values(**changed[feed_id]))
    return {config.url: ids[config.url] for config in configured}


async def load_state(engine: AsyncEngine, url: str) -> FeedState:
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(feeds).where(feeds.c.url == url))).mappings().one()
    return state_from_row(row)


async def load_states(engine: AsyncEngine) -> list[FeedState]:
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(feeds).order_by(feeds.c.id))).mappings().all()
    return [state_from_row(row) for row in rows]


async def save_schedules(engine: AsyncEngine, states: Iterable[FeedState]) -> None:
    """Store feeds' next polls as planned outside a poll (a new feed, an edit of its settings, a removal):
    the time, why, and the settings it was planned with; all in one statement, also for thousands."""
    rows = [
        {"at_url": s.url, "at_time": s.next_poll_at, "at_reason": s.next_poll_reason, "at_key": s.schedule_key}
        for s in states
    ]
    if not rows:
        return
    statement = (
        sa.update(feeds)
        .where(feeds.c.url == sa.bindparam("at_url"))
        .values(
            next_poll_at=sa.bindparam("at_time"),
            next_poll_reason=sa.bindparam("at_reason"),
            schedule_key=sa.bindparam("at_key"),
        )
    )
    async with engine.begin() as conn:
        await conn.execute(statement, rows)


async def is_first_poll(conn: AsyncConnection, feed_id: int) -> bool:
    done = await conn.scalar(sa.select(feeds.c.first_poll_done).where(feeds.c.id == feed_id))
    return not done


async def save_state(
    conn: AsyncConnection,
    feed_id: int,
    state: FeedState,
    *,
    title: str | None,
    polled_ok: bool,
    owner: str | None = None,
) -> bool:
    """Store the poller's new view of a feed, which ends any claim on it; a successful poll also ends the
    first-poll grace. With `owner`, only while that process still holds the feed's claim: False (nothing
    written) when the claim ran out and another process took the feed."""
    values: dict[str, object] = {
        "etag": state.etag,
        "last_modified": state.last_modified,
        "content_hash": state.content_hash,
        "last_polled_at": state.last_polled_at,
        "last_success_at": state.last_success_at,
        "last_error": state.last_error,
        "last_error_at": state.last_error_at,
        "consecutive_errors": state.consecutive_errors,
        "next_poll_at": state.next_poll_at,
        "items_per_day": state.items_per_day,
        "failing_since": state.failing_since,
        "newest_entry_at": state.newest_entry_at,
        "ttl_seconds": state.ttl.total_seconds() if state.ttl else None,
        "next_poll_reason": state.next_poll_reason,
        "claimed_by": None,
        "claim_expires": None,
    }
    if title:
        values["title"] = title
    if polled_ok:
        values["first_poll_done"] = True
    query = sa.update(feeds).where(feeds.c.id == feed_id)
    if owner is not None:
        query = query.where(feeds.c.claimed_by == owner)
    result = await conn.execute(query.values(**values))
    return bool(result.rowcount)
