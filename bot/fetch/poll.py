"""One poll of one feed: fetch -> skip if nothing changed -> parse off the loop -> next poll time.

Cheap paths first: a 304, or a body whose hash equals last time's (servers without validators),
costs a request and a hash, never a parse. Parsing runs in worker processes, so a 5 MB feed never
stalls the event loop or the other polls. Every outcome, good or bad, returns an updated FeedState
with its next poll time; errors are recorded on the feed and never raised.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from datetime import datetime
from enum import StrEnum
from functools import partial
from typing import Any

from bot import clock
from bot.fetch.hints import ServerHints
from bot.fetch.http import FEED_ACCEPT, Fetcher, FetchFailure, FetchResult
from bot.fetch.limits import host_key
from bot.fetch.parse_pool import ParsePool
from bot.fetch.poll_policy import NextPoll, OutageDetector, PollPolicy, estimate_items_per_day
from bot.model import Entry, FeedState
from bot.parse.feed import FeedParseError
from bot.parse.items import ItemMemory, parse_changed
from bot.parse.urls import BUILT_IN, DropParams


class PollStatus(StrEnum):
    NOT_MODIFIED = "not_modified"
    UNCHANGED = "unchanged"
    PARSED = "parsed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll learned. `entries` is None unless the feed was parsed (then possibly empty, and
    only the entries of new items when the items of the last body could be skipped);
    `notice` is a subscriber-facing sentence when a long outage starts being reported or ends; `skipped`
    names the items that could not be read (the rest of the feed was); `title` is the name the feed gives
    itself (its site name, see `site_name`), which the store keeps; `parse_seconds` is the parse's wall time,
    in a worker process."""

    state: FeedState
    status: PollStatus
    entries: list[Entry] | None = None
    title: str | None = None
    link: str | None = None
    error: str | None = None
    notice: str | None = None
    outage: bool = False
    skipped: tuple[str, ...] = ()
    parse_seconds: float = 0.0


@dataclass
class Poller:
    """What every poll shares: the fetcher, the parse pool, the policy and the outage detector.

    `items` remembers, per feed URL, the items of the last body parsed in this process, so a changed
    feed costs a parse of its new items only. It lives in memory: after a restart each feed's next
    changed body is simply parsed in full once. `links` are the user's parameters to drop from links.
    """

    fetcher: Fetcher
    parser: ParsePool
    policy: PollPolicy = field(default_factory=PollPolicy)
    outage: OutageDetector = field(default_factory=OutageDetector)
    items: dict[str, ItemMemory] = field(default_factory=dict)
    links: DropParams = BUILT_IN

    def memory_for(self, state: FeedState) -> ItemMemory | None:
        """The items seen last time, only if their entries were surely handed on and stored: the
        state (as stored) still carries that body's hash and no error came since."""
        memory = self.items.get(state.url)
        if memory is None or memory.content_hash != state.content_hash or state.consecutive_errors:
            return None
        return memory

    def remember(self, url: str, memory: ItemMemory | None) -> None:
        if memory is None:
            self.items.pop(url, None)
        else:
            self.items[url] = memory


