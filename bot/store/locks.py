"""Role locks: the jobs one process at a time does (ingest, delivery), the steps processes take in turn, and
the proof a process gives before it acts for its role.

On PostgreSQL a role is a session-level advisory lock on a dedicated connection (`RoleSession`). It lasts as
long as that session, so the server frees it the moment the holder's process dies (its socket closes), or
after `idle_timeout` without a word from it (a frozen process, a host gone). Steps that must never run twice
at once (migrating, syncing the feed list, a filing or telling transaction) take a transaction-level lock,
freed at commit or rollback; a filing or telling transaction also proves, inside itself, that its process
still holds the role (`prove_held`), so a process that was paused or cut off never commits for a role that
another process took meanwhile.

On SQLite there is one process per database file (store/db.py `only_process`: an OS lock beside the file,
held for the life of the process), so it holds every role: the same calls grant them at once and prove them
for free.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Awaitable, Callable
from datetime import timedelta
from enum import IntEnum

import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

log = logging.getLogger(__name__)

NAMESPACE = 0x6E62
"""The first of the two keys of every newsbot lock ("nb"), so other programs' locks in the database never clash."""


class Lock(IntEnum):
    SETUP = 1
    FILING = 2
    TELLING = 3
    INGEST = 10
    DELIVERY = 11


STEP = {Lock.INGEST: Lock.FILING, Lock.DELIVERY: Lock.TELLING}
"""The step each role's transactions take in turn."""
STEP_GRACE = 5.0
"""Seconds a role's holder waits for another transaction of its step before ending it as stuck."""
LOCK_TIMEOUT = "55P03"
"""PostgreSQL's SQLSTATE for a lock not granted within `lock_timeout`."""


class LostRole(Exception):
    """This process no longer holds the role it acted for: another process has taken over."""


Fence = Callable[[AsyncConnection], Awaitable[None]]
"""A proof run first inside a transaction that acts for a role: LostRole unless this process still holds it."""


async def unfenced(conn: AsyncConnection) -> None:
    """The proof of a process that is the only one acting (one-shot commands, tests of one part)."""


async def take_turn(conn: AsyncConnection, lock: Lock) -> None:
    """Wait for `lock`, held until the caller's transaction ends."""
    if conn.dialect.name == "postgresql":
        await conn.execute(sa.select(sa.func.pg_advisory_xact_lock(NAMESPACE, int(lock))))


async def prove_held(conn: AsyncConnection, role: Lock, holder: int, *, in_turn: bool = True) -> None:
    """Begin a transaction of `role`: make sure the session `holder` (a backend pid) still holds the role;
    LostRole if it does not. With `in_turn` (filing, telling) it first waits for any other transaction of
    the role's step to end; a new holder waits for the same step lock before it starts (`wait_for_step`), so
    a transaction that passed this check is one it sees. Without (a send, marked attempted in the
    transaction that proves it), the check alone: the row it changes is the fence."""
    if conn.dialect.name != "postgresql":
        return
    if in_turn:
        await _take_step(conn, role, holder)
    await _check_held(conn, role, holder)


async def _check_held(conn: AsyncConnection, role: Lock, holder: int) -> None:
    held = await conn.scalar(
        sa.text(
            "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND classid = :namespace "
            "AND objid = :role AND objsubid = 2 AND pid = :holder AND granted"
        ),
        {"namespace": NAMESPACE, "role": int(role), "holder": holder},
    )
    if not held:
        raise LostRole(f"this process no longer holds the {role.name.lower()} role")


async def wait_for_step(engine: AsyncEngine, role: Lock, holder: int | None) -> None:
    """Return once no transaction of an earlier holder of `role` is running; with `holder`, the session that
    has just taken the role, one stuck in its step for STEP_GRACE is ended (`_take_step`)."""
    async with engine.begin() as conn:
        if holder is None:
            await take_turn(conn, STEP[role])
        elif conn.dialect.name == "postgresql":
            await _take_step(conn, role, holder)


