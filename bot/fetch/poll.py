"""One poll of one feed: fetch -> skip if nothing changed -> parse off the loop -> next poll time.

Cheap paths first: a 304, or a body whose hash equals last time's (servers without validators),
costs a request and a hash, never a parse. Parsing runs in worker processes, so a 5 MB feed never
stalls the event loop or the other polls. Every outcome, good or bad, returns an updated FeedState
with its next poll time; errors are recorded on the feed and never raised.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import random
from concurrent.futures import Executor, ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import StrEnum
from types import TracebackType
from typing import Any

from bot.fetch.http import FEED_ACCEPT, Fetcher, FetchFailure, FetchResult
from bot.fetch.limits import host_key, jittered
from bot.fetch.policy import OutageDetector, PollPolicy, estimate_items_per_day
from bot.model import Entry, FeedState
from bot.parse.feed import FeedParseError, ParsedFeed, parse_feed


class ParsePool:
    """Runs parse_feed in worker processes (or threads, where processes are unwanted).

    Processes start through forkserver: forking a process that runs an event loop and threads is
    unsafe. As with any such pool, a script using it needs the `if __name__ == "__main__":` guard
    (`python -m bot` and the `newsbot` script are fine). A worker that dies (out of memory on a
    monstrous feed) fails that one feed and the pool is rebuilt for the others.
    """

    def __init__(self, workers: int | None = None, *, processes: bool = True) -> None:
        self.workers = workers
        self.processes = processes
        self._executor = self._start()

    def _start(self) -> Executor:
        if self.processes:
            context = multiprocessing.get_context("forkserver")
            return ProcessPoolExecutor(self.workers, mp_context=context)
        return ThreadPoolExecutor(self.workers, thread_name_prefix="parse")

    async def parse(self, body: bytes, *, feed_url: str, name: str, content_type: str | None) -> ParsedFeed:
        """parse_feed off the event loop; raises FeedParseError with the reason."""
        loop = asyncio.get_running_loop()
        call = _ParseCall(body, feed_url, name, content_type)
        try:
            return await loop.run_in_executor(self._executor, call)
        except BrokenProcessPool as error:
            self._executor.shutdown(wait=False, cancel_futures=False)
            self._executor = self._start()
            raise FeedParseError("the parse worker process died on this feed") from error

    def close(self) -> None:
        self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ParsePool:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


@dataclass(frozen=True, slots=True)
class _ParseCall:
    """A picklable call of parse_feed that turns parser bugs into a per-feed error."""

    body: bytes
    feed_url: str
    name: str
    content_type: str | None

    def __call__(self) -> ParsedFeed:
        try:
            return parse_feed(self.body, feed_url=self.feed_url, name=self.name, content_type=self.content_type)
        except FeedParseError:
            raise
        except Exception as error:  # feedparser has odd corners; one feed's bug must not kill the poll
            raise FeedParseError(f"the parser failed on this feed ({type(error).__name__}: {error})") from None


class PollStatus(StrEnum):
    NOT_MODIFIED = "not_modified"
    UNCHANGED = "unchanged"
    PARSED = "parsed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class PollOutcome:
    """What one poll learned. `entries` is None unless the feed was parsed (then possibly empty);
    `notice` is a subscriber-facing sentence when a long outage starts being reported or ends."""

    state: FeedState
    status: PollStatus
    entries: list[Entry] | None = None
    title: str | None = None
    link: str | None = None
    error: str | None = None
    notice: str | None = None
    outage: bool = False


@dataclass
class Poller:
    """What every poll shares: the fetcher, the parse pool, the policy and the outage detector."""

    fetcher: Fetcher
    parser: ParsePool
    policy: PollPolicy = field(default_factory=PollPolicy)
    outage: OutageDetector = field(default_factory=OutageDetector)
    jitter: float = 0.1
    rng: random.Random = field(default_factory=random.Random)


async def poll_feed(state: FeedState, poller: Poller, *, now: datetime | None = None) -> PollOutcome:
    """Poll one feed once; never raises for anything the feed or its server does."""
    now = now or datetime.now(UTC)
    result = await poller.fetcher.fetch(
        state.url, etag=state.etag, last_modified=state.last_modified, accept=FEED_ACCEPT
    )
    host = host_key(state.url)  # empty for file:// feeds, which say nothing about the network
    if isinstance(result, FetchFailure):
        if host:
            poller.outage.record(host, not result.network, now)
        if result.network and poller.outage.active(now):
            return _outage(state, poller, result.message, now)
        return _failed(state, poller, result.message, now, [result.hints.retry_after, result.hints.fresh_until])
    if host:
        poller.outage.record(host, True, now)
    validators = {"etag": result.etag or state.etag, "last_modified": result.last_modified or state.last_modified}
    if result.not_modified:
        return _done(state, poller, now, result, PollStatus.NOT_MODIFIED, **validators)
    if result.content_hash == state.content_hash:
        return _done(state, poller, now, result, PollStatus.UNCHANGED, **validators)
    try:
        parsed = await poller.parser.parse(
            result.body, feed_url=state.url, name=state.name, content_type=result.content_type
        )
    except FeedParseError as error:
        return _failed(state, poller, str(error), now, [result.hints.fresh_until])
    published = [e.published for e in parsed.entries if e.published is not None]
    newest = max([*published, *([state.newest_entry_at] if state.newest_entry_at else [])], default=None)
    rate = estimate_items_per_day(published, now, state.items_per_day, poller.policy.rate_window)
    outcome = _done(
        state,
        poller,
        now,
        result,
        PollStatus.PARSED,
        etag=result.etag,
        last_modified=result.last_modified,
        content_hash=result.content_hash,
        ttl=parsed.ttl,
        newest_entry_at=newest,
        items_per_day=rate,
    )
    return replace(outcome, entries=parsed.entries, title=parsed.title or None, link=parsed.link)


def _done(
    state: FeedState, poller: Poller, now: datetime, result: FetchResult, status: PollStatus, **changes: Any
) -> PollOutcome:
    healthy = replace(
        state, last_polled_at=now, last_success_at=now, consecutive_errors=0, failing_since=None, **changes
    )
    scheduled = _schedule(healthy, poller, now, [result.hints.fresh_until])
    return PollOutcome(scheduled, status, notice=poller.policy.notice(state, scheduled, now))


def _failed(
    state: FeedState, poller: Poller, message: str, now: datetime, not_before: list[datetime | None]
) -> PollOutcome:
    failing = replace(
        state,
        last_polled_at=now,
        last_error=message,
        last_error_at=now,
        consecutive_errors=state.consecutive_errors + 1,
        failing_since=state.failing_since or now,
    )
    scheduled = _schedule(failing, poller, now, not_before)
    return PollOutcome(scheduled, PollStatus.FAILED, error=message, notice=poller.policy.notice(state, scheduled, now))


def _outage(state: FeedState, poller: Poller, message: str, now: datetime) -> PollOutcome:
    """Our network is down: record the error but leave the feed's error count and backoff alone."""
    noted = replace(state, last_polled_at=now, last_error=message, last_error_at=now)
    return PollOutcome(_schedule(noted, poller, now, []), PollStatus.FAILED, error=message, outage=True)


def _schedule(state: FeedState, poller: Poller, now: datetime, not_before: list[datetime | None]) -> FeedState:
    due = poller.policy.next_poll_at(state, now, not_before)
    return replace(state, next_poll_at=now + jittered(due - now, poller.jitter, poller.rng))
