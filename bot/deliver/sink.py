"""Where alerts go once stored: the terminal, Telegram's outbox, Apprise channels.

Sinks get a batch's alerts story by story (`AlertBatch`), so each can show one message per story, and a
topic's volume spikes (`SpikeAlert`: one message per surge, edited or amended as it grows). A sink
works in two steps so that no alert is lost between storing it and sending it: `enqueue` runs inside the
very transaction that stores the alerts (a durable sink writes its outbox rows there), and `flush` runs
after that transaction committed (send what was queued, or wake the sender).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

from bot import clock
from bot.metrics import DELIVERY_LATENCY
from bot.model import AlertBatch, Notice, SpikeAlert, StoryAlert

if TYPE_CHECKING:  # sinks are handed connections; the CLI imports this module without the database
    from sqlalchemy.ext.asyncio import AsyncConnection


class Sink(Protocol):
    async def enqueue(self, conn: AsyncConnection, batch: AlertBatch) -> None:
        """Queue a batch's stored alerts, inside the transaction that stored them."""

    async def notify(self, conn: AsyncConnection, notice: Notice) -> None:
        """Queue a notice for the operators, inside the caller's transaction."""

    async def spike(self, conn: AsyncConnection, spike: SpikeAlert) -> None:
        """Queue a topic's spike (a new surge, or one that grew), inside the transaction that recorded it."""

    async def flush(self) -> None:
        """Deliver what was queued; called after the transaction committed."""


class AfterCommitSink:
    """Base of sinks that only show alerts (terminal, JSON lines): hold them until the commit, then emit
    each story."""

    name = "print"

    def __init__(self) -> None:
        self._queued: list[StoryAlert] = []
        self._notices: list[Notice] = []
        self._spikes: list[SpikeAlert] = []

    async def enqueue(self, conn: AsyncConnection, batch: AlertBatch) -> None:
        self._queued.extend(batch.stories)

    async def notify(self, conn: AsyncConnection, notice: Notice) -> None:
        self._notices.append(notice)

    async def spike(self, conn: AsyncConnection, spike: SpikeAlert) -> None:
        self._spikes.append(spike)

    async def flush(self) -> None:
        notices, self._notices = self._notices, []
        for notice in notices:
            self.emit_notice(notice)
        spikes, self._spikes = self._spikes, []
        for spike in spikes:
            self.emit_spike(spike)
        queued, self._queued = self._queued, []
        for story in queued:
            self.emit(story)
            published = story.fresh[0].entry.published if story.fresh else None
            if published is not None:
                latency = clock.now() - published
                DELIVERY_LATENCY.labels(self.name).observe(max(latency.total_seconds(), 0.0))

    def emit(self, story: StoryAlert) -> None:
        raise NotImplementedError

    def emit_notice(self, notice: Notice) -> None:
        raise NotImplementedError

    def emit_spike(self, spike: SpikeAlert) -> None:
        raise NotImplementedError


class FanOut:
    """Several sinks as one: each queues inside the same transaction, each is flushed after it."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    async def enqueue(self, conn: AsyncConnection, batch: AlertBatch) -> None:
        for sink in self.sinks:
            await sink.enqueue(conn, batch)

    async def notify(self, conn: AsyncConnection, notice: Notice) -> None:
        for sink in self.sinks:
            await sink.notify(conn, notice)

    async def spike(self, conn: AsyncConnection, spike: SpikeAlert) -> None:
        for sink in self.sinks:
            await sink.spike(conn, spike)

    async def flush(self) -> None:
        for sink in self.sinks:
            await sink.flush()
