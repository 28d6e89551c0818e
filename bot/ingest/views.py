"""Stories and alerts as readers see them (/why, /recent, `newsbot stories`): read from the store and
assembled as the ingest assembles them for alerts."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import StoriesConfig
from bot.model import Alert, Story
from bot.store.alerts import StoredAlert, get_alert, recent_alerts
from bot.store.stories import recent_story_members, story_members
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


async def recent_alerts_with_stories(
    engine: AsyncEngine, rule_id: str | None, settings: StoriesConfig, limit: int = 5
) -> list[Alert]:
    """The newest alerts, of one rule or of all, each with its story."""
    return [await _with_story(engine, stored, settings) for stored in await recent_alerts(engine, rule_id, limit)]


async def recent_stories(
    engine: AsyncEngine, since: datetime, settings: StoriesConfig, rule_id: str | None = None
) -> list[Story]:
    """Stories that gained a member since `since`, newest first, with all their members; with `rule_id`, only
    those that rule matched a member of."""
    async with engine.connect() as conn:
        grouped = await recent_story_members(conn, since, rule_id)
    stories = [story_of(story_id, members, settings) for story_id, members in grouped.items()]
    return sorted(stories, key=lambda s: max(m.entry_id for m in s.members), reverse=True)
