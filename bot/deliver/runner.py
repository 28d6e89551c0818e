"""Draining an outbox channel (Telegram, Apprise): what every channel's sender shares.

A sender makes passes over its due messages when its sink rings the bell after a commit, or every few
seconds; a failing pass is logged and the next one retries. Transient failures are retried with backoff;
first deliveries feed the delivery-latency metric. Stopping lets the message in hand finish and be
recorded: a cancelled send is safe, its row stays pending and goes out after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Protocol

from bot import clock
from bot.metrics import DELIVERY_LATENCY
from bot.store.outbox import Queued

log = logging.getLogger(__name__)

STOP_WITHIN = 10.0
"""Seconds a sender may take to finish the message in hand when the daemon stops."""


def backoff(attempts: int) -> timedelta:
    """Wait before retrying a transient failure: 2, 4, 8 ... seconds, at most 5 minutes."""
    return timedelta(seconds=min(300.0, 2.0 ** min(max(attempts, 1), 9)))


def observe_latency(channel: str, queued: Queued) -> None:
    """Publication to delivery, for the delivery-latency metric (first deliveries only, not edits)."""
    if queued.published_at is not None and queued.edit_of is None:
        latency = (clock.now() - queued.published_at).total_seconds()
        DELIVERY_LATENCY.labels(channel).observe(max(latency, 0.0))


class OutboxRunner:
    """Runs `one_pass` whenever `bell` rings, or every `poll_every` seconds, until `stop`."""

    def __init__(
        self, name: str, one_pass: Callable[[], Awaitable[None]], bell: asyncio.Event, poll_every: float
    ) -> None:
        self.name = name
        self.one_pass = one_pass
        self.bell = bell
        self.poll_every = poll_every
        self.stopping = False

    def wake(self) -> None:
        self.bell.set()

    def stop(self) -> None:
        """Ask `run` to return: no new message is started; one in flight is finished and recorded."""
        self.stopping = True
        self.bell.set()

    async def run(self) -> None:
        self.stopping = False
        while not self.stopping:
            self.bell.clear()
            try:
                await self.one_pass()
            except Exception:
                log.exception("%s outbox pass failed; the next pass retries", self.name)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bell.wait(), self.poll_every)


class Sender(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


@asynccontextmanager
async def running(senders: Sequence[Sender]) -> AsyncIterator[None]:
    """Run the senders while the block runs; on exit let each finish its send, then cancel stragglers."""
    tasks = [asyncio.create_task(sender.run(), name=f"outbox-{type(sender).__name__}") for sender in senders]
    try:
        yield
    finally:
        for sender in senders:
            sender.stop()
        if tasks:
            _, late = await asyncio.wait(tasks, timeout=STOP_WITHIN)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
