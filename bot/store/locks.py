"""PostgreSQL advisory locks: the roles one process at a time holds, and the steps processes take in turn.

A role (ingest, delivery) is a session-level lock on a dedicated connection (`RoleSession`). It lasts as
long as that session, so the server frees it the moment the holder's process dies (its socket closes), or
after `idle_timeout` without a word from it (a frozen process, a host gone). Steps that must never run
twice at once (migrating, syncing the feed list, a filing transaction) take a transaction-level lock,
freed at commit or rollback. On SQLite there is one process (store/single.py) and nothing to wait for.
"""

from __future__ import annotations

from datetime import timedelta
from enum import IntEnum

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

NAMESPACE = 0x6E62
"""The first of the two keys of every newsbot lock ("nb"), so other programs' locks in the database never clash."""


class Lock(IntEnum):
    SETUP = 1
    FILING = 2
    INGEST = 10
    DELIVERY = 11


class LostRole(Exception):
    """This process no longer holds the role it acted for: another process has taken over."""


async def take_turn(conn: AsyncConnection, lock: Lock) -> None:
    """Wait for `lock`, held until the caller's transaction ends."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(NAMESPACE, int(lock))))


async def file_in_turn(conn: AsyncConnection, holder: int) -> None:
    """Begin a filing transaction: wait for any other to end, then make sure the session `holder` (a backend
    pid) still holds the ingest role; LostRole if it does not. A new holder waits for the same lock before
    it reads the story window (`wait_for_filing`), so a filing that passed this check is one it reads."""
    await take_turn(conn, Lock.FILING)
    held = await conn.scalar(
        sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :namespace "
            "AND objid = :role AND objsubid = 2 AND pid = :holder AND granted"
        ),
        {"namespace": NAMESPACE, "role": int(Lock.INGEST), "holder": holder},
    )
    if not held:
        raise LostRole("this process no longer holds the ingest role")


async def wait_for_filing(engine: AsyncEngine) -> None:
    """Return once no filing transaction of an earlier ingest holder is running."""
    async with engine.begin() as conn:
        await take_turn(conn, Lock.FILING)


class RoleSession:
    """A dedicated session for this process's roles and its heartbeat; closing it frees every role at once."""

    def __init__(self, conn: AsyncConnection, pid: int) -> None:
        self.conn = conn
        self.pid = pid

    @classmethod
    async def open(cls, engine: AsyncEngine, idle_timeout: timedelta | None) -> RoleSession:
        """A session that the server ends (freeing its roles) after `idle_timeout` without a statement (None:
        only when the process ends)."""
        conn = await engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            if idle_timeout is not None:
                milliseconds = str(int(idle_timeout.total_seconds() * 1000))
                await conn.execute(sa.select(sa.func.set_config("idle_session_timeout", milliseconds, False)))
            pid = int(await conn.scalar(sa.select(sa.func.pg_backend_pid())) or 0)
        except BaseException:
            await conn.invalidate()
            raise
        return cls(conn, pid)

    async def try_take(self, role: Lock) -> bool:
        """Take `role` if no other session holds it."""
        return bool(await self.conn.scalar(sa.select(sa.func.pg_try_advisory_lock(NAMESPACE, int(role)))))

    async def give_up(self, role: Lock) -> None:
        await self.conn.execute(sa.select(sa.func.pg_advisory_unlock(NAMESPACE, int(role))))

    async def close(self) -> None:
        """End the session (never back to the pool, where its locks would live on)."""
        await self.conn.invalidate()
        await self.conn.close()
