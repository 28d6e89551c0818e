"""Stories in the store: each entry's story id, a story's members, and the recent window to replay."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import StoriesConfig
from bot.model import Story
from bot.store.entries import StoredEntry, entry_columns, stored_from_row
from bot.store.tables import entries, feeds
from bot.stories.story import assemble, member_of


@dataclass(frozen=True, slots=True)
class WindowEntry:
    """A stored entry with when it was seen and its story, to rebuild the story index at start-up."""

    stored: StoredEntry
    seen_at: datetime
    story_id: int | None


DEFAULT_STORIES = StoriesConfig()


def _entries() -> sa.Select[*tuple[Any, ...]]:
    return sa.select(*entry_columns()).join(feeds, feeds.c.id == entries.c.feed_id)


async def set_story(conn: AsyncConnection, entry_id: int, story_id: int, copy_of: int | None) -> None:
    await conn.execute(sa.update(entries).where(entries.c.id == entry_id).values(story_id=story_id, copy_of=copy_of))


async def story_members(conn: AsyncConnection, story_id: int) -> list[StoredEntry]:
    rows = (await conn.execute(_entries().where(entries.c.story_id == story_id).order_by(entries.c.id))).mappings()
    return [stored_from_row(row) for row in rows]


def story_of(story_id: int, members: Sequence[StoredEntry], settings: StoriesConfig) -> Story:
    return assemble(
        story_id,
        [member_of(m.id, m.entry) for m in members],
        breaking_outlets=settings.breaking_outlets,
        breaking_within=settings.breaking_within,
    )


async def load_story(conn: AsyncConnection, story_id: int, settings: StoriesConfig = DEFAULT_STORIES) -> Story | None:
    members = await story_members(conn, story_id)
    return story_of(story_id, members, settings) if members else None


async def window_entries(engine: AsyncEngine, since: datetime) -> list[WindowEntry]:
    """Entries seen since `since`, in the order they were stored."""
    query = _entries().where(entries.c.seen_at >= since).order_by(entries.c.id)
    async with engine.connect() as conn:
        rows = (await conn.execute(query)).mappings().all()
    return [WindowEntry(stored_from_row(row), row["seen_at"], row["story_id"]) for row in rows]


async def stories_since(engine: AsyncEngine, since: datetime, settings: StoriesConfig = DEFAULT_STORIES) -> list[Story]:
    """Stories that gained a member since `since`, newest first, with all their members."""
    recent = sa.select(entries.c.story_id).where(entries.c.seen_at >= since, entries.c.story_id.is_not(None))
    async with engine.connect() as conn:
        rows = (await conn.execute(_entries().where(entries.c.story_id.in_(recent)))).mappings().all()
    grouped: dict[int, list[StoredEntry]] = {}
    for row in rows:
        grouped.setdefault(row["story_id"], []).append(stored_from_row(row))
    stories = [story_of(story_id, members, settings) for story_id, members in grouped.items()]
    return sorted(stories, key=lambda s: max(m.entry_id for m in s.members), reverse=True)
