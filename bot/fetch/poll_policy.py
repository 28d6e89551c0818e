"""When to poll a feed next, and why (pure: no I/O, time is always passed in).

The rules, in order of authority:
1. The server's Retry-After: never poll before it. It replaces the error backoff; one shorter than
   the feed's own interval changes nothing.
2. Errors: back off exponentially from the feed's interval up to `max_backoff`; a feed is never
   disabled, so it always recovers by itself. When every feed fails at once the network is ours
   to blame, and the OutageDetector keeps that from counting against each feed.
3. The feed: a configured `every` as written (config.py refuses one below its floor). Without it,
   adaptive: about `items_per_poll` new items per poll from the recent publishing rate, slower while
   the feed is quiet, within [min_interval, max_interval]; and an adaptive feed's own RSS <ttl> or
   the server's Cache-Control max-age / Expires may ask for longer.
Server hints count up to `max_hint`, so a misconfigured CDN cannot silence a feed for a year.
4. Every time but a configured `every` is moved later by up to `jitter` of itself, so feeds do not line up.
This is the one place that sets a feed's next poll: after a poll (`next_poll`), after a poll that took only
part of a feed's new items (`more_to_come`), after a poll that failed unexpectedly (a failed poll, as any
other: `next_poll` of the failing state) and after an edit of the feed's settings (`replan`).
"""

from __future__ import annotations

import random
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.config import human_duration
from bot.model import FeedState, PollReason

_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class NextPoll:
    """When a feed is polled next, and why."""

    at: datetime
    why: PollReason


@dataclass(frozen=True, slots=True)
class PollPolicy:
    """The knobs of polling; defaults match config.PollingConfig."""

    min_interval: timedelta = timedelta(minutes=2)
    max_interval: timedelta = timedelta(hours=2)
    max_backoff: timedelta = timedelta(hours=6)
    max_hint: timedelta = timedelta(hours=24)
    backlog_retry: timedelta = timedelta(seconds=30)
    notice_after: timedelta = timedelta(hours=6)
    items_per_poll: float = 0.5
    quiet_fraction: float = 0.25
    rate_window: timedelta = timedelta(days=7)
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def interval(self, state: FeedState, now: datetime) -> timedelta:
        """The feed's normal interval, before errors and server hints: `every` as configured, else adaptive."""
        if state.every is not None:
            return state.every
        if state.items_per_day is None:
            # Nothing known yet: halfway between the bounds on a log scale.
            wanted = self.min_interval * (self.max_interval / self.min_interval) ** 0.5
        elif state.items_per_day <= 0:
            wanted = self.max_interval
        else:
            # In float seconds and capped first: a rate smoothed towards zero must not overflow a timedelta.
            seconds = _DAY.total_seconds() * self.items_per_poll / state.items_per_day
            wanted = timedelta(seconds=min(seconds, self.max_interval.total_seconds()))
        if state.newest_entry_at is not None and now > state.newest_entry_at:
            wanted = max(wanted, (now - state.newest_entry_at) * self.quiet_fraction)
        return min(max(wanted, self.min_interval), self.max_interval)

    def schedule_key(self, every: timedelta | None) -> str:
        """The settings a feed's next poll is planned with: when they change, the feed is planned anew."""
        if every is not None:
            return f"every {every.total_seconds():g}s"
        return f"adaptive {self.min_interval.total_seconds():g}s-{self.max_interval.total_seconds():g}s"

    def next_poll(
        self,
        state: FeedState,
        now: datetime,
        *,
        retry_after: datetime | None = None,
        fresh_until: datetime | None = None,
    ) -> NextPoll:
        """When to poll `state` (already updated with this poll's outcome) again, and why; jittered, but for
        a configured `every`.

        `retry_after` and `fresh_until` are the server's hints (Retry-After; Cache-Control max-age or
        Expires); the feed's own <ttl> comes from `state.ttl`.
        """
        plan = self._plan(state, now, retry_after=retry_after, fresh_until=fresh_until)
        if plan.why is PollReason.EVERY:
            return plan
        return NextPoll(now + jittered(plan.at - now, self.jitter, self.rng), plan.why)

    def more_to_come(self, planned: NextPoll | None, now: datetime) -> NextPoll:
        """A poll took only part of the feed's new items (polling.max_items_per_poll): the rest after
        `backlog_retry`, unless the feed is due sooner anyway (as `planned`)."""
        due = now + jittered(self.backlog_retry, self.jitter, self.rng)
        return NextPoll(due, PollReason.BACKLOG) if planned is None or due < planned.at else planned

    def _plan(
        self,
        state: FeedState,
        now: datetime,
        *,
        retry_after: datetime | None = None,
        fresh_until: datetime | None = None,
    ) -> NextPoll:
        normal = self.interval(state, now)
        if state.every is not None:
            plan = NextPoll(now + normal, PollReason.EVERY)
        else:
            plan = NextPoll(now + normal, PollReason.ADAPTIVE)
            if state.ttl is not None:
                plan = self._later(plan, now + min(state.ttl, self.max_hint), PollReason.TTL, now)
            plan = self._later(plan, fresh_until, PollReason.FRESHNESS, now)
        if retry_after is not None:
            return self._later(plan, retry_after, PollReason.RETRY_AFTER, now)
        if state.consecutive_errors:
            factor = 2 ** min(state.consecutive_errors - 1, 32)
            cap = max(self.max_backoff, normal)
            backoff = normal * factor if normal <= cap / factor else cap
            plan = self._later(plan, now + backoff, PollReason.BACKOFF, now)
        return plan

    def replan(self, state: FeedState, now: datetime) -> NextPoll:
        """The next poll of a feed whose settings changed (PollPolicy.schedule_key): as its last poll would
        have planned it under them, keeping a Retry-After in force, and never before now. A feed never
        polled is due now."""
        if state.last_polled_at is None:
            return NextPoll(now, PollReason.FIRST_POLL)
        kept = state.next_poll_at if state.next_poll_reason is PollReason.RETRY_AFTER else None
        plan = self._plan(state, state.last_polled_at, retry_after=kept)
        return plan if plan.at > now else NextPoll(now, plan.why)

    def _later(self, plan: NextPoll, hint: datetime | None, why: PollReason, now: datetime) -> NextPoll:
        """`plan`, or the hint (at most `max_hint` away) when it is later."""
        if hint is None:
            return plan
        at = min(hint, now + self.max_hint)
        return NextPoll(at, why) if at > plan.at else plan

    def notice(self, before: FeedState, after: FeedState, now: datetime) -> str | None:
        """A subscriber-facing sentence when a feed crosses `notice_after` of failure or comes back
        after it; None otherwise (so each outage is announced once, and its end once)."""
        threshold = self.notice_after
        if after.consecutive_errors and after.failing_since is not None:
            failing = now - after.failing_since
            previous_poll = before.last_polled_at
            newly = previous_poll is None or previous_poll - after.failing_since < threshold
            if failing >= threshold and newly:
                return f"{after.outlet} has failed for {human_duration(failing)}: {after.last_error}"
            return None
        was_announced = (
            before.consecutive_errors
            and before.failing_since is not None
            and before.last_polled_at is not None
            and before.last_polled_at - before.failing_since >= threshold
        )
        if was_announced and before.failing_since is not None:
            return f"{after.outlet} is back after {human_duration(now - before.failing_since)} of errors"
        return None


