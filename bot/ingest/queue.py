"""Polls that finish together are stored together: the daemon's way into the ingest.

A poll hands its feed to the queue and waits for its result. The first waiting poll opens a batch that
stays open for `settle` seconds, so the polls finishing meanwhile (a wave of due feeds, the first cycle
after start-up) are filed in one canonical order; a batch holds at most `max_entries` new entries, so one
huge feed never holds the others up for long. If a batch fails, its polls are stored one by one, so one
poll's failure is only its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from bot.ingest.batch import Ingest, IngestResult, PolledFeed
from bot.store.db import describe_error

log = logging.getLogger(__name__)


@dataclass(slots=True)
class _Waiting:
    poll: PolledFeed
    result: asyncio.Future[IngestResult] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


class IngestQueue:
    def __init__(self, ingest: Ingest, settle: float = 0.2, max_entries: int = 5000) -> None:
        self.ingest = ingest
        self.settle = settle
        self.max_entries = max_entries
        self._waiting: list[_Waiting] = []
        self._worker: asyncio.Task[None] | None = None

    async def submit(self, poll: PolledFeed) -> IngestResult:
        """Store one feed's poll with the others that finish about now; its result once committed."""
        waiting = _Waiting(poll)
        self._waiting.append(waiting)
        if self._worker is None or self._worker.done():
            self._worker = asyncio.create_task(self._drain(), name="ingest")
        return await waiting.result

    async def _drain(self) -> None:
        while self._waiting:
            await asyncio.sleep(self.settle)
            batch = self._take()
            try:
                results = await self.ingest([w.poll for w in batch])
            except Exception as error:
                if len(batch) == 1:
                    self._fail(batch[0], error)
                    continue
                reason = describe_error(error)
                log.warning("storing %d polls together failed (%s); storing them one by one", len(batch), reason)
                for waiting in batch:
                    await self._alone(waiting)
                continue
            for waiting, result in zip(batch, results, strict=True):
                waiting.result.set_result(result)

    def _take(self) -> list[_Waiting]:
        batch: list[_Waiting] = []
        entries = 0
        while self._waiting and (not batch or entries + len(self._waiting[0].poll.entries) <= self.max_entries):
            waiting = self._waiting.pop(0)
            entries += len(waiting.poll.entries)
            batch.append(waiting)
        return batch

    async def _alone(self, waiting: _Waiting) -> None:
        try:
            (result,) = await self.ingest([waiting.poll])
        except Exception as error:
            self._fail(waiting, error)
        else:
            waiting.result.set_result(result)

    @staticmethod
    def _fail(waiting: _Waiting, error: Exception) -> None:
        with contextlib.suppress(asyncio.InvalidStateError):
            waiting.result.set_exception(error)
