"""After each filed batch: test the topics it matched for a spike, record their surges, and tell the sinks.

It runs where batches are filed, once the batch has committed: in the one process holding the ingest role
(on SQLite the only process), in a transaction of its own that reads the counts, writes each surge
compare-and-set (bot/store/surges.py) and queues the messages, so a check repeated by a crash or by another
process queues nothing twice. A check that fails is logged and the batch stays filed: the next batch of the
topic checks again with the counts as they stand.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.alerts.spikes import DAY, HOUR, Step, judge, plan_surge, sample_at
from bot.config import SpikesConfig, StoriesConfig
from bot.deliver.sink import Sink
from bot.model import SpikeAlert, Story
from bot.store.db import describe_error
from bot.store.stories import story_members
from bot.store.surges import last_surges, save_surge
from bot.store.volume import first_hours, hour_of, hour_start, most_told, story_times
from bot.stories.story import story_of

log = logging.getLogger(__name__)


class SpikeCheck:
    """`await check(topics)` after a batch that matched `topics` (rule id -> title) has committed."""

    def __init__(self, engine: AsyncEngine, sink: Sink, settings: SpikesConfig, stories: StoriesConfig) -> None:
        self.engine = engine
        self.sink = sink
        self.settings = settings
        self.stories = stories
        self._first_hours: dict[str, int] = {}
        """Where each topic's history starts, once known: it moves only when a backlog brings older stories,
        and then a later start only leaves out days (the baseline stays one the topic had)."""

    async def __call__(self, topics: Mapping[str, str]) -> None:
        if not self.settings.enabled or not topics:
            return
        try:
            async with self.engine.begin() as conn:
                spikes = await self.check(conn, topics, clock.now())
                for spike in spikes:
                    await self.sink.spike(conn, spike)
        except Exception as error:  # the batch is filed; the next one of these topics checks again
            log.warning("checking %d topics for spikes failed: %s", len(topics), describe_error(error))
            return
        for spike in spikes:
            verb = "grew" if spike.grown else "began"
            log.info("spike of %s %s: %d stories in the last hour", spike.rule_id, verb, spike.count)
        if spikes:
            await self.sink.flush()

    async def check(self, conn: AsyncConnection, topics: Mapping[str, str], now: datetime) -> list[SpikeAlert]:
        """The spikes to tell about now: surges that opened or reached a new peak, recorded in `conn`."""
        days = self.settings.baseline_days
        ends = [now - day * DAY for day in range(days + 1)]
        hours = {hour for end in ends for hour in (hour_of(end - HOUR), hour_of(end))}
        rule_ids = sorted(topics)
        times = await story_times(conn, rule_ids, hours)
        unknown = [rule_id for rule_id in rule_ids if rule_id not in self._first_hours]
        self._first_hours.update(await first_hours(conn, unknown))
        firsts = self._first_hours
        surges = await last_surges(conn, rule_ids)
        spikes = []
        for rule_id in rule_ids:
            start = hour_start(firsts[rule_id]) if rule_id in firsts else None
            verdict = judge(sample_at(times[rule_id], now, start, days), self.settings)
            before = surges.get(rule_id)
            plan = plan_surge(before, verdict, now, self.settings.cooldown)
            if plan is None or not await save_surge(conn, rule_id, before, plan.surge):
                continue
            if plan.step is Step.HOLD:
                continue
            surge = plan.surge
            spikes.append(
                SpikeAlert(
                    rule_id, topics[rule_id], surge.number, verdict.count, verdict.usual, surge.started_at, now,
                    grown=plan.step is Step.GROW, story=await self._most_told(conn, rule_id, now),
                )
            )  # fmt: skip
        return spikes

    async def _most_told(self, conn: AsyncConnection, rule_id: str, now: datetime) -> Story | None:
        top = await most_told(conn, rule_id, now - HOUR, now)
        if top is None:
            return None
        members = (await story_members(conn, [top.story_id])).get(top.story_id)
        return story_of(top.story_id, members, self.stories) if members else None
