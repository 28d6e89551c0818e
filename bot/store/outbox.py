"""The persistent outbox: every message for a chat (or an Apprise channel) is a row before it is sent.

A row's `key` is its idempotency key (one per chat and story, or per edit of a story's message), so queueing
the same message twice is a no-op. The sender marks a row attempted right before the call (after its pace's
wait), in a transaction that proves the process still holds the delivery role and that the row is still
pending, and sent, with Telegram's message id, right after; after a crash, rows not marked sent are sent again,
rows marked sent never are, and a sent row's message id is never rewritten.
One window no client can close remains: Telegram accepted a message and the process died before the
answer was recorded. The Bot API has no idempotency key, so that one message is sent again (at least once
rather than lost); the window is the few milliseconds between Telegram's answer and the commit.
Rows move: pending -> sent | failed; held (digest) or pending -> folded into one summary row.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.model import Headline
from bot.store.chats import chats
from bot.store.locks import Fence, unfenced
from bot.store.tables import UTCDateTime, metadata

Status = Literal["pending", "held", "folded", "sent", "failed"]

outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("key", sa.String(300), nullable=False, unique=True),
    sa.Column("chat_id", sa.BigInteger),
    sa.Column("thread_id", sa.BigInteger),
    sa.Column("target", sa.String(64)),
    sa.Column("alert_id", sa.Integer),
    sa.Column("rule_id", sa.String(200), nullable=False),
    sa.Column("story_id", sa.Integer),
    sa.Column("status", sa.String(10), nullable=False),
    sa.Column("parent_id", sa.Integer),
    sa.Column("edit_of", sa.Integer),
    sa.Column("html", sa.Text, nullable=False),
    sa.Column("plain", sa.Text, nullable=False),
    sa.Column("headline", sa.JSON(none_as_null=True)),
    sa.Column("published_at", UTCDateTime),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime),
    sa.Column("attempted_at", UTCDateTime),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("message_id", sa.BigInteger),
    sa.Column("error", sa.Text),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_outbox_status_chat", "status", "chat_id"),
    sa.Index("ix_outbox_story_chat", "story_id", "chat_id"),
)


@dataclass(frozen=True, slots=True)
class NewMessage:
    """A message to queue: for a Telegram chat (`chat_id`) or an Apprise channel (`target`)."""

    key: str
    rule_id: str
    html: str
    plain: str
    headline: Headline | None = None
    chat_id: int | None = None
    thread_id: int | None = None
    target: str | None = None
    alert_id: int | None = None
    story_id: int | None = None
    held: bool = False
    edit_of: int | None = None
    published_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Queued:
    """A row due for sending; `edit_message_id` is set when it replaces the text of a sent message."""

    id: int
    chat_id: int | None
    thread_id: int | None
    target: str | None
    alert_id: int | None
    html: str
    plain: str
    attempts: int
    edit_of: int | None = None
    edit_message_id: int | None = None
    published_at: datetime | None = None
    story_id: int | None = None


@dataclass(frozen=True, slots=True)
class DueChat:
    """A chat with messages due now."""

    chat_id: int
    is_group: bool
    due: int


@dataclass(frozen=True, slots=True)
class Folding:
    """Rows of one chat thread to fold into a summary, with what their summary lines need."""

    ids: tuple[int, ...]
    thread_id: int | None
    headlines: tuple[Headline, ...]


def _headline_json(headline: Headline | None) -> dict[str, str] | None:
    if headline is None:
        return None
    return {"title": headline.title, "url": headline.url, "outlet": headline.outlet, "topic": headline.topic}


def _insert_ignoring_duplicates(conn: AsyncConnection) -> Any:
    """INSERT ... ON CONFLICT (key) DO NOTHING RETURNING id, in each dialect's own words. Executed with a list
    of rows, SQLAlchemy sends them in batches of multi-row INSERTs within each database's parameter limit, and
    only the rows inserted come back."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    return dialect.insert(outbox).on_conflict_do_nothing(index_elements=["key"]).returning(outbox.c.id)


async def enqueue(conn: AsyncConnection, messages: Sequence[NewMessage]) -> int:
    """Queue messages inside the caller's transaction; a key already queued is skipped. Returns how many
    rows were new."""
    if not messages:
        return 0
    now = clock.now()
    values = [
        {
            "key": m.key,
            "chat_id": m.chat_id,
            "thread_id": m.thread_id,
            "target": m.target,
            "alert_id": m.alert_id,
            "rule_id": m.rule_id,
            "story_id": m.story_id,
            "status": "held" if m.held else "pending",
            "edit_of": m.edit_of,
            "html": m.html,
            "plain": m.plain,
            "headline": _headline_json(m.headline),
            "published_at": m.published_at,
            "created_at": now,
        }
        for m in messages
    ]
    result = await conn.execute(_insert_ignoring_duplicates(conn), values)
    return len(result.all())


