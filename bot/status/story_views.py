"""Stories and alerts as readers see them (/why, /recent, `newsbot stories`): read from the store and
assembled as the ingest assembles them for alerts."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import StoriesConfig
from bot.model import Alert, Story, StoryAlert
from bot.store.alerts import StoredAlert, get_alert, recent_alerts, story_alerts
from bot.store.outbox import outbox
from bot.store.stories import live_story_id, merged_ids, recent_story_members, story_members
from bot.stories.story import story_of


async def _with_story(engine: AsyncEngine, stored: StoredAlert, settings: StoriesConfig) -> Alert:
    if stored.story_id is None:
        return stored.alert
    async with engine.connect() as conn:
        members = (await story_members(conn, [stored.story_id])).get(stored.story_id)
    return replace(stored.alert, story=story_of(stored.story_id, members, settings)) if members else stored.alert


async def alert_with_story(engine: AsyncEngine, alert_id: int, settings: StoriesConfig) -> Alert | None:
    """An alert with its match and its story as it stands now (a merged story shows all its members)."""
    stored = await get_alert(engine, alert_id)
    return await _with_story(engine, stored, settings) if stored else None


async def _alerted(conn: AsyncConnection, story_ids: Sequence[int], settings: StoriesConfig) -> list[StoryAlert]:
    """Live stories with every topic's alert raised for them (oldest first), in the order given."""
    members = await story_members(conn, story_ids)
    alerts = await story_alerts(conn, story_ids)
    found = []
    for story_id in story_ids:
        if story_id not in members:
            continue
        story = story_of(story_id, members[story_id], settings)
        mine = sorted((a for (_, sid), a in alerts.items() if sid == story_id), key=lambda a: a.id or 0)
        if mine:
            found.append(StoryAlert(story, earlier=tuple(replace(alert, story=story) for alert in mine)))
    return found


async def story_with_alerts(engine: AsyncEngine, story_id: int, settings: StoriesConfig) -> StoryAlert | None:
    """A story (by any id it had: a merged story leads to the one it merged into) as it stands now, with every
    topic's alert; None when no topic alerted for it."""
    async with engine.connect() as conn:
        found = await _alerted(conn, [await live_story_id(conn, story_id)], settings)
    return found[0] if found else None


async def received(engine: AsyncEngine, chat_id: int, story_id: int | None, alert_id: int | None = None) -> bool:
    """Whether this chat got (or has queued) a message about this story, a story merged with it, or this alert."""
    async with engine.connect() as conn:
        story_ids: list[int] = []
        if story_id is not None:
            live = await live_story_id(conn, story_id)
            story_ids = (await merged_ids(conn, [live]))[live]
        about: list[sa.ColumnElement[bool]] = [outbox.c.story_id.in_(story_ids)] if story_ids else []
        if alert_id is not None:
            about.append(outbox.c.alert_id == alert_id)
        if not about:
            return False
        query = sa.select(outbox.c.id).where(outbox.c.chat_id == chat_id, sa.or_(*about)).limit(1)
        return await conn.scalar(query) is not None


async def recent_story_alerts(
    engine: AsyncEngine, rule_ids: Sequence[str], settings: StoriesConfig, limit: int = 5
) -> list[StoryAlert]:
    """The last `limit` stories that alerted for any of these topics, newest first, each with every topic's
    alert. A story has at most one alert per topic (and one more per story merged into it), so reading
    `limit` times (topics + 1) alerts finds `limit` stories whenever there are that many."""
    if not rule_ids:
        return []
    recent = await recent_alerts(engine, rule_ids, limit=limit * (len(rule_ids) + 1))
    story_ids = list(dict.fromkeys(stored.story_id for stored in recent if stored.story_id is not None))[:limit]
    async with engine.connect() as conn:
        return await _alerted(conn, story_ids, settings)


async def recent_stories(
    engine: AsyncEngine, since: datetime, settings: StoriesConfig, rule_id: str | None = None
) -> list[Story]:
    """Stories that gained a member since `since`, newest first, with all their members; with `rule_id`, only
    those that rule matched a member of."""
    async with engine.connect() as conn:
        grouped = await recent_story_members(conn, since, rule_id)
    stories = [story_of(story_id, members, settings) for story_id, members in grouped.items()]
    return sorted(stories, key=lambda s: max(m.entry_id for m in s.members), reverse=True)
