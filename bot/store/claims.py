"""Feed claims on PostgreSQL: each due poll is taken by exactly one of the processes sharing the database.

A process claims due feeds by writing its id and an expiry on their rows (`FOR UPDATE SKIP LOCKED`, so
processes claiming at the same moment get different feeds); saving the poll's new state ends the claim
(store/feeds.py `save_state` with `owner`). A live process renews its claims every heartbeat; the claims
of a process that died expire within a lease and the feeds become due again for the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.tables import feeds


@dataclass(frozen=True, slots=True)
class Claim:
    feed_id: int
    url: str


async def claim_due(engine: AsyncEngine, owner: str, now: datetime, lease: timedelta, limit: int) -> list[Claim]:
    """Claim up to `limit` feeds that are due and unclaimed (or whose claim ran out), most overdue first. A feed
    the config no longer lists has no next poll (feeds/register.py) and is never claimed."""
    due = (
        sa.select(feeds.c.id)
        .where(
            feeds.c.next_poll_at <= now,
            sa.or_(feeds.c.claim_expires.is_(None), feeds.c.claim_expires < now),
        )
        .order_by(feeds.c.next_poll_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    claim = (
        sa.update(feeds)
        .where(feeds.c.id.in_(due))
        .values(claimed_by=owner, claim_expires=now + lease)
        .returning(feeds.c.id, feeds.c.url)
    )
    async with engine.begin() as conn:
        rows = (await conn.execute(claim)).all()
    return [Claim(row.id, row.url) for row in rows]


async def renew_claims(conn: AsyncConnection, owner: str, until: datetime) -> None:
    """Keep the feeds this process is polling its own until `until` (a row busy elsewhere, say its poll being
    saved, is left for the next heartbeat)."""
    mine = sa.select(feeds.c.id).where(feeds.c.claimed_by == owner).with_for_update(skip_locked=True)
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
