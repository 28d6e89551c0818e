"""Alerts for delivery tests: a real-looking entry, a match with spans, optionally a story."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.model import Alert, ClauseHit, Entry, Match, Span, Story

BODY = "Kallas refused to rule out sending Estonian troops to Ukraine."


def make_alert(n: int, rule: str = "troops", story: Story | None = None) -> Alert:
    start = BODY.index("troops")
    match = Match(rule, "Troop deployment", (ClauseHit("troops", (Span("body", start, start + 6, "troops"),)),))
    entry = Entry(
        "https://feed.test/rss",
        "MENAFN",
        f"https://menafn.test/{n}",
        f"Story number {n}",
        summary=BODY,
        published=datetime(2026, 11, 22, 14, 5, tzinfo=UTC),
    )
    return Alert(rule, "Troop deployment", entry, match, id=n, story=story)
