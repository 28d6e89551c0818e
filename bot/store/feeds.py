"""Feeds and their fetch state: what the poller needs between polls, kept across restarts."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import timedelta

import sqlalchemy as sa
from sqlalchemy.engine import RowMapping
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.config import FeedConfig
from bot.model import FeedState, PollReason
from bot.store.db import MAX_PARAMETERS
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


@dataclass(frozen=True, slots=True)
class PolledState:
    """A feed's state after a poll, to store: its new title, if the poll read one, and whether the poll ends
    the feed's first-poll grace."""

    feed_id: int
    state: FeedState
    title: str | None = None
    polled_ok: bool = False


def _state_values(state: FeedState) -> dict[str, object]:
    return {
        "s_etag": state.etag,
        "s_last_modified": state.last_modified,
        "s_content_hash": state.content_hash,
        "s_last_polled_at": state.last_polled_at,
        "s_last_success_at": state.last_success_at,
        "s_last_error": state.last_error,
        "s_last_error_at": state.last_error_at,
        "s_consecutive_errors": state.consecutive_errors,
        "s_next_poll_at": state.next_poll_at,
        "s_items_per_day": state.items_per_day,
        "s_failing_since": state.failing_since,
        "s_newest_entry_at": state.newest_entry_at,
        "s_ttl_seconds": state.ttl.total_seconds() if state.ttl else None,
        "s_next_poll_reason": state.next_poll_reason,
    }


_STATE_COLUMNS = (
    "etag", "last_modified", "content_hash", "last_polled_at", "last_success_at", "last_error", "last_error_at",
    "consecutive_errors", "next_poll_at", "items_per_day", "failing_since", "newest_entry_at", "ttl_seconds",
    "next_poll_reason",
)  # fmt: skip
_SAVE = (
    sa.update(feeds)
    .where(feeds.c.id == sa.bindparam("s_id"))
    .values(
        {
            **{column: sa.bindparam(f"s_{column}") for column in _STATE_COLUMNS},
            "title": sa.func.coalesce(sa.bindparam("s_title", type_=sa.Text), feeds.c.title),
            "first_poll_done": sa.or_(feeds.c.first_poll_done, sa.bindparam("s_ok", type_=sa.Boolean)),
            "claimed_by": None,
            "claim_expires": None,
        }
    )
)


async def save_states(conn: AsyncConnection, polled: Sequence[PolledState], owner: str | None = None) -> set[int]:
    """Store the poller's new view of feeds, in one statement for all of them, which ends any claim on them;
    a successful poll also ends the first-poll grace. With `owner`, only the feeds that process still holds a
    claim on (their rows locked meanwhile, in id order): a feed whose claim ran out and which another process
    took is left alone. Returns the ids of the feeds stored."""
    if not polled:
        return set()
    wanted = sorted({item.feed_id for item in polled})
    if owner is None:
        mine = set(wanted)
    else:
        mine = set()
        for first in range(0, len(wanted), MAX_PARAMETERS):
            held = (
                sa.select(feeds.c.id)
                .where(feeds.c.id.in_(wanted[first : first + MAX_PARAMETERS]), feeds.c.claimed_by == owner)
                .order_by(feeds.c.id)
                .with_for_update()
            )
            mine.update(await conn.scalars(held))
    rows = [
        {"s_id": item.feed_id, "s_title": item.title or None, "s_ok": item.polled_ok, **_state_values(item.state)}
        for item in sorted(polled, key=lambda item: item.feed_id)
        if item.feed_id in mine
    ]
    if rows:
        await conn.execute(_SAVE, rows)
    return mine


async def save_state(
    conn: AsyncConnection,
    feed_id: int,
    state: FeedState,
    *,
    title: str | None,
    polled_ok: bool,
    owner: str | None = None,
) -> bool:
    """`save_states` of one feed: whether it was stored."""
    return feed_id in await save_states(conn, [PolledState(feed_id, state, title, polled_ok)], owner)
