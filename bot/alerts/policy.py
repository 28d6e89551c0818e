"""One alert per topic and story: which matches of a filed batch raise one, and which grow an earlier one.

- A story's first match for a topic that may alert (see `may_alert`) raises the topic's alert for it.
- A story that already has the topic's alert never raises another; when the batch brought it outlets it
  did not have (new members, or another story merged into it), the earlier alert is re-sent as an update,
  which sinks show by editing what they sent: nobody gets a new message because a story grew or merged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime

from bot.model import Alert, Entry, Match, Story

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
    found: Sequence[StoryMatch],
    stories: Mapping[int, Story],
    outlets_before: Mapping[int, frozenset[str]],
    earlier: Mapping[tuple[str, int], Alert],
    merged_into: frozenset[int],
) -> tuple[list[NewAlert], list[Alert]]:
    """New alerts to raise and earlier alerts to update, for a filed batch in canonical order.

    `stories` are the touched stories as they stand after the batch, `outlets_before` their outlets before
    it, `earlier` the alerts they had by (rule, story), `merged_into` the stories that absorbed others.
    """
    raised: list[NewAlert] = []
    touched: set[tuple[str, int]] = set()
    for item in found:
        key = (item.match.rule_id, item.story_id)
        if key in touched or key in earlier or not item.may_alert:
            if key in earlier:
                touched.add(key)
            continue
        touched.add(key)
        story = stories.get(item.story_id)
        alert = Alert(item.match.rule_id, item.match.rule_title, item.entry, item.match, story=story)
        raised.append(NewAlert(alert, item.entry_id, item.match_id))
    grown = {sid for sid, story in stories.items() if set(story.outlets) - outlets_before.get(sid, frozenset())}
    updates = [
        replace(alert, story=stories[story_id], update=True)
        for (rule_id, story_id), alert in sorted(earlier.items(), key=lambda item: (item[1].id or 0, item[0]))
        if story_id in grown and ((rule_id, story_id) in touched or story_id in merged_into)
    ]
    return raised, updates
