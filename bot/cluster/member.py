"""One process among several on a PostgreSQL database: its heartbeat, its claims, and the roles it holds.

Every heartbeat the process writes its row (store/processes.py) through its role session, the session whose
advisory locks are its roles (store/locks.py), so a session the server ended is noticed at once; it tries to
take a role it does not hold, renews its feed claims and forgets processes long silent. A role held runs
its work until the role is lost (the session ended) or the process stops. A process that dies loses its
roles with its session: the others take them within two heartbeats. A process that stops ends its roles'
work, closes the session (the roles are free at once), releases its claims and deletes its row.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.config import ClusterConfig
from bot.store.claims import release_claims, renew_claims
from bot.store.db import describe_error
from bot.store.locks import Lock, RoleSession
from bot.store.processes import ProcessRow, beat, forget_stale, leave

log = logging.getLogger(__name__)

FORGET_AFTER = timedelta(minutes=10)
"""The row of a process silent this long is deleted (status shows it as stale until then)."""
STOP_WITHIN = 20.0
"""Seconds a role's work may take to wind down (finish the message in hand, the batch being filed)."""


@dataclass(frozen=True, slots=True)
class Held:
    """A role as its work sees it: the session holding it (a backend pid) and the event that ends it."""

    holder: int
    ended: asyncio.Event = field(default_factory=asyncio.Event)


@dataclass(frozen=True, slots=True)
class Role:
    """A job one process at a time does, and the work that does it while the role is held."""

    name: str
    lock: Lock
    work: Callable[[Held], Coroutine[object, object, None]]


@dataclass(slots=True)
class _Running:
    held: Held
    task: asyncio.Task[None]


class Member:
    """This process in the shared database; `run` it until the process stops, then `leave`."""

    def __init__(self, engine: AsyncEngine, settings: ClusterConfig, roles: Sequence[Role]) -> None:
        self.engine = engine
        self.settings = settings
        self.roles = roles
        self.id = uuid.uuid4().hex[:12]
        self.host = socket.gethostname()
        self.pid = os.getpid()
        self.started_at = clock.now()
        self._session: RoleSession | None = None
        self._running: dict[str, _Running] = {}
        self._beats = 0

    async def run(self, stop: asyncio.Event) -> None:
        """Beat until `stop`; raises what a role's work raised (a token Telegram refuses ends the process)."""
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                await self._beat()
                tasks = [running.task for running in self._running.values()]
                await asyncio.wait(
                    {stopping, *tasks}, timeout=self.settings.heartbeat.total_seconds(),
                    return_when=asyncio.FIRST_COMPLETED,
                )  # fmt: skip
                await self._reap()
        finally:
            stopping.cancel()
            await self._end_roles()
            await self._close_session()

    async def leave(self) -> None:
        """After `run` and after the polls stopped: hand this process's feeds back and delete its row."""
        try:
            await release_claims(self.engine, self.id)
            await leave(self.engine, self.id)
        except Exception as error:
            reason = describe_error(error)
            log.warning("could not sign off from the database (%s); its claims run out by themselves", reason)

    async def _beat(self) -> None:
        """Everything goes through the role session, never waiting behind the polls for a pooled connection:
        the server ends a session that stays silent for `role_timeout`."""
        now = clock.now()
        try:
            if self._session is None:
                self._session = await RoleSession.open(self.engine, self.settings.role_timeout)
            session = self._session
            self._beats += 1
            # One role per beat, and a process holding a role tries for another only every other beat, so
            # processes without a role take free roles first and the roles spread over the processes.
            if not self._running or self._beats % 2 == 0:
                for role in self.roles:
                    if role.name not in self._running and await session.try_take(role.lock):
                        self._start(role, session.pid)
                        break
            row = ProcessRow(self.id, self.host, self.pid, tuple(sorted(self._running)), self.started_at, now)
            await beat(session.conn, row)
            await renew_claims(session.conn, self.id, now + self.settings.lease)
            await forget_stale(session.conn, now - FORGET_AFTER)
        except Exception as error:
            held = ", ".join(self._running)
            if held:
                log.warning("lost the database session (%s): giving up the roles %s", describe_error(error), held)
            else:
                log.warning("cannot reach the database (%s); retrying", describe_error(error))
            await self._end_roles()
            await self._close_session()

    def _start(self, role: Role, holder: int) -> None:
        log.info("took the %s role", role.name)
        held = Held(holder)
        self._running[role.name] = _Running(held, asyncio.create_task(role.work(held), name=f"role {role.name}"))

    async def _reap(self) -> None:
        """Roles whose work ended by itself: give them up for another process to take; raise a failure."""
        for role in self.roles:
            running = self._running.get(role.name)
            if running is None or not running.task.done():
                continue
            del self._running[role.name]
            running.task.result()  # a failure ends the process
            log.info("gave up the %s role", role.name)
            if self._session is not None:
                with contextlib.suppress(Exception):  # a session that is gone frees the role anyway
                    await self._session.give_up(role.lock)

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
            if isinstance(result, Exception):
                log.error("a role's work failed while stopping: %s", describe_error(result))

    async def _close_session(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            with contextlib.suppress(Exception):
                await session.close()
