"""Running outbox senders (Telegram, Apprise) alongside the poller, and stopping them without losing a send."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Protocol

STOP_WITHIN = 10.0
"""Seconds a sender may take to finish the message in hand when the daemon stops."""


class Sender(Protocol):
    async def run(self) -> None: ...

    def stop(self) -> None: ...


@asynccontextmanager
async def running(senders: Sequence[Sender]) -> AsyncIterator[None]:
    """Run the senders while the block runs; on exit let each finish its send, then cancel stragglers.

    A cancelled send is safe: its outbox row is still pending and goes out after the restart.
    """
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
