"""This process among those sharing the database: its heartbeat, and the roles it holds.

There are two roles, each held by one process at a time: `ingest` (filing what every process polled: rules,
stories, alerts) and `delivery` (telling the readers, sending, and answering Telegram). On SQLite the one
process holds both (store/locks.py grants them at once); on PostgreSQL they are advisory locks of this
process's role session, so the server frees them when the process dies or falls silent.

Every heartbeat (an APScheduler job of the daemon, `beat`) writes the process's row through its role
session, so a session the server ended is noticed at once; it tries to take a role it does not hold,
renews the claims of the polls running now and forgets processes long silent; its write is also the probe
that tells a database that failed takes writes again (cluster/db_health.py). A role held runs its work
until the role is lost or the process stops. A process that dies loses its roles with its session: the
others take them within two heartbeats. A process that stops ends its roles' work, closes the session (the
roles are free at once), releases its claims and deletes its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
from collections.abc import AsyncIterator, Callable, Collection, Coroutine, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.cluster.db_health import DatabaseHealth
from bot.config import ClusterConfig
from bot.store.claims import release_claims, renew_claims
from bot.store.db import DatabaseError, describe_error, failure_reason, refusal
from bot.store.locks import Lock, RoleSession, prove_held
from bot.store.processes import ProcessRow, beat, forget_stale, leave

log = logging.getLogger(__name__)

INGEST, DELIVERY = "ingest", "delivery"
LOCKS = {INGEST: Lock.INGEST, DELIVERY: Lock.DELIVERY}
FORGET_AFTER = timedelta(minutes=10)
"""The row of a process silent this long is deleted (status shows it as stale until then)."""
STOP_WITHIN = 20.0
"""Seconds a role's work may take to wind down (finish the message in hand, the batch being filed)."""


@dataclass(frozen=True, slots=True)
class Held:
    """A role as its work sees it: which, the session holding it (a backend pid), and the event that ends it."""

    role: str
    holder: int
    ended: asyncio.Event = field(default_factory=asyncio.Event)

    async def prove(self, conn: AsyncConnection) -> None:
        """Begin a transaction of this role's step (a filing, a telling): LostRole unless this process still
        holds the role."""
        await prove_held(conn, LOCKS[self.role], self.holder)

    async def fence(self, conn: AsyncConnection) -> None:
        """Inside a transaction that marks a send attempted: LostRole unless this process still holds the role."""
        await prove_held(conn, LOCKS[self.role], self.holder, in_turn=False)


@dataclass(frozen=True, slots=True)
class Role:
    """A job one process at a time does, and the work that does it while the role is held."""

    name: str
    work: Callable[[Held], Coroutine[object, object, None]]


@dataclass(slots=True)
class _Running:
    held: Held
    task: asyncio.Task[None]