def jittered(interval: timedelta, fraction: float, rng: random.Random | None = None) -> timedelta:
    """`interval` stretched by a random 0..fraction of itself: later, never earlier, than asked."""
    return interval * (1 + (rng or random).uniform(0, fraction))


def estimate_items_per_day(
    published: Sequence[datetime], now: datetime, previous: float | None, window: timedelta
) -> float | None:
    """Publishing rate from the dates in the feed, smoothed with the previous estimate.

    The span runs from the oldest recent entry to now (not to the newest), so a feed that has gone
    quiet reads as slower. A feed without dates keeps the previous estimate.
    """
    if not published:
        return previous
    recent = [p for p in published if now - window <= p <= now + timedelta(minutes=5)]
    if recent:
        span = max(now - min(recent), timedelta(hours=1))
        rate = len(recent) / (span / _DAY)
    else:
        rate = 0.0
    return rate if previous is None else (previous + rate) / 2


class OutageDetector:
    """Tells "our network is down" from "this feed is down".

    Polls report whether the server answered at all (any HTTP status counts as an answer). When,
    within `window`, nothing answered and failures came from at least `min_hosts` different hosts,
    the fault is ours and failing polls should not count against their feeds.
    """

    def __init__(self, window: timedelta = timedelta(minutes=2), min_hosts: int = 3) -> None:
        self.window = window
        self.min_hosts = min_hosts
        self._last_answer: datetime | None = None
        self._failures: deque[tuple[datetime, str]] = deque()
        self._hosts: Counter[str] = Counter()

    def record(self, host: str, answered: bool, now: datetime) -> None:
        if answered:
            self._last_answer = max(now, self._last_answer or now)
            return
        self._failures.append((now, host))
        self._hosts[host] += 1

    def active(self, now: datetime) -> bool:
        while self._failures and self._failures[0][0] < now - self.window:
            _, host = self._failures.popleft()
            self._hosts[host] -= 1
            if not self._hosts[host]:
                del self._hosts[host]
        answered_recently = self._last_answer is not None and self._last_answer >= now - self.window
        return not answered_recently and len(self._hosts) >= self.min_hosts