@dataclass(frozen=True, slots=True)
class StoryMessage:
    """A message queued for a chat about a story (not an edit): its outbox id, when it was sent (else
    queued), and its status."""

    chat_id: int
    story_id: int
    outbox_id: int
    at: datetime
    status: Status


async def story_messages(conn: AsyncConnection, story_ids: Sequence[int]) -> list[StoryMessage]:
    """The messages (not edits) queued for chats about these stories, oldest first."""
    if not story_ids:
        return []
    columns = (outbox.c.chat_id, outbox.c.story_id, outbox.c.id, outbox.c.sent_at, outbox.c.created_at, outbox.c.status)
    query = (
        sa.select(*columns)
        .where(outbox.c.story_id.in_(sorted(set(story_ids))), outbox.c.chat_id.is_not(None), outbox.c.edit_of.is_(None))
        .order_by(outbox.c.id)
    )
    return [
        StoryMessage(chat, story, row_id, sent or created, status)
        for chat, story, row_id, sent, created, status in (await conn.execute(query)).all()
    ]


@dataclass(frozen=True, slots=True)
class KeyedMessage:
    """A message queued under a known key (not an edit): its outbox id, and when it was sent (else queued)."""

    outbox_id: int
    at: datetime


async def keyed_messages(conn: AsyncConnection, keys: Sequence[str]) -> dict[str, KeyedMessage]:
    """The messages queued under these keys, by key."""
    found: dict[str, KeyedMessage] = {}
    wanted = sorted(set(keys))
    for start in range(0, len(wanted), 1000):
        query = sa.select(outbox.c.key, outbox.c.id, outbox.c.sent_at, outbox.c.created_at).where(
            outbox.c.key.in_(wanted[start : start + 1000])
        )
        for key, row_id, sent, created in await conn.execute(query):
            found[key] = KeyedMessage(row_id, sent or created)
    return found


async def rewrite_held(conn: AsyncConnection, outbox_id: int, message: NewMessage) -> None:
    """Replace the text and summary line of a message still held for a digest, inside the caller's
    transaction (a message that went out meanwhile is left as it is)."""
    await conn.execute(
        sa.update(outbox)
        .where(outbox.c.id == outbox_id, outbox.c.status == "held")
        .values(
            rule_id=message.rule_id, html=message.html, plain=message.plain, headline=_headline_json(message.headline),
            alert_id=message.alert_id,
        )
    )


def _due(now: datetime) -> sa.ColumnElement[bool]:
    return sa.and_(
        outbox.c.status == "pending",
        sa.or_(outbox.c.next_attempt_at.is_(None), outbox.c.next_attempt_at <= now),
    )


async def due_chats(engine: AsyncEngine, now: datetime) -> list[DueChat]:
    """Telegram chats with messages due now, and how many."""
    query = (
        sa.select(outbox.c.chat_id, chats.c.type, sa.func.count())
        .join(chats, chats.c.id == outbox.c.chat_id)
        .where(_due(now), outbox.c.chat_id.is_not(None))
        .group_by(outbox.c.chat_id, chats.c.type)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return [DueChat(chat_id, kind != "private", count) for chat_id, kind, count in rows]


async def due_targets(engine: AsyncEngine, now: datetime) -> list[Queued]:
    """Apprise messages due now, oldest first."""
    query = sa.select(outbox).where(_due(now), outbox.c.target.is_not(None)).order_by(outbox.c.id).limit(100)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [_queued(row, None) for row in rows]


def _queued(row: Any, edit_message_id: int | None) -> Queued:
    return Queued(
        row["id"],
        row["chat_id"],
        row["thread_id"],
        row["target"],
        row["alert_id"],
        row["html"],
        row["plain"],
        row["attempts"],
        row["edit_of"],
        edit_message_id,
        row["published_at"],
        row["story_id"],
    )


async def due_for_chat(engine: AsyncEngine, chat_id: int, now: datetime) -> list[Queued]:
    """A chat's due messages, oldest first; an edit carries the message id of the message it edits."""
    original = outbox.alias("original")
    query = (
        sa.select(outbox, original.c.message_id.label("original_message_id"))
        .outerjoin(original, original.c.id == outbox.c.edit_of)
        .where(_due(now), outbox.c.chat_id == chat_id)
        .order_by(outbox.c.id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [_queued(row, row["original_message_id"]) for row in rows]


@dataclass(frozen=True, slots=True)
class Original:
    """The message an edit replaces, as it stands now: its status, Telegram's id for it once sent, and when
    it is tried again if it waits."""

    status: Status
    message_id: int | None
    next_attempt_at: datetime | None


async def original_of(engine: AsyncEngine, outbox_id: int) -> Original | None:
    """The row an edit points at, read now (it may have been sent since the edit was read)."""
    query = sa.select(outbox.c.status, outbox.c.message_id, outbox.c.next_attempt_at).where(outbox.c.id == outbox_id)
    async with engine.connect() as conn:
        row = (await conn.execute(query)).first()
    return Original(row[0], row[1], row[2]) if row is not None else None


async def mark_attempt(engine: AsyncEngine, outbox_id: int, fence: Fence = unfenced) -> bool:
    """Mark a row attempted just before its call, in a transaction that first runs `fence` (the delivery
    role's proof: LostRole for a process that lost it); False when the row is no longer pending (another
    process sent, failed or folded it meanwhile), and it must not be sent."""
    async with engine.begin() as conn:
        await fence(conn)
        result = await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status == "pending")
            .values(attempted_at=clock.now(), attempts=outbox.c.attempts + 1)
        )
    return bool(result.rowcount)


async def mark_sent(engine: AsyncEngine, outbox_id: int, message_id: int | None) -> None:
    """Record what Telegram answered for a call that went out. A row sent already (by a process that took the
    role while this one was cut off) keeps its first message id, the one later edits go to."""
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status != "sent")
            .values(status="sent", sent_at=clock.now(), message_id=message_id, error=None)
        )


