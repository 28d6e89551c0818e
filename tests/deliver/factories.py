"""Alerts for delivery tests: a real-looking entry, a match with spans, optionally a story; and batches of
them grouped as the ingest groups them (bot/alerts/policy.py)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from bot.alerts.policy import group
from bot.model import Alert, AlertBatch, ClauseHit, Entry, Match, Span, Story, StoryMember

BODY = "Kallas refused to rule out sending Estonian troops to Ukraine."
TITLES = {"troops": "Troop deployment", "kallas": "Kaja Kallas", "estonia": "Estonia"}
WORDS = {"troops": "troops", "kallas": "Kallas", "estonia": "Estonian"}


def make_alert(n: int, rule: str = "troops", story: Story | None = None, entry: int | None = None) -> Alert:
    """Alert `n` of `rule` on entry `entry` (default: its own entry, "Story number n")."""
    word = WORDS.get(rule, "troops")
    start = BODY.index(word)
    title = TITLES.get(rule, rule.capitalize())
    match = Match(rule, title, (ClauseHit(word, (Span("body", start, start + len(word), word),)),))
    number = entry if entry is not None else n
    published = datetime(2026, 11, 22, 14, 5, tzinfo=UTC)
    page = Entry("https://feed.test/rss", "MENAFN", f"https://menafn.test/{number}", f"Story number {number}",
                 summary=BODY, published=published, guid=f"entry-{number}")  # fmt: skip
    return Alert(rule, title, page, match, id=n, story=story)


def story(story_id: int, *outlets: str) -> Story:
    members = tuple(StoryMember(i, o, f"Title {i}", f"https://{i}.test", None) for i, o in enumerate(outlets))
    return Story(story_id, "T", members, origin="RIA News")


def batch(*alerts: Alert) -> AlertBatch:
    """New alerts as the ingest hands them to the sinks: story by story."""
    return group(alerts, {a.story.id: a.story for a in alerts if a.story is not None}, {}, frozenset())


def grown(now: Story, *earlier: Alert) -> AlertBatch:
    """Story `now` gained outlets since its `earlier` alerts were raised."""
    return group([], {now.id: now}, {(a.rule_id, now.id): a for a in earlier}, frozenset({now.id}))


def matched_again(now: Story, earlier: Sequence[Alert], *fresh: Alert) -> AlertBatch:
    """Story `now`, alerted before for `earlier` topics, matched more topics (`fresh`) without growing."""
    return group(fresh, {now.id: now}, {(a.rule_id, now.id): a for a in earlier}, frozenset())
