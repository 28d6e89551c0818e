"""Feed items for the volume tests: each one its own story about a harbour (the test rule matches "harbour"),
made of invented words, so no two join one story and every one counts."""

from __future__ import annotations

import random
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import FeedConfig
from bot.model import ClauseHit, Entry, Match, Span
from bot.store.alerts import MatchRow, insert_matches
from bot.store.entries import NewEntry, insert_entries
from bot.store.feeds import sync_feeds
from bot.store.stories import Filing, file_entries
from bot.store.volume import refresh_volume
from tests.feedserver import Item

RULE = """id: harbour
title: Harbour $ traffic
query: harbour
"""
"""One topic; the `$` in its title must reach a chart as text, never as mathtext."""


FEED = "http://127.0.0.1:9/wire.xml"


def write_rules(folder: Path) -> Path:
    rules = folder / "rules"
    rules.mkdir(parents=True, exist_ok=True)
    (rules / "harbour.yaml").write_text(RULE)
    return rules


def _word(rng: random.Random) -> str:
    return "".join(rng.choice("bdfgklmnprstvz") + rng.choice("aeiou") for _ in range(rng.randint(3, 4)))


def harbour_items(prefix: str, times: Sequence[datetime], seed: int = 1) -> list[Item]:
    """One item per time, each a story of its own."""
    rng = random.Random(f"{prefix}:{seed}")
    items = []
    for number, published in enumerate(times):
        words = [_word(rng) for _ in range(14)]
        title = f"Harbour {words[0].title()} {words[1]} {words[2]} {words[3]}"
        body = f"The harbour of {words[4].title()} reported {' '.join(words[5:])}."
        items.append(Item(f"{prefix}-{number}", title, f"https://{prefix}.example/{number}", body, published))
    return items


async def store_stories(engine: AsyncEngine, rule_id: str, times: Sequence[datetime], start: int = 0) -> None:
    """Stories the rule matched, one entry each, first published at `times`, stored as filing stores them
    (entries, their story, the match, the volume rows)."""
    feeds = await sync_feeds(engine, [FeedConfig(url=FEED, name="Wire")])
    feed_id = next(iter(feeds.values()))
    match = Match(rule_id, rule_id, (ClauseHit(rule_id, (Span("title", 0, 7, "Harbour"),)),))
    async with engine.begin() as conn:
        items = harbour_items(f"{rule_id}{start}", times)
        rows = [
            (feed_id, NewEntry(Entry(FEED, "Wire", item.link, item.title, item.body, item.guid, item.published)))
            for item in items
        ]
        stored = await insert_entries(conn, rows, seen_at=max(times))
        await file_entries(conn, [Filing(s.id, s.id, None, b"") for s in stored])
        await insert_matches(conn, [MatchRow(s.id, match) for s in stored])
        await refresh_volume(conn, [s.id for s in stored])
