"""Feed claims: each due poll is taken by exactly one process.

A process claims due feeds by writing its id and an expiry on their rows (on PostgreSQL `FOR UPDATE SKIP
LOCKED`, so processes claiming at the same moment get different feeds; on SQLite there is one process);
saving the poll's new state ends the claim, and only while the process still holds it (store/feeds.py
`save_state` with `owner`, the rows locked in that transaction: the owner is the fencing token). A live
process renews, every heartbeat, the claims of the polls it is running now and no others; a process takes
its own claims whose poll died back at once; the claims of a process that died expire within a lease and
the feeds are due again.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.model import FeedState
from bot.store.feeds import state_from_row
from bot.store.tables import feeds


@dataclass(frozen=True, slots=True)
class Claim:
    """A feed this process may poll now, with its state as stored (so a poll reads nothing more)."""

    feed_id: int
    url: str
    state: FeedState


async def claim_due(
    engine: AsyncEngine, owner: str, now: datetime, lease: timedelta, limit: int, polling: Collection[int] = ()
) -> list[Claim]:
    """Claim up to `limit` feeds that are due and unclaimed (or whose claim ran out), most overdue first, and
    this process's own claims whose poll is not among `polling` (it died, say with the database connection,
    before its state could be saved): those are taken again at once rather than after their lease. A feed the
    config no longer lists has no next poll (feeds/register.py) and is never claimed."""
    orphaned = sa.and_(feeds.c.claimed_by == owner, feeds.c.id.not_in(sorted(polling)))
    due = (
        sa.select(feeds.c.id)
        .where(
            feeds.c.next_poll_at <= now,
            sa.or_(feeds.c.claim_expires.is_(None), feeds.c.claim_expires < now, orphaned),
        )
        .order_by(feeds.c.next_poll_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        sa.update(feeds)
        .where(feeds.c.id.in_(due))
        .values(claimed_by=owner, claim_expires=now + lease)
        .returning(*feeds.c)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(claim)).mappings().all()
    return [Claim(row["id"], row["url"], state_from_row(row)) for row in rows]


async def next_due(engine: AsyncEngine, now: datetime) -> datetime | None:
    """When the next feed that nobody is polling falls due, after `now` (None: no feed is planned)."""
    query = sa.select(sa.func.min(feeds.c.next_poll_at)).where(
        feeds.c.next_poll_at > now, sa.or_(feeds.c.claim_expires.is_(None), feeds.c.claim_expires < now)
    )
    async with engine.connect() as conn:
        return await conn.scalar(query)


async def claim_feeds(
    engine: AsyncEngine, owner: str, feed_ids: Sequence[int], now: datetime, lease: timedelta
) -> list[Claim]:
    """Claim these feeds whether due or not (`poll --once` polls every feed), but none another process is
    polling now."""
    if not feed_ids:
        return []
    free = (
        sa.select(feeds.c.id)
        .where(feeds.c.id.in_(sorted(feed_ids)), sa.or_(feeds.c.claim_expires.is_(None), feeds.c.claim_expires < now))
        .order_by(feeds.c.id)
        .with_for_update(skip_locked=True)
    )
    claim = (
        sa.update(feeds)
        .where(feeds.c.id.in_(free))
        .values(claimed_by=owner, claim_expires=now + lease)
        .returning(*feeds.c)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(claim)).mappings().all()
    return [Claim(row["id"], row["url"], state_from_row(row)) for row in rows]


async def renew_claims(conn: AsyncConnection, owner: str, feed_ids: Sequence[int], until: datetime) -> None:
    """Keep the feeds this process is polling now its own until `until`; a claim whose poll is no longer
    running is left to run out (a row busy elsewhere, say its poll being saved, is left for the next
    heartbeat)."""
    if not feed_ids:
        return
    mine = (
        sa.select(feeds.c.id)
        .where(feeds.c.claimed_by == owner, feeds.c.id.in_(feed_ids))
        .order_by(feeds.c.id)
        .with_for_update(skip_locked=True)
    )
    await conn.execute(sa.update(feeds).where(feeds.c.id.in_(mine)).values(claim_expires=until))


async def drop_claim(engine: AsyncEngine, feed_id: int, owner: str, next_poll_at: datetime) -> None:
    """End a claim whose poll failed before its state could be saved; the feed is due again at `next_poll_at`."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(feeds)
            .where(feeds.c.id == feed_id, feeds.c.claimed_by == owner)
            .values(claimed_by=None, claim_expires=None, next_poll_at=next_poll_at)
        )


async def release_claims(engine: AsyncEngine, owner: str) -> None:
    """End every claim of a process that stops, so the others poll its feeds at once."""
    mine = sa.select(feeds.c.id).where(feeds.c.claimed_by == owner).order_by(feeds.c.id).with_for_update()
    async with engine.begin() as conn:
        await conn.execute(sa.update(feeds).where(feeds.c.id.in_(mine)).values(claimed_by=None, claim_expires=None))


async def claims_by_owner(engine: AsyncEngine) -> dict[str, int]:
    """How many feeds each process is polling now (for status)."""
    query = sa.select(feeds.c.claimed_by, sa.func.count()).where(feeds.c.claimed_by.is_not(None)).group_by(
        feeds.c.claimed_by
    )
    async with engine.connect() as conn:
        return {owner: count for owner, count in (await conn.execute(query)).all()}