async def poll_feed(state: FeedState, poller: Poller, *, now: datetime | None = None) -> PollOutcome:
    """Poll one feed once; never raises for anything the feed or its server does. `now` is the poll's time
    (default: the clock's); the next poll is planned from when the server answered (the same, when `now` is
    given), so a feed is never asked again sooner than its interval after it answered."""
    given = now is not None
    now = now or clock.now()
    result = await poller.fetcher.fetch(
        state.url, etag=state.etag, last_modified=state.last_modified, accept=FEED_ACCEPT, label=state.outlet
    )
    answered = now if given else max(now, clock.now())
    host = host_key(state.url)  # empty for file:// feeds, which say nothing about the network
    if isinstance(result, FetchFailure):
        if host:
            poller.outage.record(host, not result.network, now)
        if result.network and poller.outage.active(now):
            return _outage(state, poller, result.message, now, answered)
        return _failed(state, poller, result.message, now, result.hints, answered)
    if host:
        poller.outage.record(host, True, now)
    validators = {"etag": result.etag or state.etag, "last_modified": result.last_modified or state.last_modified}
    if result.not_modified:
        return _done(state, poller, now, result, PollStatus.NOT_MODIFIED, answered, **validators)
    if result.content_hash == state.content_hash:
        return _done(state, poller, now, result, PollStatus.UNCHANGED, answered, **validators)
    assert result.content_hash is not None  # only a 304 has none
    parse_started = time.perf_counter()
    try:
        changed = await poller.parser.run(
            partial(
                parse_changed,
                result.body,
                feed_url=state.url,
                name=state.name,
                content_type=result.content_type,
                content_hash=result.content_hash,
                memory=poller.memory_for(state),
                drop=poller.links,
            )
        )
    except FeedParseError as error:
        poller.remember(state.url, None)
        return _failed(state, poller, str(error), now, result.hints, answered)
    poller.remember(state.url, changed.memory)
    parsed, published = changed.feed, changed.published
    newest = max([*published, *([state.newest_entry_at] if state.newest_entry_at else [])], default=None)
    rate = estimate_items_per_day(published, now, state.items_per_day, poller.policy.rate_window)
    outcome = _done(
        state,
        poller,
        now,
        result,
        PollStatus.PARSED,
        answered,
        etag=result.etag,
        last_modified=result.last_modified,
        content_hash=result.content_hash,
        ttl=parsed.ttl,
        newest_entry_at=newest,
        items_per_day=rate,
        title=parsed.site or state.title,  # so the poll's own log line calls the feed by its name
    )
    return replace(
        outcome,
        entries=parsed.entries,
        title=parsed.site or None,
        link=parsed.link,
        skipped=parsed.skipped,
        parse_seconds=time.perf_counter() - parse_started,
    )


def more_to_come(outcome: PollOutcome, poller: Poller, now: datetime | None = None) -> PollOutcome:
    """A poll whose new items were handed on only in part (polling.max_items_per_poll): forget what would
    hide the rest next time (validators, body hash, item memory); the policy plans the next poll."""
    now = now or clock.now()
    poller.remember(outcome.state.url, None)
    state = replace(outcome.state, etag=None, last_modified=None, content_hash=None)
    at, why = state.next_poll_at, state.next_poll_reason
    planned = NextPoll(at, why) if at is not None and why is not None else None
    plan = poller.policy.more_to_come(planned, now)
    return replace(outcome, state=replace(state, next_poll_at=plan.at, next_poll_reason=plan.why))


def _done(
    state: FeedState,
    poller: Poller,
    now: datetime,
    result: FetchResult,
    status: PollStatus,
    answered: datetime,
    **changes: Any,
) -> PollOutcome:
    healthy = replace(
        state, last_polled_at=now, last_success_at=now, consecutive_errors=0, failing_since=None, **changes
    )
    scheduled = _schedule(healthy, poller, answered, result.hints)
    return PollOutcome(scheduled, status, notice=poller.policy.notice(state, scheduled, now))


def _failed(
    state: FeedState, poller: Poller, message: str, now: datetime, hints: ServerHints, answered: datetime
) -> PollOutcome:
    failing = replace(
        state,
        last_polled_at=now,
        last_error=message,
        last_error_at=now,
        consecutive_errors=state.consecutive_errors + 1,
        failing_since=state.failing_since or now,
    )
    scheduled = _schedule(failing, poller, answered, hints)
    return PollOutcome(scheduled, PollStatus.FAILED, error=message, notice=poller.policy.notice(state, scheduled, now))


def failed_poll(state: FeedState, poller: Poller, message: str, now: datetime | None = None) -> PollOutcome:
    """A poll that failed for a reason of ours (the database, a bug): counted as one more error of the
    feed, so it backs off from its own interval like any failing feed."""
    now = now or clock.now()
    return _failed(state, poller, message, now, ServerHints(), now)


def _outage(state: FeedState, poller: Poller, message: str, now: datetime, answered: datetime) -> PollOutcome:
    """Our network is down: record the error but leave the feed's error count and backoff alone."""
    noted = replace(state, last_polled_at=now, last_error=message, last_error_at=now)
    return PollOutcome(_schedule(noted, poller, answered, ServerHints()), PollStatus.FAILED, error=message, outage=True)


def _schedule(state: FeedState, poller: Poller, answered: datetime, hints: ServerHints) -> FeedState:
    """The state with its next poll and why, as the policy plans it from when the server answered."""
    plan = poller.policy.next_poll(state, answered, retry_after=hints.retry_after, fresh_until=hints.fresh_until)
    return replace(state, next_poll_at=plan.at, next_poll_reason=plan.why)
