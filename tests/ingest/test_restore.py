"""A restarted newsbot rebuilds its story index from the store: the same stories, read in chunks."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import sqlalchemy as sa

from bot import clock
from bot.app import open_runtime
from bot.config import Config, FeedConfig
from bot.deliver.jsonl import JsonLinesSink
from bot.starter import RULES
from bot.store.stories import window_entries
from bot.store.tables import entries
from tests.feedserver import FeedServer, Item, seed_items
from tests.ingest.test_poll_e2e import UNRELATED

NOW = clock.now().replace(microsecond=0)


def _config(database_url: str, feed_server: FeedServer) -> Config:
    feed_server.feeds["wire.xml"] = [*UNRELATED, *seed_items((NOW - timedelta(hours=2), NOW - timedelta(hours=1)))]
    feed_server.feeds["more.xml"] = [
        Item(f"m{n}", f"Harbour strike enters day {n}", f"https://m.example/{n}", "Dock workers stay out.", NOW)
        for n in range(1, 4)
    ]
    feeds = [FeedConfig(url=feed_server.url(name), name=name, backlog=0, fulltext=False) for name in feed_server.feeds]
    return Config(database=database_url, rules=RULES, feeds=feeds)


async def test_a_new_runtime_restores_every_entry_under_its_stored_story(
    feed_server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    config = _config(database_url, feed_server)
    async with open_runtime(config, JsonLinesSink(), parse_in_processes=False) as runtime:
        await runtime.pipeline.poll_once()
        index = (await runtime.pipeline.open_filing()).window.index
        async with runtime.engine.connect() as conn:
            stored = {row.id: row.story_id for row in await conn.execute(sa.select(entries.c.id, entries.c.story_id))}
        assert len(stored) == 8
        assert {entry_id: index.story_of(entry_id) for entry_id in stored} == stored
        assert len(set(stored.values())) < len(stored)  # the seeds share a story, the strike reports too

    async with open_runtime(config, JsonLinesSink(), parse_in_processes=False) as restarted:
        index = (await restarted.pipeline.open_filing()).window.index
        assert len(index) == len(stored)
        assert {entry_id: index.story_of(entry_id) for entry_id in stored} == stored
        chunks = [chunk async for chunk in window_entries(restarted.engine, NOW - timedelta(days=2), chunk=3)]
    assert [len(chunk) for chunk in chunks] == [3, 3, 2]
    assert [item.id for chunk in chunks for item in chunk] == sorted(stored)
