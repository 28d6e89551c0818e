"""A poll cycle of thousands of feeds queues more messages than one statement may bind (asyncpg and SQLite cap
a statement at ~32,000 values): they are all queued, once."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.db import MAX_PARAMETERS
from bot.store.outbox import NewMessage, enqueue, outbox


async def test_more_messages_than_one_statement_binds_are_all_queued_once(engine: AsyncEngine) -> None:
    count = 2500
    messages = [
        NewMessage(key=f"apprise:json://127.0.0.1/:{n}", rule_id="topic", html=f"<b>{n}</b>", plain=str(n),
                   target="json://127.0.0.1/")
        for n in range(count)
    ]
    assert count * len(sa.inspect(outbox).columns) > MAX_PARAMETERS + 2767  # past asyncpg's 32,767 in one go
    async with engine.begin() as conn:
        assert await enqueue(conn, messages) == count
    async with engine.begin() as conn:
        assert await enqueue(conn, messages) == 0
    async with engine.connect() as conn:
        assert await conn.scalar(sa.select(sa.func.count()).select_from(outbox)) == count
