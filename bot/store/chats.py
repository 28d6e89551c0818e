"""Chats that use the bot: their subscriptions (with forum thread), mutes, digest mode and spike messages.

A chat that blocks or kicks the bot is marked inactive rather than forgotten, so its subscriptions come
back if it talks to the bot again.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.store.tables import UTCDateTime, metadata

DigestMode = Literal["off", "hourly", "daily"]
ALL_TOPICS = "*"

chats = sa.Table(
    "chats",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(20), nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
    sa.Column("digest", sa.String(10), nullable=False, server_default="off"),
    sa.Column("digest_sent_at", UTCDateTime),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("deactivated_at", UTCDateTime),
    sa.Column("spikes", sa.Boolean, nullable=False, server_default=sa.true()),
)

subscriptions = sa.Table(
    "subscriptions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("chat_id", sa.BigInteger, sa.ForeignKey("chats.id", ondelete="CASCADE"), nullable=False),
    sa.Column("rule_id", sa.String(200), nullable=False),
    sa.Column("thread_id", sa.BigInteger),
    sa.Column("created_by", sa.BigInteger),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("chat_id", "rule_id", name="uq_subscriptions_chat_rule"),
    sa.Index("ix_subscriptions_rule_id", "rule_id"),
)

mutes = sa.Table(
    "mutes",
    metadata,
    sa.Column("chat_id", sa.BigInteger, sa.ForeignKey("chats.id", ondelete="CASCADE"), primary_key=True),
    sa.Column("rule_id", sa.String(200), primary_key=True),
    sa.Column("until", UTCDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class Subscription:
    chat_id: int
    rule_id: str
    thread_id: int | None


@dataclass(frozen=True, slots=True)
class Follower:
    """An active chat's subscription to a topic: its forum thread, the chat's digest mode, whether a mute of
    the topic (or of all topics) holds at the time asked, and whether the chat takes spike messages."""

    chat_id: int
    rule_id: str
    thread_id: int | None
    digest: DigestMode
    muted: bool
    spikes: bool = True


@dataclass(frozen=True, slots=True)
class ChatSettings:
    chat_id: int
    is_group: bool
    active: bool
    digest: DigestMode
    digest_sent_at: datetime | None
    mutes: tuple[tuple[str, datetime], ...]
    spikes: bool = True


async def remember_chat(engine: AsyncEngine, chat_id: int, chat_type: str, title: str | None) -> None:
    """Record a chat that talked to the bot; a chat that had blocked it becomes active again."""
    async with engine.begin() as conn:
        updated = await conn.execute(
            sa.update(chats)
            .where(chats.c.id == chat_id)
            .values(type=chat_type, title=title, active=True, deactivated_at=None)
        )
        if updated.rowcount == 0:
            await conn.execute(sa.insert(chats).values(id=chat_id, type=chat_type, title=title, created_at=clock.now()))


async def know_private_chat(conn: AsyncConnection, user_id: int) -> None:
    """Make sure a user's private chat with the bot is known (operators get notices there), as it is."""
    if await conn.scalar(sa.select(chats.c.id).where(chats.c.id == user_id)) is None:
        await conn.execute(sa.insert(chats).values(id=user_id, type="private", title=None, created_at=clock.now()))


async def subscribe(engine: AsyncEngine, chat_id: int, rule_id: str, thread_id: int | None, user_id: int) -> bool:
    """Subscribe a chat (in a forum thread, alerts go to that thread); False if it already was, in which
    case the thread is updated to where the command was sent."""
    async with engine.begin() as conn:
        updated = await conn.execute(
            sa.update(subscriptions)
            .where(subscriptions.c.chat_id == chat_id, subscriptions.c.rule_id == rule_id)
            .values(thread_id=thread_id)
        )
        if updated.rowcount:
            return False
        await conn.execute(
            sa.insert(subscriptions).values(
                chat_id=chat_id, rule_id=rule_id, thread_id=thread_id, created_by=user_id, created_at=clock.now()
            )
        )
    return True


async def unsubscribe(engine: AsyncEngine, chat_id: int, rule_id: str) -> bool:
    async with engine.begin() as conn:
        deleted = await conn.execute(
            sa.delete(subscriptions).where(subscriptions.c.chat_id == chat_id, subscriptions.c.rule_id == rule_id)
        )
    return bool(deleted.rowcount)


