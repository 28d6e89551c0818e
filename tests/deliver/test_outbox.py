"""The outbox on SQLite and PostgreSQL: idempotent keys, due rows per chat, folding, failure paths."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.model import Headline
from bot.store.chats import remember_chat
from bot.store.locks import LostRole
from bot.store.outbox import (
    FoldConflict,
    NewMessage,
    due_chats,
    due_for_chat,
    enqueue,
    fail_chat,
    fold,
    mark_attempt,
    mark_failed,
    mark_sent,
    outbox,
    queue_counts,
    retry_later,
    rewrite_held,
    story_messages,
    to_fold,
)


def _message(n: int, chat: int = 1, **changes: object) -> NewMessage:
    values: dict[str, object] = {
        "key": f"tg:{chat}:alert:{n}",
        "rule_id": "kallas",
        "html": f"<b>{n}</b>",
        "plain": str(n),
        "headline": Headline(f"Title {n}", f"https://x.test/{n}", "ERR", "Kallas"),
        "chat_id": chat,
        "alert_id": n,
    }
    values.update(changes)
    return NewMessage(**values)  # type: ignore[arg-type]


async def test_same_key_is_queued_once(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    async with engine.begin() as conn:
        assert await enqueue(conn, [_message(1), _message(2)]) == 2
        assert await enqueue(conn, [_message(1), _message(3)]) == 1
    assert [(b.chat_id, b.due, b.is_group) for b in await due_chats(engine, clock.now())] == [(1, 3, False)]
    assert await queue_counts(engine) == {"pending": 3}


async def test_a_batch_for_thousands_of_chats_is_queued_in_one_call(engine: AsyncEngine) -> None:
    """One story to 3,000 chats: more rows than one statement may carry parameters for (SQLite: 32,766)."""
    await remember_chat(engine, 1, "private", None)
    many = [_message(n, key=f"tg:{n}:story:1") for n in range(3000)]
    async with engine.begin() as conn:
        assert await enqueue(conn, many) == 3000
        assert await enqueue(conn, [*many[:10], _message(1, key="tg:new")]) == 1
    assert await queue_counts(engine) == {"pending": 3001}


async def test_sent_rows_are_never_due_again_and_retries_wait(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    async with engine.begin() as conn:
        await enqueue(conn, [_message(1), _message(2)])
    first, second = await due_for_chat(engine, 1, clock.now())
    assert (first.alert_id, second.alert_id) == (1, 2)
    await mark_attempt(engine, first.id)
    await mark_sent(engine, first.id, message_id=77)
    assert [q.alert_id for q in await due_for_chat(engine, 1, clock.now())] == [2]
    await retry_later(engine, second.id, clock.now() + timedelta(minutes=1), "Bad Gateway")
    assert await due_for_chat(engine, 1, clock.now()) == []
    assert len(await due_for_chat(engine, 1, clock.now() + timedelta(minutes=2))) == 1


async def test_a_row_sent_by_another_process_is_not_sent_again_nor_its_message_id_rewritten(
    engine: AsyncEngine,
) -> None:
    """A process that read a row, was paused, and resumed after another sent it: its attempt is refused, and
    the send it might still record keeps the first message id (later edits go to that message)."""
    await remember_chat(engine, 1, "private", None)
    async with engine.begin() as conn:
        await enqueue(conn, [_message(1)])
    (row,) = await due_for_chat(engine, 1, clock.now())
    assert await mark_attempt(engine, row.id)
    await mark_sent(engine, row.id, message_id=77)
    assert not await mark_attempt(engine, row.id)
    await mark_sent(engine, row.id, message_id=78)
    await mark_failed(engine, row.id, "too late")
    async with engine.connect() as conn:
        stored = (await conn.execute(sa.select(outbox.c.status, outbox.c.message_id, outbox.c.attempts))).one()
    assert tuple(stored) == ("sent", 77, 1)


async def test_an_attempt_whose_fence_fails_changes_nothing(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    async with engine.begin() as conn:
        await enqueue(conn, [_message(1)])
    (row,) = await due_for_chat(engine, 1, clock.now())

    async def lost(conn: AsyncConnection) -> None:
        raise LostRole("this process no longer holds the delivery role")

    with pytest.raises(LostRole):
        await mark_attempt(engine, row.id, lost)
    with pytest.raises(LostRole):
        await mark_failed(engine, row.id, "never", lost)
    assert [(q.id, q.attempts) for q in await due_for_chat(engine, 1, clock.now())] == [(row.id, 0)]


async def test_fold_replaces_rows_by_one_summary(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    async with engine.begin() as conn:
        await enqueue(conn, [_message(n) for n in range(5)])
    folding = await to_fold(engine, 1, "pending", None)
    assert [h.title for h in folding.headlines] == [f"Title {n}" for n in range(5)]
    summary = _message(0, key="tg:1:fold:1", headline=None, alert_id=None, html="<b>5 alerts</b>")
    async with engine.begin() as conn:
        await fold(conn, folding, summary, "pending")
    (queued,) = await due_for_chat(engine, 1, clock.now())
    assert queued.html == "<b>5 alerts</b>"
    assert [b.due for b in await due_chats(engine, clock.now())] == [1]
    with pytest.raises(FoldConflict):
        async with engine.begin() as conn:
            await fold(conn, folding, summary, "pending")


async def test_blocked_chat_fails_its_queue(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    async with engine.begin() as conn:
        await enqueue(conn, [_message(1), _message(2, held=True)])
    assert await fail_chat(engine, 1, "Forbidden: bot was blocked by the user") == 2
    assert await due_chats(engine, clock.now()) == []
    assert await queue_counts(engine) == {"failed": 2}


async def test_story_messages_are_the_first_messages_not_the_edits(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    await remember_chat(engine, 2, "private", None)
    async with engine.begin() as conn:
        await enqueue(conn, [_message(1, story_id=9), _message(3, chat=2, story_id=8, held=True)])
        (found, held) = await story_messages(conn, [8, 9])
        assert (found.chat_id, found.story_id, found.status) == (1, 9, "pending")
        assert (held.chat_id, held.story_id, held.status) == (2, 8, "held")
        await enqueue(conn, [_message(2, story_id=9, edit_of=found.outbox_id, key="tg:1:edit:9:2")])
        assert await story_messages(conn, [9]) == [found]
        assert await story_messages(conn, [7]) == []


async def test_a_held_message_is_rewritten_until_it_goes_out(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    async with engine.begin() as conn:
        await enqueue(conn, [_message(1, story_id=9, held=True), _message(2, story_id=8)])
        held, pending = await story_messages(conn, [8, 9])
        newer = _message(1, html="<b>1, now naming two topics</b>", headline=Headline("T", "u", "ERR", "A, B"))
        await rewrite_held(conn, held.outbox_id, newer)
        await rewrite_held(conn, pending.outbox_id, newer)
    folding = await to_fold(engine, 1, "held", None)
    assert [h.topic for h in folding.headlines] == ["A, B"]
    assert [q.html for q in await due_for_chat(engine, 1, clock.now())] == ["<b>2</b>"]