async def retry_later(engine: AsyncEngine, outbox_id: int, at: datetime, error: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status == "pending")
            .values(next_attempt_at=at, error=error)
        )


async def move_queue(conn: AsyncConnection, old_chat_id: int, new_chat_id: int) -> None:
    """What waits for a group that became a supergroup now waits for its new id."""
    await conn.execute(
        sa.update(outbox)
        .where(outbox.c.chat_id == old_chat_id, outbox.c.status.in_(["pending", "held"]))
        .values(chat_id=new_chat_id)
    )


async def mark_failed(engine: AsyncEngine, outbox_id: int, error: str, fence: Fence = unfenced) -> None:
    """Give up on a row (never on one sent already), in a transaction that first runs `fence`."""
    async with engine.begin() as conn:
        await fence(conn)
        await conn.execute(
            sa.update(outbox)
            .where(outbox.c.id == outbox_id, outbox.c.status != "sent")
            .values(status="failed", error=error)
        )


async def fail_chat(engine: AsyncEngine, chat_id: int, error: str) -> int:
    """Give up on everything queued for a chat that blocked or kicked the bot."""
    async with engine.begin() as conn:
        result = await conn.execute(
            sa.update(outbox)
            .where(outbox.c.chat_id == chat_id, outbox.c.status.in_(["pending", "held"]))
            .values(status="failed", error=error)
        )
    return int(result.rowcount)


async def to_fold(engine: AsyncEngine, chat_id: int, status: Status, thread_id: int | None) -> Folding:
    """A chat thread's rows in `status` (pending for a burst, held for a digest) that carry a headline."""
    same_thread = outbox.c.thread_id.is_(None) if thread_id is None else outbox.c.thread_id == thread_id
    query = (
        sa.select(outbox.c.id, outbox.c.headline)
        .where(
            outbox.c.chat_id == chat_id,
            outbox.c.status == status,
            same_thread,
            outbox.c.headline.is_not(None),
            outbox.c.edit_of.is_(None),
        )
        .order_by(outbox.c.id)
    )
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).all()
    return Folding(tuple(r[0] for r in rows), thread_id, tuple(Headline(**r[1]) for r in rows))


async def held_threads(engine: AsyncEngine, chat_id: int) -> list[int | None]:
    """The threads of a chat that have alerts held for its digest."""
    query = (
        sa.select(outbox.c.thread_id)
        .where(outbox.c.chat_id == chat_id, outbox.c.status == "held")
        .group_by(outbox.c.thread_id)
    )
    async with engine.connect() as conn:
        return [row[0] for row in (await conn.execute(query)).all()]


class FoldConflict(Exception):
    """The rows to fold changed under the folder; its transaction must roll back."""


async def fold(conn: AsyncConnection, folding: Folding, summary: NewMessage, status: Status) -> None:
    """Replace the rows by one summary row, inside the caller's transaction; raises FoldConflict if the
    summary's key was queued already or a row left `status` meanwhile."""
    if await enqueue(conn, [summary]) != 1:
        raise FoldConflict(f"summary {summary.key} is queued already")
    parent = await conn.scalar(sa.select(outbox.c.id).where(outbox.c.key == summary.key))
    moved = await conn.execute(
        sa.update(outbox)
        .where(outbox.c.id.in_(folding.ids), outbox.c.status == status)
        .values(status="folded", parent_id=parent)
    )
    if moved.rowcount != len(folding.ids):
        raise FoldConflict(f"rows of chat {summary.chat_id} changed while folding")


async def queue_counts(engine: AsyncEngine) -> dict[str, int]:
    """How many rows wait, by status (pending, held, failed), for /status."""
    query = (
        sa.select(outbox.c.status, sa.func.count())
        .where(outbox.c.status.in_(["pending", "held", "failed"]))
        .group_by(outbox.c.status)
    )
    async with engine.connect() as conn:
        return {status: count for status, count in (await conn.execute(query)).all()}
