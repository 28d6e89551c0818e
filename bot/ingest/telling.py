"""Telling: each filed story that alerted or grew, to every sink, after its filing committed.

The delivery role takes the untold stories (store/untold.py) in the order they were filed, builds each as it
stands now (a story merged meanwhile is told as the story it merged into) with its topics' alerts, and hands
the batch to the sinks in one transaction that also deletes the rows: Telegram's sink decides per chat a new
message, an edit or nothing and queues it in the outbox, Apprise queues per channel, the terminal prints
after the commit. A teller that dies mid-batch leaves all of it to the next.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.alerts.policy import group
from bot.config import StoriesConfig
from bot.deliver.sink import Sink
from bot.model import AlertBatch
from bot.store.alerts import story_alerts
from bot.store.stories import live_story_ids, story_members
from bot.store.untold import Untold, take_untold, untold_batch
from bot.stories.story import story_of

First = Callable[[AsyncConnection], Awaitable[None]]
"""What a telling transaction does first: prove the delivery role is still held."""


async def tell_waiting(
    engine: AsyncEngine, sink: Sink, settings: StoriesConfig, first: First, limit: int = 500
) -> AlertBatch:
    """Tell the oldest untold stories (at most `limit`) in one transaction that begins with `first`; the
    batch told (empty when nothing waited)."""
    async with engine.begin() as conn:
        await first(conn)
        waiting = await untold_batch(conn, limit)
        if not waiting:
            return AlertBatch()
        batch = await _as_told(conn, waiting, settings)
        await sink.enqueue(conn, batch)
        await take_untold(conn, [row.id for row in waiting])
    await sink.flush()
    return batch


async def _as_told(conn: AsyncConnection, waiting: Sequence[Untold], settings: StoriesConfig) -> AlertBatch:
    """The waiting stories as they stand now, grouped as the alert policy groups a filed batch: fresh alerts
    first, then grown stories with their earlier alerts marked as updates."""
    live = await live_story_ids(conn, [row.story_id for row in waiting if row.story_id is not None])
    story_ids = sorted(set(live.values()))
    stories = {
        story_id: story_of(story_id, members, settings)
        for story_id, members in (await story_members(conn, story_ids)).items()
    }
    alerts = await story_alerts(conn, story_ids)
    fresh_ids = {alert_id for row in waiting for alert_id in row.alert_ids}
    grown = {live[row.story_id] for row in waiting if row.grown and row.story_id is not None}
    fresh = [
        replace(alert, story=stories.get(story_id))
        for (_, story_id), alert in sorted(alerts.items(), key=lambda item: item[1].id or 0)
        if alert.id in fresh_ids
    ]
    earlier = {key: alert for key, alert in alerts.items() if alert.id not in fresh_ids}
    return group(fresh, stories, earlier, grown)
