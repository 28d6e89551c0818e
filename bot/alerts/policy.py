"""One alert per topic and story, and one unit per story: which matches of a filed batch raise an alert, and
how the batch's alerts reach the sinks. Pure.

- A story's first match for a topic that may alert (see `may_alert`) raises the topic's alert for it.
- A story that already has the topic's alert never raises another.
- The sinks get the batch story by story (`group`): each story with its fresh alerts and those it had
  before, and whether it grew (new outlets, or another story merged into it). So a reader gets one message
  per story naming its topics, and growth or a merge edits that message: nobody gets a new message because
  a story grew or merged.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.model import Alert, AlertBatch, Entry, Match, Story, StoryAlert

_OLDEST = datetime.min.replace(tzinfo=UTC)


def newest_first(entries: Sequence[Entry]) -> list[Entry]:
    """Newest publication first; undated last; ties keep feed order."""
    return sorted(entries, key=lambda e: e.published or _OLDEST, reverse=True)


def may_alert(entries: Sequence[Entry], backlog: int, first_poll: bool) -> list[Entry]:
    """The new entries that may alert: all of them, but on a feed's first poll only its newest `backlog`.
    Full text is fetched for exactly these, so both stages pick the same ones."""
    if not first_poll:
        return list(entries)
    return newest_first(entries)[:backlog]


@dataclass(frozen=True, slots=True)
class StoryMatch:
    """A rule matched an entry of the batch, now filed under `story_id`."""

    entry_id: int
    entry: Entry
    match: Match
    match_id: int
    story_id: int
    may_alert: bool


@dataclass(frozen=True, slots=True)
class NewAlert:
    """Raise this alert (not stored yet) for the recorded match `match_id` of entry `entry_id`."""

    alert: Alert
    entry_id: int
    match_id: int


def decide(
    found: Sequence[StoryMatch], stories: Mapping[int, Story], earlier: Collection[tuple[str, int]]
) -> list[NewAlert]:
    """The alerts to raise for a filed batch in canonical order: per (topic, story) the first match that may
    alert, unless `earlier` (the (rule, story) pairs with an alert) has it. `stories` are the touched stories
    as they stand after the batch."""
    raised: list[NewAlert] = []
    taken = set(earlier)
    for item in found:
        key = (item.match.rule_id, item.story_id)
        if key in taken or not item.may_alert:
            continue
        taken.add(key)
        story = stories.get(item.story_id)
        alert = Alert(item.match.rule_id, item.match.rule_title, item.entry, item.match, story=story)
        raised.append(NewAlert(alert, item.entry_id, item.match_id))
    return raised


def grown_stories(stories: Mapping[int, Story], outlets_before: Mapping[int, frozenset[str]]) -> frozenset[int]:
    """The stories that have outlets they did not have before the batch."""
    return frozenset(
        story_id
        for story_id, story in stories.items()
        if set(story.outlets) - outlets_before.get(story_id, frozenset())
    )


def group(
    raised: Sequence[Alert],
    stories: Mapping[int, Story],
    earlier: Mapping[tuple[str, int], Alert],
    grown: Collection[int],
) -> AlertBatch:
    """The batch story by story: first each story with fresh alerts (in the order they were raised), then
    each grown story that had alerts before (its oldest alert first). A story's earlier alerts come with it
    as context (so a message can name every topic) and are marked `update` when it grew."""
    fresh: dict[int, list[Alert]] = {}
    alone: list[StoryAlert] = []
    for alert in raised:
        if alert.story is None:
            alone.append(StoryAlert(None, (alert,)))
        else:
            fresh.setdefault(alert.story.id, []).append(alert)
    before: dict[int, list[Alert]] = {}
    for (_, story_id), alert in sorted(earlier.items(), key=lambda item: (item[1].id or 0, item[0])):
        before.setdefault(story_id, []).append(alert)
    only_grown = sorted(
        (story_id for story_id in before if story_id in grown and story_id not in fresh),
        key=lambda story_id: before[story_id][0].id or 0,
    )
    grouped = []
    for story_id in [*fresh, *only_grown]:
        story = stories.get(story_id)
        grew = story_id in grown
        old = tuple(replace(alert, story=story, update=grew) for alert in before.get(story_id, ()))
        grouped.append(StoryAlert(story, tuple(fresh.get(story_id, ())), old, grew))
    return AlertBatch((*grouped, *alone))
