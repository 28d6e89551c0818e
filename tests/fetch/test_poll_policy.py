"""The next-poll policy: intervals, adaptivity, server hints, backoff, planning anew after an edit, outage and
notices; each next poll with its reason."""

from __future__ import annotations

import random
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.config import human_duration
from bot.fetch.poll_policy import NextPoll, OutageDetector, PollPolicy, estimate_items_per_day
from bot.model import FeedState, PollReason

NOW = datetime(2026, 2, 17, 12, 0, tzinfo=UTC)
MIN = timedelta(minutes=2)
MAX = timedelta(hours=2)
POLICY = PollPolicy(min_interval=MIN, max_interval=MAX, max_backoff=timedelta(hours=6), jitter=0.0)


def feed(**fields: object) -> FeedState:
    return replace(FeedState(url="https://news.example.com/rss", name="ERR News"), **fields)  # type: ignore[arg-type]


def test_fixed_every_is_kept_as_written_below_min_and_above_max_interval() -> None:
    for every in (timedelta(seconds=15), timedelta(minutes=15), timedelta(hours=12)):
        assert POLICY.next_poll(feed(every=every), NOW) == NextPoll(NOW + every, PollReason.EVERY)


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


def test_ttl_and_cache_lifetime_lengthen_adaptive_polling_only() -> None:
    adaptive = feed()  # rate unknown: about 15.5 min between the bounds
    assert POLICY.next_poll(adaptive, NOW).why is PollReason.ADAPTIVE
    ttl = replace(adaptive, ttl=timedelta(minutes=30))
    assert POLICY.next_poll(ttl, NOW) == NextPoll(NOW + timedelta(minutes=30), PollReason.TTL)
    hour = NOW + timedelta(hours=1)
    assert POLICY.next_poll(ttl, NOW, fresh_until=hour) == NextPoll(hour, PollReason.FRESHNESS)
    assert POLICY.next_poll(adaptive, NOW, fresh_until=NOW + timedelta(minutes=1)).why is PollReason.ADAPTIVE
    capped = POLICY.next_poll(adaptive, NOW, fresh_until=NOW + timedelta(days=365))
    assert capped == NextPoll(NOW + POLICY.max_hint, PollReason.FRESHNESS)
    fixed = feed(every=timedelta(minutes=5), ttl=timedelta(minutes=30))
    assert POLICY.next_poll(fixed, NOW, fresh_until=hour) == NextPoll(NOW + timedelta(minutes=5), PollReason.EVERY)


def test_retry_after_wins_over_the_interval_and_the_backoff() -> None:
    state = feed(every=timedelta(minutes=5), consecutive_errors=3)
    retry = NOW + timedelta(hours=3)
    assert POLICY.next_poll(state, NOW, retry_after=retry) == NextPoll(retry, PollReason.RETRY_AFTER)
    soon = NOW + timedelta(minutes=1)
    assert POLICY.next_poll(state, NOW, retry_after=soon) == NextPoll(NOW + timedelta(minutes=5), PollReason.EVERY)
    far = POLICY.next_poll(state, NOW, retry_after=NOW + timedelta(days=365))
    assert far == NextPoll(NOW + POLICY.max_hint, PollReason.RETRY_AFTER)
    beyond_max = feed(ttl=timedelta(minutes=30))
    assert POLICY.next_poll(beyond_max, NOW, retry_after=retry) == NextPoll(retry, PollReason.RETRY_AFTER)


def test_errors_back_off_exponentially_and_keep_polling_forever() -> None:
    state = feed(every=timedelta(minutes=10))
    plans = [POLICY.next_poll(replace(state, consecutive_errors=n), NOW) for n in range(1, 8)]
    assert [(p.at - NOW) / timedelta(minutes=1) for p in plans] == [10, 20, 40, 80, 160, 320, 360]
    assert [p.why for p in plans] == [PollReason.EVERY] + [PollReason.BACKOFF] * 6
    assert POLICY.next_poll(replace(state, consecutive_errors=10_000), NOW).at == NOW + timedelta(hours=6)


def test_an_edit_of_the_settings_plans_the_next_poll_anew() -> None:
    assert POLICY.replan(feed(every=timedelta(hours=2)), NOW) == NextPoll(NOW, PollReason.FIRST_POLL)
    polled = feed(every=timedelta(seconds=30), last_polled_at=NOW - timedelta(seconds=10))
    stored = replace(polled, next_poll_at=NOW + timedelta(hours=2), next_poll_reason=PollReason.EVERY)
    assert POLICY.replan(stored, NOW) == NextPoll(NOW + timedelta(seconds=20), PollReason.EVERY)
    long_ago = replace(stored, last_polled_at=NOW - timedelta(hours=1))
    assert POLICY.replan(long_ago, NOW) == NextPoll(NOW, PollReason.EVERY)
    asked = replace(stored, next_poll_reason=PollReason.RETRY_AFTER)
    assert POLICY.replan(asked, NOW) == NextPoll(NOW + timedelta(hours=2), PollReason.RETRY_AFTER)
    keys = {POLICY.schedule_key(timedelta(seconds=30)), POLICY.schedule_key(timedelta(minutes=1))}
    keys |= {POLICY.schedule_key(None), replace(POLICY, max_interval=timedelta(hours=1)).schedule_key(None)}
    assert len(keys) == 4


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


def test_jitter_moves_every_time_later_but_a_configured_every() -> None:
    jittery = PollPolicy(min_interval=MIN, max_interval=MAX, jitter=0.1, rng=random.Random(5))
    adaptive, fixed = feed(), feed(every=timedelta(minutes=10))
    times = {jittery.next_poll(adaptive, NOW).at for _ in range(50)}
    planned = POLICY.next_poll(adaptive, NOW).at
    assert len(times) > 40 and all(planned <= at <= planned + (planned - NOW) * 0.1 for at in times)
    as_written = NextPoll(NOW + timedelta(minutes=10), PollReason.EVERY)
    assert {jittery.next_poll(fixed, NOW) for _ in range(20)} == {as_written}
    backlog = {jittery.more_to_come(None, NOW).at for _ in range(20)}
    assert all(NOW + timedelta(seconds=30) <= at <= NOW + timedelta(seconds=33) for at in backlog)
    due_sooner = NextPoll(NOW + timedelta(seconds=5), PollReason.EVERY)
    assert jittery.more_to_come(due_sooner, NOW) == due_sooner
