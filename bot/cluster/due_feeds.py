"""Which due feeds this process polls: it claims them, up to its free slots, and polls each once.

The schedule lives in the feeds table (each feed's next poll time, planned by the poll policy when its poll
is saved). `claim` is an APScheduler job of the daemon, run every second; a feed due sooner than the next
run is claimed when it falls due, so `every: 2s` means 2 s; while claims fill every free slot more may be
due, so it also runs as soon as a poll ends. Every due poll is taken by exactly one process
(store/claims.py), and the polls spread over the processes that have room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.cluster.db_health import DatabaseHealth
from bot.store.claims import Claim, claim_due, next_due

log = logging.getLogger(__name__)

CLAIM_EVERY = timedelta(seconds=1)
"""How often to look for due feeds while nothing more is due (the time a due poll waits at most)."""
STOP_WITHIN = 5.0
"""Seconds polls in flight get to finish when the process stops; the rest are dropped, their feeds due again."""


class DueFeeds:
    """Runs `poll(claim)` for the due feeds this process claims, at most `slots` at a time."""

    def __init__(
        self,
        engine: AsyncEngine,
        owner: str,
        lease: timedelta,
        slots: int,
        poll: Callable[[Claim], Awaitable[object]],
        health: DatabaseHealth,
    ) -> None:
        self.engine = engine
        self.health = health
        self.owner = owner
        self.lease = lease
        self.slots = slots
        self.poll = poll
        self.stopping = False
        self._running: dict[int, asyncio.Task[None]] = {}
        self._claiming = asyncio.Lock()
        self._filled = False  # the last claim took every free slot: more may be due
        self._asked_again = False
        self._again: set[asyncio.Task[None]] = set()
        self._timer: asyncio.TimerHandle | None = None

    def polling(self) -> frozenset[int]:
        """The feeds whose polls are running now (their claims are renewed; the others run out)."""
        return frozenset(self._running)

    async def claim(self) -> None:
        """Claim due feeds for the free slots and start their polls; asked while a claim runs, it runs once
        more when that one ends (a feed falling due meanwhile is never left to the next tick)."""
        if self.stopping:
            return
        if self._claiming.locked():
            self._asked_again = True
            return
        async with self._claiming:
            self._asked_again = True
            while self._asked_again and not self.stopping:
                self._asked_again = False
                await self._claim_once()

    async def _claim_once(self) -> None:
        free = self.slots - len(self._running)
        if free <= 0 or self.health.problem is not None:  # polling pauses until the heartbeat's write goes through
            return
        try:
            now = clock.now()
            claims = await claim_due(self.engine, self.owner, now, self.lease, free, self.polling())
            soonest = await next_due(self.engine, now)
        except Exception as error:
            await self.health.failed(error)
            return
        for claim in claims:
            task = asyncio.create_task(self._poll(claim), name=f"poll {claim.url}")
            self._running[claim.feed_id] = task
        self._filled = len(claims) == free
        if soonest is not None and soonest - now < CLAIM_EVERY:
            self._wake_in((soonest - now).total_seconds())

    async def _poll(self, claim: Claim) -> None:
        try:
            await self.poll(claim)
        except Exception:
            # poll() records feed failures itself; reaching here is a bug, and the claim runs out by itself.
            log.exception("polling %s failed unexpectedly", claim.url)
        finally:
            self._running.pop(claim.feed_id, None)
        if self._filled:
            self._claim_again()

    def _claim_again(self) -> None:
        if self.stopping:
            return
        again = asyncio.create_task(self.claim(), name="claim due feeds")
        self._again.add(again)
        again.add_done_callback(self._again.discard)

    def _wake_in(self, seconds: float) -> None:
        """Claim again when the next feed falls due, before the job's next run."""
        if self._timer is not None:
            self._timer.cancel()
        self._timer = asyncio.get_running_loop().call_later(max(seconds, 0.0), self._claim_again)

    async def stop(self) -> None:
        """Claim no more; let the polls in flight finish for a few seconds, then drop the rest (their claims
        end with the process's, and the feeds are due again)."""
        self.stopping = True
        if self._timer is not None:
            self._timer.cancel()
        await asyncio.gather(*self._again, return_exceptions=True)
        tasks = list(self._running.values())
        if not tasks:
            return
        _, late = await asyncio.wait(tasks, timeout=STOP_WITHIN)
        for task in late:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if late:
            log.info("stopped %d polls in flight; their feeds are polled again at the next start", len(late))
