"""The feed list into the store: each configured feed registered, its next poll planned anew when it is new
or its schedule settings changed, and feeds no longer listed marked so (their rows and entries stay).

Planning anew is what makes an edit of `every` count at once, at a start or while running: a next poll
stored under the old settings (2 h away) would otherwise still win.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import FeedConfig
from bot.fetch.poll_policy import PollPolicy
from bot.model import FeedState, PollReason
from bot.store.feeds import load_states, save_schedules, sync_feeds


@dataclass(frozen=True, slots=True)
class FeedRoster:
    """The configured feeds as the store knows them: ids and states by URL, in config order, and the URLs
    whose next poll was planned anew (new feeds, edited settings)."""

    ids: dict[str, int]
    states: dict[str, FeedState]
    replanned: frozenset[str]


async def register_feeds(
    engine: AsyncEngine, configured: list[FeedConfig], policy: PollPolicy, now: datetime
) -> FeedRoster:
    ids = await sync_feeds(engine, configured)
    stored = {state.url: state for state in await load_states(engine)}
    changed = []
    for state in stored.values():
        if state.url not in ids:
            if state.next_poll_reason is not PollReason.REMOVED:
                gone = replace(state, next_poll_at=None, next_poll_reason=PollReason.REMOVED, schedule_key=None)
                changed.append(gone)
            continue
        key = policy.schedule_key(state.every)
        if state.schedule_key != key:
            plan = policy.replan(state, now)
            changed.append(replace(state, next_poll_at=plan.at, next_poll_reason=plan.why, schedule_key=key))
    await save_schedules(engine, changed)
    planned = {state.url: state for state in changed}
    states = {url: planned.get(url, stored[url]) for url in ids}
    return FeedRoster(ids, states, frozenset(url for url in planned if url in ids))
