"""Whether the database takes this process's work now: reachable, with room, writable.

While it does not (down, restarting, full, read-only), claiming due feeds pauses; polls that fetched
something meanwhile leave their feeds due, untouched, rather than count the database's failure as the feed's
(their claims are this process's own, taken back at once). The heartbeat's write (cluster/member.py) is the
probe: the first that goes through resumes polling, within a heartbeat of the database taking writes again.
The problem is logged as one line a minute, with the alerts waiting to be sent when the database can still
be read. Once per outage, when the database is full or read-only, the process holding the delivery role
tells the admins directly through the Bot API (an outbox row is a write the database refuses).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.counts import plural
from bot.store.db import describe_error, failure_reason, refusal
from bot.store.outbox import queue_counts

log = logging.getLogger(__name__)

SAY_EVERY = 60.0
"""Seconds between two lines saying the database still fails."""

Tell = Callable[[str], Awaitable[None]]
"""Tells the admins one sentence directly (not through the outbox); set by the delivery role's holder."""


class DatabaseHealth:
    """This process's view of the database; `failed(error)` after a database error, `worked()` after a write
    that went through; no work is claimed while `problem` is set."""

    def __init__(self, engine: AsyncEngine, clock: Callable[[], float] = time.monotonic) -> None:
        self.engine = engine
        self.clock = clock
        self.tell: Tell | None = None
        self.problem: str | None = None
        self._said_at: float | None = None
        self._told = False
        self._refused = False

    async def failed(self, error: BaseException) -> None:
        """A database error: pause polling, say so at most once a minute, and tell the admins once if the
        database refuses writes."""
        reason = refusal(error)
        self._refused = reason is not None
        self.problem = reason or f"cannot reach the database ({failure_reason(error)})"
        now = self.clock()
        if self._said_at is not None and now - self._said_at < SAY_EVERY:
            return
        self._said_at = now
        waiting = await self._waiting()
        log.warning("%s: polling paused%s; retrying", self.problem, f", {waiting}" if waiting else "")
        if self._refused and not self._told and self.tell is not None:
            self._told = True
            try:
                await self.tell(f"newsbot: {self.problem}: polling paused{f', {waiting}' if waiting else ''}. "
                                "It resumes by itself once the database takes writes again.")  # fmt: skip
            except Exception as tell_error:  # the Bot API down too: the log line above says it
                log.warning("could not tell the admins (%s)", describe_error(tell_error))

    def worked(self) -> None:
        """A write went through: if the database had failed, say that work resumes."""
        if self.problem is None:
            return
        log.info("the database takes writes again: polling resumed")
        self.problem = None
        self._said_at = None
        self._told = False

    async def _waiting(self) -> str:
        """"86 alerts waiting to be sent", when the database can be read."""
        try:
            pending = (await queue_counts(self.engine)).get("pending", 0)
        except Exception:
            return ""
        return f"{plural(pending, 'alert')} waiting to be sent"
