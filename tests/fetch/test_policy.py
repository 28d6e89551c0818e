"""The next-poll policy: intervals, adaptivity, server hints, backoff, outage and notices."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import human_duration
from bot.fetch.policy import OutageDetector, PollPolicy, estimate_items_per_day
from bot.model import FeedState

NOW = datetime(2026, 2, 17, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=2)
MAX = timedelta(hours=2)
POLICY = PollPolicy(min_interval=MIN, max_interval=MAX, max_backoff=timedelta(hours=6))


def feed(**fields: object) -> FeedState:
    return replace(FeedState(url="https://news.example.com/rss", name="ERR News"), **fields)  # type: ignore[arg-type]


def test_fixed_every_is_kept_but_never_below_min_interval() -> None:
    assert POLICY.next_poll_at(feed(every=timedelta(minutes=15)), NOW) == NOW + timedelta(minutes=15)
    assert POLICY.next_poll_at(feed(every=timedelta(seconds=10)), NOW) == NOW + MIN
    assert POLICY.next_poll_at(feed(every=timedelta(hours=12)), NOW) == NOW + timedelta(hours=12)


@pytest.mark.parametrize(
    ("items_per_day", "expected"),
    [
        (1000.0, MIN),
        (48.0, timedelta(minutes=15)),
        (12.0, timedelta(hours=1)),
        (1.0, MAX),
        (0.0, MAX),
        (None, timedelta(minutes=2) * (60**0.5)),
    ],
)
def test_adaptive_interval_follows_the_publishing_rate(items_per_day: float | None, expected: timedelta) -> None:
    assert POLICY.interval(feed(items_per_day=items_per_day), NOW) == expected


def test_a_quiet_spell_slows_a_busy_feed_down() -> None:
    busy = feed(items_per_day=480.0)
    assert POLICY.interval(replace(busy, newest_entry_at=NOW - timedelta(minutes=5)), NOW) == MIN
    assert POLICY.interval(replace(busy, newest_entry_at=NOW - timedelta(hours=1)), NOW) == timedelta(minutes=15)
    assert POLICY.interval(replace(busy, newest_entry_at=NOW - timedelta(days=3)), NOW) == MAX


def test_server_hints_are_never_undercut_but_absurd_ones_are_capped() -> None:
    state = feed(every=timedelta(minutes=5))
    retry = NOW + timedelta(hours=3)
    assert POLICY.next_poll_at(state, NOW, [retry]) == retry
    assert POLICY.next_poll_at(state, NOW, [NOW + timedelta(minutes=1), None]) == NOW + timedelta(minutes=5)
    assert POLICY.next_poll_at(replace(state, ttl=timedelta(minutes=30)), NOW) == NOW + timedelta(minutes=30)
    assert POLICY.next_poll_at(state, NOW, [NOW + timedelta(days=365)]) == NOW + POLICY.max_hint


def test_errors_back_off_exponentially_and_keep_polling_forever() -> None:
    state = feed(every=timedelta(minutes=10))
    delays = [POLICY.next_poll_at(replace(state, consecutive_errors=n), NOW) - NOW for n in range(1, 8)]
    minutes = [d / timedelta(minutes=1) for d in delays]
    assert minutes == [10, 20, 40, 80, 160, 320, 360]
    assert POLICY.next_poll_at(replace(state, consecutive_errors=10_000), NOW) == NOW + timedelta(hours=6)


def test_backoff_still_respects_retry_after() -> None:
    state = feed(every=timedelta(minutes=10), consecutive_errors=1)
    assert POLICY.next_poll_at(state, NOW, [NOW + timedelta(hours=1)]) == NOW + timedelta(hours=1)


def test_long_outage_is_announced_once_and_its_end_once() -> None:
    policy = replace(POLICY, notice_after=timedelta(hours=6))
    since = NOW - timedelta(hours=6, minutes=10)
    before = feed(consecutive_errors=5, failing_since=since, last_polled_at=NOW - timedelta(minutes=20))
    after = replace(before, consecutive_errors=6, last_error="HTTP 503", last_polled_at=NOW)
    assert policy.notice(before, after, NOW) == "ERR News has failed for 6 h: HTTP 503"
    later = NOW + timedelta(minutes=30)
    assert policy.notice(after, replace(after, consecutive_errors=7, last_polled_at=later), later) is None
    recovered = replace(after, consecutive_errors=0, failing_since=None)
    assert policy.notice(after, recovered, later) == "ERR News is back after 6 h of errors"
    short = feed(consecutive_errors=1, failing_since=NOW - timedelta(hours=1), last_polled_at=NOW)
    assert policy.notice(short, replace(short, consecutive_errors=0, failing_since=None), NOW) is None


def test_rate_is_estimated_from_recent_publication_dates() -> None:
    every_hour = [NOW - timedelta(hours=h) for h in range(1, 25)]
    assert estimate_items_per_day(every_hour, NOW, None, timedelta(days=7)) == pytest.approx(24.0)
    assert estimate_items_per_day(every_hour, NOW, 48.0, timedelta(days=7)) == pytest.approx(36.0)
    stale = [NOW - timedelta(days=30)]
    assert estimate_items_per_day(stale, NOW, None, timedelta(days=7)) == 0.0
    assert estimate_items_per_day([], NOW, 5.0, timedelta(days=7)) == 5.0


def test_outage_needs_silence_from_several_hosts() -> None:
    detector = OutageDetector(window=timedelta(minutes=2), min_hosts=3)
    for host in ("a", "b"):
        detector.record(host, answered=False, now=NOW)
    assert not detector.active(NOW)
    detector.record("c", answered=False, now=NOW)
    assert detector.active(NOW)
    detector.record("d", answered=True, now=NOW + timedelta(seconds=1))
    assert not detector.active(NOW + timedelta(seconds=1))
    assert not detector.active(NOW + timedelta(minutes=10)), "old failures expire"


def test_durations_read_naturally() -> None:
    assert [human_duration(timedelta(minutes=m)) for m in (45, 60 * 6 + 20, 60 * 24 * 3)] == ["45 min", "6 h", "3 d"]
