"""Polls that brought nothing new are stored together: the feeds' new states of the polls that end within a
moment of each other go in one transaction and one statement, so a quiet cycle of thousands of 304s costs a
few writes, not thousands. (A poll with new entries or a notice is stored on its own, with them.)"""

from __future__ import annotations

import asyncio
import contextlib

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.store.feeds import PolledState, save_states

SETTLE = 0.05
"""Seconds the first quiet poll waits for others to end, before their states are stored together."""
AT_ONCE = 1000
"""States stored in one transaction, at most."""


class StateSaves:
    """Stores quiet polls' states for one process (`owner`: only feeds it still holds a claim on)."""

    def __init__(self, engine: AsyncEngine, owner: str) -> None:
        self.engine = engine
        self.owner = owner
        self._waiting: list[tuple[PolledState, asyncio.Future[bool]]] = []
        self._writer: asyncio.Task[None] | None = None

    async def save(self, polled: PolledState) -> bool:
        """Store one feed's new state with the others that end about now; whether this process still held the
        feed's claim (False: another process polls it now, and nothing was stored)."""
        saved: asyncio.Future[bool] = asyncio.get_running_loop().create_future()
        self._waiting.append((polled, saved))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.create_task(self._write(), name="store quiet polls")
        return await saved

    async def _write(self) -> None:
        while self._waiting:
            if len(self._waiting) < AT_ONCE:
                await asyncio.sleep(SETTLE)
            batch, self._waiting = self._waiting[:AT_ONCE], self._waiting[AT_ONCE:]
            try:
                async with self.engine.begin() as conn:
                    stored = await save_states(conn, [polled for polled, _ in batch], self.owner)
            except Exception as error:
                for _, saved in batch:
                    with contextlib.suppress(asyncio.InvalidStateError):  # its poll was cancelled meanwhile
                        saved.set_exception(error)
                continue
            for polled, saved in batch:
                with contextlib.suppress(asyncio.InvalidStateError):
                    saved.set_result(polled.feed_id in stored)