async def _take_step(conn: AsyncConnection, role: Lock, holder: int) -> None:
    """Take the lock of `role`'s step for the caller's transaction. Only a role's holder takes its step, so a
    transaction holding it for STEP_GRACE while the session `holder` holds the role is an earlier holder's,
    stuck: its process was paused or frozen inside it (idle, or the server blocked writing to it). It proved
    a role it has lost since, and must never commit; it is ended (pg_terminate_backend), and its work is done
    again. LostRole if `holder` no longer holds the role itself (it must never end the holder's work)."""
    step = STEP[role]
    while True:
        try:
            async with conn.begin_nested():
                await conn.execute(sa.text(f"SET LOCAL lock_timeout = {int(STEP_GRACE * 1000)}"))
                await take_turn(conn, step)
            break
        except DBAPIError as error:
            if getattr(error.orig, "sqlstate", None) != LOCK_TIMEOUT:
                raise
        await _check_held(conn, role, holder)
        stuck = await conn.scalars(
            sa.text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = :namespace AND objid = :step "
                "AND objsubid = 2 AND granted AND pid <> pg_backend_pid()"
            ),
            {"namespace": NAMESPACE, "step": int(step)},
        )
        for pid in stuck.all():
            log.warning("ended a stuck %s transaction of a process that lost its role (server pid %d)",
                        step.name.lower(), pid)  # fmt: skip
            await conn.execute(sa.select(sa.func.pg_terminate_backend(pid)))
    await conn.execute(sa.text("SET LOCAL lock_timeout = 0"))


class RoleSession:
    """A dedicated session for this process's roles and its heartbeat; closing it frees every role at once."""

    def __init__(self, conn: AsyncConnection, pid: int) -> None:
        self.conn = conn
        self.pid = pid
        self.shared = conn.dialect.name == "postgresql"

    @classmethod
    async def open(cls, engine: AsyncEngine, idle_timeout: timedelta | None) -> RoleSession:
        """A session that the server ends (freeing its roles) after `idle_timeout` without a statement (None:
        only when the process ends)."""
        conn = await engine.connect()
        try:
            await conn.execution_options(isolation_level="AUTOCOMMIT")
            if conn.dialect.name != "postgresql":
                return cls(conn, os.getpid())
            if idle_timeout is not None:
                milliseconds = str(int(idle_timeout.total_seconds() * 1000))
                await conn.execute(sa.select(sa.func.set_config("idle_session_timeout", milliseconds, False)))
            pid = int(await conn.scalar(sa.select(sa.func.pg_backend_pid())) or 0)
        except BaseException:
            await conn.invalidate()
            raise
        return cls(conn, pid)

    async def try_take(self, role: Lock) -> bool:
        """Take `role` if no other session holds it (on SQLite this process is the only one: always)."""
        if not self.shared:
            return True
        return bool(await self.conn.scalar(sa.select(sa.func.pg_try_advisory_lock(NAMESPACE, int(role)))))

    async def end_silent_holder(self, role: Lock, silent_for: timedelta) -> None:
        """End the session holding `role` if it has been in the middle of one statement for `silent_for`: its
        process froze there (the server's idle timeout covers only a session waiting for its next statement;
        a role session's statements take milliseconds, and an idle one, `poll --once` at work, is left alone).
        The role is free at the next try; the frozen process, if it wakes, finds it lost the role."""
        if not self.shared:
            return
        silent = await self.conn.scalars(
            sa.text(
                "SELECT l.pid FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
                "WHERE l.locktype = 'advisory' AND l.classid = :namespace AND l.objid = :role AND l.objsubid = 2 "
                "AND l.granted AND a.state <> 'idle' AND a.state_change < now() - make_interval(secs => :seconds)"
            ),
            {"namespace": NAMESPACE, "role": int(role), "seconds": silent_for.total_seconds()},
        )
        for pid in silent.all():
            log.warning("ended the session of a process silent for %d s holding the %s role (server pid %d)",
                        silent_for.total_seconds(), role.name.lower(), pid)  # fmt: skip
            await self.conn.execute(sa.select(sa.func.pg_terminate_backend(pid)))

    async def give_up(self, role: Lock) -> None:
        if self.shared:
            await self.conn.execute(sa.select(sa.func.pg_advisory_unlock(NAMESPACE, int(role))))

    async def close(self) -> None:
        """End the session (never back to the pool, where its locks would live on)."""
        await self.conn.invalidate()
        await self.conn.close()
