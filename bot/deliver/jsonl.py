"""Alerts and matches as JSON Lines, one object per line, for scripts (`poll --json`, `match --json`)."""

from __future__ import annotations

import json
import sys
from typing import Any, TextIO

from bot.deliver.sink import AfterCommitSink
from bot.deliver.spike_text import spike_record
from bot.model import Alert, Entry, Match, Notice, SpikeAlert, Story, StoryAlert


def match_record(entry: Entry, match: Match) -> dict[str, Any]:
    """The fields a script needs: rule, entry identity, outlet, time, and the spans per clause."""
    return {
        "rule": match.rule_id,
        "rule_title": match.rule_title,
        "title": entry.title,
        "url": entry.url,
        "outlet": entry.outlet,
        "published": entry.published.isoformat() if entry.published else None,
        "score": match.score,
        "clauses": [
            {
                "clause": hit.clause,
                "spans": [{"field": s.field, "start": s.start, "end": s.end, "text": s.text} for s in hit.spans],
            }
            for hit in match.clauses
        ],
    }


def story_record(story: Story) -> dict[str, Any]:
    """A story: outlets in order of first publication, origin, and every member with its credits."""
    return {
        "id": story.id,
        "title": story.title,
        "outlets": list(story.outlets),
        "origin": story.origin,
        "breaking": story.breaking,
        "members": [
            {
                "outlet": member.outlet,
                "title": member.title,
                "url": member.url,
                "published": member.published.isoformat() if member.published else None,
                "credits": [
                    {"source": credit.source, "via": credit.via, "evidence": credit.evidence}
                    for credit in member.credits
                ],
            }
            for member in story.members
        ],
    }


def alert_record(alert: Alert) -> dict[str, Any]:
    """An alert of one topic for one story (`story.id` groups a story's topics); `update` is true when it was
    raised before and its story has since gained an outlet."""
    record = {"alert": alert.id, "update": alert.update, **match_record(alert.entry, alert.match)}
    if alert.story is not None:
        record["story"] = story_record(alert.story)
    return record


_ENCODE = json.JSONEncoder(ensure_ascii=False).encode


def json_line(record: dict[str, Any]) -> str:
    """One record as a line of JSON (text as it is, not \\u-escaped)."""
    return _ENCODE(record) + "\n"


def dump_line(record: dict[str, Any], out: TextIO) -> None:
    out.write(json_line(record))
    out.flush()


class JsonLinesSink(AfterCommitSink):
    """Writes one JSON line per topic and story once the transaction that stored them has committed: a
    story that matched three topics is three lines with the same `story.id`, for scripts to group; a spike is
    one line with a `spike` key (the topic)."""

    name = "json"

    def __init__(self, out: TextIO | None = None) -> None:
        super().__init__()
        self.out = out or sys.stdout

    def emit(self, story: StoryAlert) -> None:
        for alert in story.changes:
            dump_line(alert_record(alert), self.out)

    def emit_notice(self, notice: Notice) -> None:
        dump_line({"notice": notice.text}, self.out)

    def emit_spike(self, spike: SpikeAlert) -> None:
        dump_line(spike_record(spike), self.out)
