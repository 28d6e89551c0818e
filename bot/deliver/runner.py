"""Draining an outbox channel (Telegram, Apprise): what every channel's sender shares.

A sender makes passes over its due messages when its sink rings the bell after a commit, or every few
seconds; a failing pass (or a failing chat worker: the database down or full, say) is logged in one line
and the next pass waits, doubling from RETRY_FIRST to RETRY_MAX while the failures go on (until a message
is recorded sent again). Transient failures are retried with backoff;
first deliveries feed the delivery-latency metric. Stopping lets the message in hand finish and be
recorded: a cancelled send is safe, its row stays pending and goes out after the restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Protocol

from bot import clock
from bot.metrics import DELIVERY_LATENCY
from bot.store.db import failure_reason
from bot.store.outbox import Queued

log = logging.getLogger(__name__)

STOP_WITHIN = 10.0
"""Seconds a sender may take to finish the message in hand when the daemon stops."""
RETRY_FIRST, RETRY_MAX = 0.5, 15.0
"""Seconds the next pass waits after a failure: doubling from the first to the most."""
PROOF_LASTS = 2.0
"""Seconds after the delivery role was proved for a message within which its call must start (another process
takes the role only after 10 s of silence): a process paused in between sends nothing and proves again."""
SAY_EVERY = 60.0
"""Seconds between two lines saying the passes still fail."""


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
        self.failures = 0
        self._waited_for = 0
        self._said_at = 0.0

    def wake(self) -> None:
        self.bell.set()

    def failed(self, error: BaseException) -> None:
        """A pass or a worker failed: the next pass waits, longer after each failure in a row; said at the
        first failure and then once a minute while they go on."""
        self.failures += 1
        now = time.monotonic()
        if self.failures == 1 or now - self._said_at >= SAY_EVERY:
            self._said_at = now
            reason = failure_reason(error)
            log.warning("%s outbox: %s; retrying in %.1f s, then less often", self.name, reason, self._delay())

    def worked(self) -> None:
        """A message went out and was recorded: the next failure waits RETRY_FIRST again."""
        self.failures = self._waited_for = 0

    def _delay(self) -> float:
        return min(RETRY_MAX, RETRY_FIRST * 2 ** (self.failures - 1))

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
            except Exception as error:
                self.failed(error)
            if self.failures > self._waited_for:  # failed since the last wait
                self._waited_for = self.failures
                await self._pause(self._delay())
                continue
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bell.wait(), self.poll_every)

    async def _pause(self, seconds: float) -> None:
        """Wait `seconds`, deaf to the bell (rung by failing workers too), but not to `stop`."""
        deadline = asyncio.get_running_loop().time() + seconds
        while not self.stopping and (left := deadline - asyncio.get_running_loop().time()) > 0:
            self.bell.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.bell.wait(), left)


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