class Member:
    """This process in the database; call `beat` every heartbeat until the process stops, then `leave`."""

    def __init__(
        self,
        engine: AsyncEngine,
        settings: ClusterConfig,
        roles: Sequence[Role],
        process_id: str,
        polling: Callable[[], Collection[int]] = frozenset,
        health: DatabaseHealth | None = None,
    ) -> None:
        self.engine = engine
        self.health = health or DatabaseHealth(engine)
        self.settings = settings
        self.roles = roles
        self.polling = polling
        self.id = process_id
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = clock.now()
        self.failed: BaseException | None = None
        self.stop = asyncio.Event()
        self._session: RoleSession | None = None
        self._running: dict[str, _Running] = {}
        self._beats = 0

    async def beat(self) -> None:
        """One heartbeat. Everything goes through the role session, never waiting behind the polls for a
        pooled connection: the server ends a session that stays silent for `role_timeout`."""
        await self._reap()
        now = clock.now()
        try:
            if self._session is None:
                self._session = await RoleSession.open(self.engine, self.settings.role_timeout)
            session = self._session
            self._beats += 1
            # Sharing the database, one role per beat, and a process holding a role tries for another only every
            # other beat, so processes without a role take free roles first and the roles spread over the
            # processes. Alone (SQLite), it takes them all at once.
            if not session.shared or not self._running or self._beats % 2 == 0:
                for role in self.roles:
                    if role.name in self._running:
                        continue
                    if await session.try_take(LOCKS[role.name]):
                        self._start(role, session.pid)
                        if session.shared:
                            break
                    else:
                        await session.end_silent_holder(LOCKS[role.name], 2 * self.settings.role_timeout)
            row = ProcessRow(self.id, self.host, self.pid, tuple(sorted(self._running)), self.started_at, now)
            await beat(session.conn, row)
            await renew_claims(session.conn, self.id, sorted(self.polling()), now + self.settings.lease)
            await forget_stale(session.conn, now - FORGET_AFTER)
        except MemoryError:
            raise
        except Exception as error:
            await self.health.failed(error)
            if refusal(error) is not None:  # the database answers but refuses writes: the session and roles stay
                return
            held = ", ".join(self._running)
            if held:
                log.warning("lost the database session (%s): giving up the roles %s", failure_reason(error), held)
            await self._end_roles()
            await self._close_session()
            return
        self.health.worked()

    async def end(self) -> None:
        """Stop every role's work and free the roles (at the process's stop)."""
        await self._end_roles()
        await self._close_session()

    async def leave(self) -> None:
        """After `end` and after the polls stopped: hand this process's feeds back and delete its row."""
        try:
            await release_claims(self.engine, self.id)
            await leave(self.engine, self.id)
        except Exception as error:
            reason = describe_error(error)
            log.warning("could not sign off from the database (%s); its claims run out by themselves", reason)

    def _start(self, role: Role, holder: int) -> None:
        log.info("took the %s role", role.name)
        held = Held(role.name, holder)
        task = asyncio.create_task(role.work(held), name=f"role {role.name}")
        task.add_done_callback(lambda _task: self.stop.set() if self._fatal(_task) else None)
        self._running[role.name] = _Running(held, task)

    def _fatal(self, task: asyncio.Task[None]) -> bool:
        """A role's work that raised ends the process (a token Telegram refuses, say)."""
        if task.cancelled() or task.exception() is None:
            return False
        self.failed = self.failed or task.exception()
        return True

    async def _reap(self) -> None:
        """Roles whose work ended by itself: give them up for another process to take."""
        for role in self.roles:
            running = self._running.get(role.name)
            if running is None or not running.task.done():
                continue
            del self._running[role.name]
            log.info("gave up the %s role", role.name)
            if self._session is not None:
                with contextlib.suppress(Exception):  # a session that is gone frees the role anyway
                    await self._session.give_up(LOCKS[role.name])

    async def _end_roles(self) -> None:
        """Stop every role's work (it finishes what it has in hand), cancelling what overstays."""
        running, self._running = list(self._running.values()), {}
        for item in running:
            item.held.ended.set()
        tasks = [item.task for item in running]
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=STOP_WITHIN)
        for task in late:
            task.cancel()
        for result in await asyncio.gather(*tasks, return_exceptions=True):
            if isinstance(result, Exception) and result is not self.failed:
                log.error("a role's work failed while stopping: %s", describe_error(result))

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()


@asynccontextmanager
async def holding(engine: AsyncEngine, names: Sequence[str]) -> AsyncIterator[list[Held]]:
    """Hold these roles for a one-shot command (`poll --once`) for the block; DatabaseError at once when
    another process holds one of them."""
    session = await RoleSession.open(engine, idle_timeout=None)
    try:
        for name in names:
            if not await session.try_take(LOCKS[name]):
                raise DatabaseError(
                    f"another newsbot (a `run` or `poll` process) holds the {name} role on this database; "
                    "`poll --once` files and tells what it fetches itself, so stop the others first"
                )
        yield [Held(name, session.pid) for name in names]
    finally:
        await session.close()
