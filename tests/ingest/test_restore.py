"""A restarted newsbot rebuilds its story index from the store: the same stories, read in chunks."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot import clock
from bot.app import open_runtime
from bot.config import Config, FeedConfig
from bot.deliver.jsonl import JsonLinesSink
from bot.starter import RULES
from bot.store.stories import window_entries
from bot.store.tables import entries
from bot.stories.features import FORMAT_VERSION, StoryFeatures
from bot.stories.terms import name_key
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


@pytest.mark.parametrize("older", [2, FORMAT_VERSION - 1])
async def test_entries_stored_with_the_name_keys_of_before_are_read_again_under_their_stories(
    feed_server: FeedServer, database_url: str, older: int
) -> None:
    """Features stored by an earlier version (format 2: name keys before their vowels were read as one; format
    4: before countries met across languages) are read again from the entries' text at start-up: same stories,
    today's name keys, stored for the next one."""
    config = _config(database_url, feed_server)
    async with open_runtime(config, JsonLinesSink(), parse_in_processes=False) as runtime:
        await runtime.pipeline.poll_once()
        async with runtime.engine.begin() as conn:
            rows = (await conn.execute(sa.select(entries.c.id, entries.c.story_id, entries.c.story_features))).all()
            today = {row.id: StoryFeatures.from_bytes(row.story_features) for row in rows}
            stored = {row.id: row.story_id for row in rows}
            for row in rows:
                features = today[row.id]
                stale = replace(features, terms=tuple("@old" + t if t[0] == "@" else t for t in features.terms))
                data = bytes([older]) + stale.to_bytes()[1:]
                await conn.execute(sa.update(entries).where(entries.c.id == row.id).values(story_features=data))
    assert any(t[0] == "@" for features in today.values() for t in features.terms)

    async with open_runtime(config, JsonLinesSink(), parse_in_processes=False) as restarted:
        index = (await restarted.pipeline.open_filing()).window.index
        assert {entry_id: index.story_of(entry_id) for entry_id in stored} == stored
        async with restarted.engine.connect() as conn:
            rows = (await conn.execute(sa.select(entries.c.id, entries.c.story_features))).all()
    again = {row.id: StoryFeatures.from_bytes(row.story_features) for row in rows}
    assert all(StoryFeatures.current(row.story_features) for row in rows)
    assert {i: set(f.terms) for i, f in again.items()} == {i: set(f.terms) for i, f in today.items()}
    seeds = [f for f in again.values() if "@" + name_key("Kallas") in f.terms]
    assert len(seeds) == 2
