"""The scheduler of a process that shares its database: claim due feeds, poll them, claim more.

On SQLite one process schedules every feed itself (fetch/schedule.py). On PostgreSQL the schedule lives in
the feeds table (each feed's next poll time, set by the poll policy when its poll is saved), and each
process claims due feeds up to its free slots (store/claims.py), so every due poll is taken by exactly one
process and the polls spread over the processes that have room.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.store.claims import Claim, claim_due
from bot.store.db import describe_error

log = logging.getLogger(__name__)

CLAIM_EVERY = 1.0
"""Seconds between looks for due feeds while nothing more is due (the time a due poll waits at most)."""


class ClaimedPolls:
    """Runs `poll(claim)` for the due feeds this process claims, at most `slots` at a time."""

    def __init__(
        self,
        engine: AsyncEngine,
        owner: str,
        lease: timedelta,
        slots: int,
        poll: Callable[[Claim], Awaitable[None]],
    ) -> None:
        self.engine = engine
        self.owner = owner
        self.lease = lease
        self.slots = slots
        self.poll = poll

    async def run(self, stop: asyncio.Event) -> None:
        """Claim and poll until `stop`; polls in flight then are cancelled (their claims end with the process's)."""
        running: set[asyncio.Task[None]] = set()
        stopping = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                free = self.slots - len(running)
                claims = await self._claim(free) if free else []
                running |= {asyncio.create_task(self._poll(claim), name=f"poll {claim.url}") for claim in claims}
                # While claims fill every free slot more may be due: claim again as soon as a poll ends.
                more = bool(claims) and len(claims) == free
                await asyncio.wait(
                    {stopping, *(running if more else ())}, timeout=CLAIM_EVERY, return_when=asyncio.FIRST_COMPLETED
                )
                running = {task for task in running if not task.done()}
        finally:
            stopping.cancel()
            for task in running:
                task.cancel()
            await asyncio.gather(stopping, *running, return_exceptions=True)

    async def _claim(self, free: int) -> list[Claim]:
        try:
            return await claim_due(self.engine, self.owner, clock.now(), self.lease, free)
        except Exception as error:
            log.warning("claiming due feeds failed (%s); retrying", describe_error(error))
            return []

    async def _poll(self, claim: Claim) -> None:
        try:
            await self.poll(claim)
        except Exception:
            # poll() records feed failures itself; reaching here is a bug, and the claim runs out by itself.
            log.exception("polling %s failed unexpectedly", claim.url)
