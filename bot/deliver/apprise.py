"""Outbound-only channels (Slack, Discord, e-mail, Matrix, ntfy ...) through Apprise URLs, per topic.

A channel gets one message per story, naming the topics it follows that matched, and one per surge of a topic's
volume it follows (it cannot be edited: the surge's first count). Messages go through the
same outbox as Telegram's, keyed per (channel, story), so a restart neither loses nor repeats them. A
channel is stored by a hash of its URL, never the URL itself: URLs carry secrets.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.alerts.messages import channel_topics
from bot.alerts.spikes import channel_spike_key
from bot.config import AppriseTarget
from bot.deliver.format import redacted, render_story
from bot.deliver.runner import PROOF_LASTS, OutboxRunner, backoff, observe_latency
from bot.deliver.spike_text import render_spike
from bot.logs import redact
from bot.model import AlertBatch, Notice, SpikeAlert
from bot.store.locks import Fence, LostRole, unfenced
from bot.store.outbox import NewMessage, Queued, due_targets, enqueue, mark_attempt, mark_failed, mark_sent, retry_later

log = logging.getLogger(__name__)
GIVE_UP_AFTER = 12


def channel_id(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()[:32]


class AppriseSink:
    """Queues one message per channel and story, naming the topics the channel follows (a channel without
    `topics` follows every topic); bot/alerts/messages.py decides when."""

    def __init__(self, targets: Sequence[AppriseTarget]) -> None:
        self.targets = [(channel_id(t.url.get_secret_value()), t) for t in targets]
        self.queued = asyncio.Event()

    async def enqueue(self, conn: AsyncConnection, batch: AlertBatch) -> None:
        messages = []
        for story in batch.stories:
            for channel, target in self.targets:
                topics = channel_topics(story, target.topics)
                if not topics:
                    continue
                lead = topics[0]
                ident = f"story:{story.story.id}" if story.story else f"alert:{lead.id or lead.entry.key}"
                rendered = redacted(await asyncio.to_thread(render_story, story.story, topics), redact)  # off the loop
                messages.append(
                    NewMessage(
                        f"apprise:{channel}:{ident}",
                        lead.rule_id,
                        rendered.html,
                        rendered.plain,
                        target=channel,
                        alert_id=lead.id,
                        story_id=story.story.id if story.story else None,
                        published_at=lead.entry.published,
                    )
                )
        await enqueue(conn, messages)

    async def notify(self, conn: AsyncConnection, notice: Notice) -> None:
        """Apprise channels follow topics only; operator notices go to Telegram admins and the log."""

    async def spike(self, conn: AsyncConnection, spike: SpikeAlert) -> None:
        """A new surge, to each channel following its topic (a surge that grew: nothing, as a channel's message
        cannot be edited)."""
        if spike.grown:
            return
        rendered = render_spike(spike)
        await enqueue(
            conn,
            [
                NewMessage(
                    channel_spike_key(channel, spike.rule_id, spike.number), spike.rule_id, rendered.html,
                    rendered.plain, target=channel,
                )
                for channel, target in self.targets
                if not target.topics or spike.rule_id in target.topics
            ],
        )

    async def flush(self) -> None:
        self.queued.set()


class AppriseSender:
    """Sends queued channel messages in order; a failing channel is retried with backoff, then given up."""

    def __init__(
        self,
        engine: AsyncEngine,
        targets: Sequence[AppriseTarget],
        bell: asyncio.Event,
        poll_every: float = 5.0,
        fence: Fence = unfenced,
    ) -> None:
        self.engine = engine
        self.fence = fence
        self.urls = {channel_id(t.url.get_secret_value()): t.url.get_secret_value() for t in targets}
        self.runner = OutboxRunner("Apprise", self._one_pass, bell, poll_every)

    def stop(self) -> None:
        self.runner.stop()

    async def run(self) -> None:
        await self.runner.run()

    async def _one_pass(self) -> None:
        try:
            for queued in await due_targets(self.engine, clock.now()):
                if self.runner.stopping:
                    return
                await self.send(queued)
        except LostRole as lost:
            log.warning("%s; it stops sending", lost)
            self.runner.stop()

    async def send(self, queued: Queued) -> None:
        url = self.urls.get(queued.target or "")
        if url is None:
            await mark_failed(self.engine, queued.id, "this Apprise channel is no longer in the config", self.fence)
            return
        import apprise  # imported at the first send: 0.1 s that a start without Apprise channels need not pay

        notifier = apprise.Apprise()
        notifier.add(url)
        title, _, body = queued.plain.partition("\n")
        proving = time.monotonic()
        if not await mark_attempt(self.engine, queued.id, self.fence) or time.monotonic() - proving > PROOF_LASTS:
            return
        if await notifier.async_notify(body=body or title, title=title, body_format=apprise.NotifyFormat.TEXT):
            await mark_sent(self.engine, queued.id, None)
            self.runner.worked()
            observe_latency("apprise", queued)
        elif queued.attempts + 1 >= GIVE_UP_AFTER:
            log.error(
                "Apprise channel %s refused outbox message %s %d times; giving up",
                queued.target,
                queued.id,
                GIVE_UP_AFTER,
            )
            await mark_failed(self.engine, queued.id, "the channel refused it repeatedly", self.fence)
        else:
            await retry_later(self.engine, queued.id, clock.now() + backoff(queued.attempts + 1), "notification failed")
