"""DatabaseHealth on a real database: a write refused for want of permission is told from an unreachable
database, polling pauses until a write goes through, and the problem is said once a minute."""

from __future__ import annotations

import logging

import pytest
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.cluster.db_health import DatabaseHealth
from bot.store.db import refusal
from bot.store.processes import processes


async def refused_write(engine: AsyncEngine) -> sa.exc.DBAPIError:
    """A real write refused by a read-only transaction (PostgreSQL) or a query-only connection (SQLite)."""
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SET TRANSACTION READ ONLY"))
        else:
            await conn.execute(sa.text("PRAGMA query_only = ON"))
        try:
            await conn.execute(sa.delete(processes))
        except sa.exc.DBAPIError as error:
            await conn.rollback()
            if conn.dialect.name == "sqlite":
                await conn.execute(sa.text("PRAGMA query_only = OFF"))
            return error
    raise AssertionError("the write went through")


async def test_a_refused_write_pauses_polling_and_is_said_once_a_minute(
    engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    now = [1000.0]
    health = DatabaseHealth(engine, clock=lambda: now[0])
    told: list[str] = []

    async def tell(text: str) -> None:
        told.append(text)

    health.tell = tell
    error = await refused_write(engine)
    assert refusal(error) == "the database is read-only"
    assert refusal(ConnectionRefusedError(111, "Connect call failed")) is None
    with caplog.at_level(logging.WARNING, logger="bot.cluster.db_health"):
        for _ in range(30):
            await health.failed(error)
            now[0] += 3
        assert health.problem == "the database is read-only"
        lines = [record.getMessage() for record in caplog.records]
    assert lines == ["the database is read-only: polling paused, 0 alerts waiting to be sent; retrying"] * 2
    assert len(told) == 1 and "the database is read-only" in told[0]
    health.worked()
    assert health.problem is None
    await health.failed(ConnectionRefusedError(111, "Connect call failed"))
    assert health.problem is not None and health.problem.startswith("cannot reach the database")
    assert len(told) == 1
