"""The words for a feed's next poll: as `newsbot status`, /status and `run` say them."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.model import FeedState, PollReason
from bot.status.schedule import LISTED, next_poll, schedule_lines, why

NOW = datetime(2026, 2, 17, 12, 0, tzinfo=UTC)


def state(n: int, reason: PollReason, **fields: object) -> FeedState:
    return FeedState(url=f"https://n{n}.example/rss", name=f"Feed {n}", next_poll_reason=reason, **fields)  # type: ignore[arg-type]


def test_each_reason_reads_as_a_few_words() -> None:
    assert next_poll(NOW + timedelta(minutes=15), why(state(1, PollReason.TTL)), NOW) == "in 15 min: the feed's ttl"
    fixed = state(1, PollReason.EVERY, every=timedelta(seconds=15))
    assert next_poll(NOW + timedelta(seconds=15), why(fixed), NOW) == "in 15 s: every 15s as configured"
    failing = state(1, PollReason.BACKOFF, consecutive_errors=4)
    assert next_poll(NOW + timedelta(hours=3), why(failing), NOW) == "in 3 h: backing off after 4 errors in a row"
    assert next_poll(NOW - timedelta(seconds=3), why(state(1, PollReason.FIRST_POLL)), NOW) == "now: first poll"
    assert next_poll(NOW - timedelta(minutes=5), "", NOW) == "due 5 min ago"
    assert next_poll(None, why(state(1, PollReason.REMOVED)), NOW) == "not polled: no longer in the config"
    assert all(why(state(1, reason)) for reason in PollReason)


def test_thousands_of_feeds_are_summed_up() -> None:
    few = [(state(n, PollReason.FIRST_POLL), NOW + timedelta(seconds=n)) for n in range(3)]
    assert schedule_lines(few, NOW) == [
        "Feed 0: now: first poll (https://n0.example/rss)",
        "Feed 1: in 1 s: first poll (https://n1.example/rss)",
        "Feed 2: in 2 s: first poll (https://n2.example/rss)",
    ]
    reasons = [PollReason.TTL, PollReason.ADAPTIVE, PollReason.ADAPTIVE, PollReason.ADAPTIVE]
    many = [(state(n, reasons[n % 4]), NOW + timedelta(minutes=n)) for n in range(4000)]
    lines = schedule_lines(many, NOW)
    assert len(lines) == LISTED // 2 + 1 and lines[0].startswith("Feed 0: now: the feed's ttl")
    assert lines[-1] == "... and 3,990 more (2,993 adaptive, 997 ttl); `newsbot status` lists them all"
