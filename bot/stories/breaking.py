"""Breaking news: a story that many outlets pick up within a short time."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from bot.model import StoryMember


def first_seen(members: Iterable[StoryMember]) -> list[datetime]:
    """When each distinct outlet first published the story, oldest first (undated members are left out)."""
    firsts: dict[str, datetime] = {}
    for member in members:
        if member.published is not None and (member.outlet not in firsts or member.published < firsts[member.outlet]):
            firsts[member.outlet] = member.published
    return sorted(firsts.values())


def is_breaking(members: Iterable[StoryMember], outlets: int = 3, within: timedelta = timedelta(minutes=60)) -> bool:
    """True when at least `outlets` distinct outlets first published the story inside one span of `within`."""
    if outlets <= 1:
        return True
    times = first_seen(members)
    return any(times[i + outlets - 1] - times[i] <= within for i in range(len(times) - outlets + 1))
