"""Spikes through the real pipeline (feed server, poll, filing, the spike check after it, the sinks' queues), on
SQLite and PostgreSQL, with the clock set by the test: a burst after a steady baseline is one surge, told once
and edited as it grows, to the chats that follow the topic and take spike messages; a steady feed is none."""

from __future__ import annotations

import asyncio
import io
import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from bot import clock
from bot.app import open_runtime
from bot.config import Config, FeedConfig, SpikesConfig, StoriesConfig
from bot.deliver.jsonl import JsonLinesSink
from bot.deliver.sink import FanOut
from bot.deliver.telegram_sink import TelegramSink
from bot.store import chats
from bot.store.outbox import outbox
from tests.feedserver import FeedServer
from tests.trends.items import harbour_items, write_rules

START = clock.now().replace(second=0, microsecond=0)
FOLLOWS, SPIKES_OFF, MUTED = 501, 502, 503


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    @contextmanager
    def running(self) -> Iterator[None]:
        with clock.using(lambda: self.at):
            yield


def _config(database_url: str, feed_server: FeedServer, rules: Path, **spikes: Any) -> Config:
    feeds = [FeedConfig(url=feed_server.url("wire.xml"), name="Wire", fulltext=False)]
    # invented-word items on one template: the meaning signal cannot tell them apart, and need not here
    stories = StoriesConfig(meaning=False)
    return Config(database=database_url, rules=rules, feeds=feeds, spikes=SpikesConfig(**spikes), stories=stories)


async def _readers(engine: Any) -> None:
    for chat in (FOLLOWS, SPIKES_OFF, MUTED):
        await chats.remember_chat(engine, chat, "private", None)
        await chats.subscribe(engine, chat, "harbour", None, chat)
    await chats.set_spikes(engine, SPIKES_OFF, False)
    await chats.mute(engine, MUTED, "harbour", START + timedelta(days=30))


async def _spike_rows(engine: Any) -> list[Any]:
    query = sa.select(outbox.c.id, outbox.c.chat_id, outbox.c.key, outbox.c.edit_of, outbox.c.plain).where(
        outbox.c.key.like("%:spike:%")
    )
    async with engine.connect() as conn:
        return list((await conn.execute(query.order_by(outbox.c.id))).all())


def _spikes(out: io.StringIO) -> list[dict[str, Any]]:
    return [record for line in out.getvalue().splitlines() if "spike" in (record := json.loads(line))]


async def test_a_burst_after_a_steady_baseline_is_one_surge_edited_as_it_grows(
    feed_server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    now = Clock(START)
    # a story every two hours for the 14 days before today: the same hour of each earlier day has 1
    baseline = harbour_items("base", [START - timedelta(minutes=10) - k * timedelta(hours=2) for k in range(12, 180)])
    feed_server.feeds["wire.xml"] = baseline
    out = io.StringIO()
    sink = FanOut(JsonLinesSink(out), TelegramSink())
    config = _config(database_url, feed_server, write_rules(tmp_path))
    with now.running():
        async with open_runtime(config, sink, parse_in_processes=False) as runtime:
            await _readers(runtime.engine)
            pipeline = runtime.pipeline
            await pipeline.poll_once()
            assert _spikes(out) == [] and await _spike_rows(runtime.engine) == []

            now.at = START + timedelta(minutes=20)
            burst = harbour_items("burst", [START + timedelta(minutes=minute) for minute in range(6)])
            feed_server.feeds["wire.xml"] = [*baseline, *burst]
            await pipeline.poll_once()
            (opened,) = _spikes(out)
            assert opened["spike"] == "harbour" and opened["count"] == 6 and not opened["grown"]
            assert opened["usual"] == 1.0 and opened["surge"] == 1
            assert opened["most_told"]["outlets"] == ["Wire"]
            (message,) = await _spike_rows(runtime.engine)
            assert message.chat_id == FOLLOWS and message.edit_of is None
            assert message.plain.startswith("📈 Harbour $ traffic: 6 stories in the last hour, usually 1 (6x)\n")

            now.at = START + timedelta(minutes=30)
            more = harbour_items("more", [START + timedelta(minutes=20 + minute) for minute in range(3)])
            feed_server.feeds["wire.xml"] = [*baseline, *burst, *more]
            await pipeline.poll_once()
            grown = _spikes(out)[1:]
            assert [(s["count"], s["grown"], s["surge"]) for s in grown] == [(9, True, 1)]
            first, edit = await _spike_rows(runtime.engine)
            assert edit.chat_id == FOLLOWS and edit.edit_of == first.id and edit.key == f"{first.key}:peak:9"
            assert "9 stories in the last hour" in edit.plain

            now.at = START + timedelta(minutes=40)  # a late story of yesterday: checked, still 9, nothing to tell
            late = harbour_items("late", [START - timedelta(hours=20)])
            feed_server.feeds["wire.xml"] = [*baseline, *burst, *more, *late]
            await pipeline.poll_once()
            assert len(_spikes(out)) == 2 and len(await _spike_rows(runtime.engine)) == 2


async def test_a_steady_feed_polled_for_hours_raises_no_spike(
    feed_server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    now = Clock(START)
    every = timedelta(minutes=20)  # three stories an hour, every hour, for 15 days
    published = [START - k * every for k in range(15 * 72)]
    items = harbour_items("steady", published)
    feed_server.feeds["wire.xml"] = items[:200]
    out = io.StringIO()
    sink = FanOut(JsonLinesSink(out), TelegramSink())
    config = _config(database_url, feed_server, write_rules(tmp_path), min_stories=3)
    with now.running():
        async with open_runtime(config, sink, parse_in_processes=False) as runtime:
            await _readers(runtime.engine)
            pipeline = runtime.pipeline
            for chunk in range(200, len(items), 200):  # the backlog, 200 items a poll
                await pipeline.poll_once()
                feed_server.feeds["wire.xml"] = items[chunk : chunk + 200]
            await pipeline.poll_once()
            for step in range(1, 10):
                now.at = START + step * every
                feed_server.feeds["wire.xml"] = harbour_items(f"next{step}", [now.at])
                await pipeline.poll_once()
    assert _spikes(out) == []


async def test_two_checks_of_one_burst_at_once_queue_one_message(engine: Any) -> None:
    """Two processes' checks of the same topic at the same time (a role handed over mid-batch, a retried
    check): the surge row is written by one of them, and the other queues nothing."""
    from bot.trends.spike_check import SpikeCheck
    from tests.trends.items import store_stories

    now = clock.now()
    await store_stories(engine, "harbour", [now - timedelta(days=day, minutes=20) for day in range(1, 15)])
    await store_stories(engine, "harbour", [now - timedelta(minutes=m) for m in range(1, 9)], start=1)
    await chats.remember_chat(engine, FOLLOWS, "private", None)
    await chats.subscribe(engine, FOLLOWS, "harbour", None, FOLLOWS)
    checks = [SpikeCheck(engine, TelegramSink(), SpikesConfig(), StoriesConfig()) for _ in range(2)]
    for _ in range(2):
        await asyncio.gather(*(check({"harbour": "Harbour"}) for check in checks), return_exceptions=True)
    (message,) = await _spike_rows(engine)
    assert message.chat_id == FOLLOWS and "8 stories in the last hour" in message.plain
