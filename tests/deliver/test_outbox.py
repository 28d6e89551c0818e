"""The outbox on SQLite and PostgreSQL: idempotent keys, due rows per chat, folding, failure paths."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.model import Headline
from bot.store.chats import remember_chat
from bot.store.outbox import (
    FoldConflict,
    NewMessage,
    due_chats,
    due_for_chat,
    enqueue,
    fail_chat,
    first_story_message,
    fold,
    mark_attempt,
    mark_sent,
    queue_counts,
    retry_later,
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


async def test_first_story_message_finds_the_first_alert_of_a_story(engine: AsyncEngine) -> None:
    await remember_chat(engine, 1, "private", None)
    async with engine.begin() as conn:
        await enqueue(conn, [_message(1, story_id=9)])
        found = await first_story_message(conn, 1, "kallas", [9])
        assert found is not None
        await enqueue(conn, [_message(2, story_id=9, edit_of=found.outbox_id, key="tg:1:edit:9:2")])
        assert await first_story_message(conn, 1, "kallas", [9]) == found
        assert await first_story_message(conn, 1, "kallas", [8]) is None