async def subscriptions_of(engine: AsyncEngine, chat_id: int) -> list[Subscription]:
    """A chat's subscriptions in the order it subscribed (the order its messages name their topics)."""
    query = (
        sa.select(subscriptions.c.chat_id, subscriptions.c.rule_id, subscriptions.c.thread_id)
        .where(subscriptions.c.chat_id == chat_id)
        .order_by(subscriptions.c.id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [Subscription(*row) for row in rows]


async def followers(conn: AsyncConnection, rule_ids: Sequence[str], now: datetime) -> list[Follower]:
    """The active chats' subscriptions to these topics, by chat, each chat's in the order it subscribed."""
    if not rule_ids:
        return []
    muted = sa.exists().where(
        mutes.c.chat_id == subscriptions.c.chat_id,
        sa.or_(mutes.c.rule_id == subscriptions.c.rule_id, mutes.c.rule_id == ALL_TOPICS),
        mutes.c.until > now,
    )
    query = (
        sa.select(
            subscriptions.c.chat_id, subscriptions.c.rule_id, subscriptions.c.thread_id, chats.c.digest,
            muted.label("muted"), chats.c.spikes,
        )
        .join(chats, chats.c.id == subscriptions.c.chat_id)
        .where(subscriptions.c.rule_id.in_(sorted(set(rule_ids))), chats.c.active)
        .order_by(subscriptions.c.chat_id, subscriptions.c.id)
    )
    rows = (await conn.execute(query)).all()
    return [Follower(chat, rule, thread, digest, bool(off), bool(on)) for chat, rule, thread, digest, off, on in rows]


async def mute(engine: AsyncEngine, chat_id: int, rule_id: str, until: datetime) -> None:
    """Mute one topic, or all with ALL_TOPICS, until a time; a second mute replaces the first."""
    async with engine.begin() as conn:
        await conn.execute(sa.delete(mutes).where(mutes.c.chat_id == chat_id, mutes.c.rule_id == rule_id))
        await conn.execute(sa.insert(mutes).values(chat_id=chat_id, rule_id=rule_id, until=until))


async def unmute(engine: AsyncEngine, chat_id: int) -> int:
    """Lift every mute of a chat; returns how many there were."""
    async with engine.begin() as conn:
        deleted = await conn.execute(sa.delete(mutes).where(mutes.c.chat_id == chat_id))
    return int(deleted.rowcount)


async def set_digest(engine: AsyncEngine, chat_id: int, mode: DigestMode) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(chats).where(chats.c.id == chat_id).values(digest=mode, digest_sent_at=clock.now())
        )


async def set_spikes(engine: AsyncEngine, chat_id: int, on: bool) -> None:
    """Whether the chat gets spike messages about the topics it follows (/spikes on|off)."""
    async with engine.begin() as conn:
        await conn.execute(sa.update(chats).where(chats.c.id == chat_id).values(spikes=on))


async def deactivate(engine: AsyncEngine, chat_id: int) -> bool:
    """The bot was blocked or kicked: stop this chat's alerts. True only the first time (log once)."""
    async with engine.begin() as conn:
        updated = await conn.execute(
            sa.update(chats)
            .where(chats.c.id == chat_id, chats.c.active)
            .values(active=False, deactivated_at=clock.now())
        )
    return bool(updated.rowcount)


async def chat_settings(engine: AsyncEngine, chat_id: int, now: datetime) -> ChatSettings | None:
    async with engine.connect() as conn:
        row = (await conn.execute(sa.select(chats).where(chats.c.id == chat_id))).mappings().first()
        if row is None:
            return None
        muted = (
            await conn.execute(
                sa.select(mutes.c.rule_id, mutes.c.until)
                .where(mutes.c.chat_id == chat_id, mutes.c.until > now)
                .order_by(mutes.c.rule_id)
            )
        ).all()
    return ChatSettings(
        chat_id,
        row["type"] != "private",
        row["active"],
        row["digest"],
        row["digest_sent_at"],
        tuple((rule, until) for rule, until in muted),
        row["spikes"],
    )


async def digest_chats(engine: AsyncEngine) -> list[ChatSettings]:
    """Active chats in hourly or daily digest mode, with when their last digest went out."""
    query = sa.select(chats.c.id, chats.c.type, chats.c.digest, chats.c.digest_sent_at).where(
        chats.c.active, chats.c.digest != "off"
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [ChatSettings(cid, kind != "private", True, digest, sent, ()) for cid, kind, digest, sent in rows]


async def mark_digest_sent(conn: AsyncConnection, chat_id: int, at: datetime) -> None:
    await conn.execute(sa.update(chats).where(chats.c.id == chat_id).values(digest_sent_at=at))


async def migrate_chat(conn: AsyncConnection, old_id: int, new_id: int) -> None:
    """A group became a supergroup under a new id: carry its settings, subscriptions and mutes over
    (what the new id already has wins)."""
    row = (await conn.execute(sa.select(chats).where(chats.c.id == old_id))).mappings().first()
    if row is None:
        return
    if await conn.scalar(sa.select(chats.c.id).where(chats.c.id == new_id)) is None:
        await conn.execute(sa.insert(chats).values({**row, "id": new_id, "type": "supergroup"}))
    for table in (subscriptions, mutes):
        taken = sa.select(table.c.rule_id).where(table.c.chat_id == new_id)
        await conn.execute(sa.delete(table).where(table.c.chat_id == old_id, table.c.rule_id.in_(taken)))
        await conn.execute(sa.update(table).where(table.c.chat_id == old_id).values(chat_id=new_id))
    await conn.execute(sa.update(chats).where(chats.c.id == old_id).values(active=False, deactivated_at=clock.now()))
