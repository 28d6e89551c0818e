"""One feed fetched up to its new entries: what every process does with each feed it claimed.

The poll itself (fetch, skip what did not change, parse off the loop, plan the next poll) is fetch/poll.py;
here the store says which entries the feed has not had before and, on its first poll, which of them may
alert; those that may alert get their article's text (fetch/article.py). At most `max_items` new entries of
a feed go on per poll, so a 100,000-item feed is taken in slices while the other feeds' polls go on.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, replace

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.alerts.policy import may_alert, newest_first
from bot.config import FeedConfig
from bot.counts import plural
from bot.fetch.article import ArticleFetcher
from bot.fetch.poll import Poller, PollOutcome, more_to_come, poll_feed
from bot.metrics import FEED_ERRORS, POLLS
from bot.model import Entry, FeedState, Notice, outlet_name
from bot.store.claims import Claim
from bot.store.entries import has_entries, unseen_entries
from bot.store.feeds import is_first_poll

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class RegisteredFeed:
    """A configured feed and the id the store knows it by."""

    id: int
    config: FeedConfig


@dataclass(frozen=True, slots=True)
class NewItems:
    """What of a poll's entries goes on: the unseen ones (at most `max_items`, newest first), the keys of
    those that may alert, and whether more are left for the next polls."""

    entries: list[Entry]
    alertable: set[str]
    more_to_come: bool


@dataclass(frozen=True, slots=True)
class FetchedFeed:
    """One feed's poll: its new fetch state and its new entries (with the full text of those that may alert),
    the seconds the poll (fetch and parse) and the article pages took, `more_to_come` when the feed had more
    new entries than one poll takes."""

    feed_id: int
    feed: FeedConfig
    outcome: PollOutcome
    entries: tuple[Entry, ...]
    alertable: frozenset[str]
    poll_seconds: float
    pages_seconds: float
    notice: Notice | None = None
    more_to_come: bool = False

    @property
    def polled_ok(self) -> bool:
        """Whether the poll ends the feed's first-poll grace: a first poll taken in slices stays a first poll
        until its last slice."""
        return self.outcome.error is None and not self.more_to_come


class FeedFetch:
    """Fetches configured feeds by URL, up to their new entries: what every process does with a feed.

    At most `max_items` new entries of a feed go on per poll, so a 100,000-item feed is taken in slices
    while the other feeds' polls go on in between.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        poller: Poller,
        feeds: dict[str, RegisteredFeed],
        concurrency: int = 50,
        max_items: int = 200,
    ) -> None:
        self.engine = engine
        self.poller = poller
        self.articles = ArticleFetcher(poller.fetcher, links=poller.links)
        self.feeds = feeds
        self.max_items = max_items
        # Thousands of feeds may be due at once (`poll --once`): at most this many are polled at a time
        # (their database reads, fetches and parses), the others wait their turn instead of the pool's timeout.
        self._slots = asyncio.Semaphore(concurrency)

    async def _new_entries(self, feed_id: int, feed: FeedConfig, items: list[Entry]) -> NewItems:
        """The entries this feed has not had before (at most `max_items`, newest first), and which of them
        may alert: on a first poll only the newest `backlog`, and a first poll cut in slices keeps its backlog
        for its first slice (later slices find entries stored already and alert on none)."""
        async with self.engine.connect() as conn:
            unseen = await unseen_entries(conn, feed_id, items)
            first_poll = await is_first_poll(conn, feed_id)
            continued = first_poll and await has_entries(conn, feed_id)
        more = len(unseen) > self.max_items
        if more:
            unseen = newest_first(unseen)[: self.max_items]
        wanted = may_alert(unseen, 0 if continued else feed.backlog, first_poll)
        return NewItems(unseen, {entry.key for entry in wanted}, more)

    async def _with_full_text(self, new: NewItems) -> list[Entry]:
        """The new entries, those that may alert enriched with their article's main text (a new feed never
        sets off a burst of page fetches)."""
        wanted = [entry for entry in new.entries if entry.key in new.alertable]
        fetched = await asyncio.gather(*(self.articles.enrich(entry) for entry in wanted))
        enriched = {entry.key: full for entry, full in zip(wanted, fetched, strict=True)}
        return [enriched.get(entry.key, entry) for entry in new.entries]

    async def __call__(self, claim: Claim) -> FetchedFeed:
        """Poll a claimed feed and find its new entries: everything but reading and storing them."""
        async with self._slots:
            return await self._fetch(claim)

    async def _fetch(self, claim: Claim) -> FetchedFeed:
        registered = self.feeds[claim.url]
        feed_id, feed, state, url = registered.id, registered.config, claim.state, claim.url
        started = time.perf_counter()
        outcome = await poll_feed(state, self.poller)
        polled_at = time.perf_counter()
        POLLS.labels(outcome.status.value).inc()
        if outcome.error:
            FEED_ERRORS.inc()
            log.warning("feed %s: %s", _named(outcome.state), outcome.error)
        if outcome.skipped:
            shown = "; ".join(outcome.skipped[:3]) + ("; ..." if len(outcome.skipped) > 3 else "")
            log.warning("feed %s: %d items skipped: %s", _named(outcome.state), len(outcome.skipped), shown)
        notice = None
        if outcome.notice:
            log.warning("%s", outcome.notice)
            notice = Notice(f"feed:{url}:{outcome.state.last_polled_at}", outcome.notice)
        new = await self._new_entries(feed_id, feed, outcome.entries) if outcome.entries else NewItems([], set(), False)
        if new.more_to_come:
            outcome = more_to_come(outcome, self.poller)
            log.info(
                "%s: %s now, the rest in the next polls",
                outcome.state.outlet,
                plural(len(new.entries), "new entry", "new entries"),
            )
        pages_started = time.perf_counter()
        entries = await self._with_full_text(new) if feed.fulltext and new.alertable else new.entries
        pages_done = time.perf_counter()
        outcome = replace(outcome, state=self._planned_anew(outcome.state))
        return FetchedFeed(
            feed_id, feed, outcome, tuple(entries), frozenset(new.alertable), polled_at - started,
            pages_done - pages_started, notice, new.more_to_come,
        )  # fmt: skip

    def _planned_anew(self, polled: FeedState) -> FeedState:
        """A feed whose settings were edited while it was polled has its next poll planned anew under them
        (the poll planned under those it started with)."""
        registered = self.feeds.get(polled.url)
        policy = self.poller.policy
        if registered is None or polled.schedule_key is None or polled.last_polled_at is None:
            return polled
        every = registered.config.every
        key = policy.schedule_key(every)
        if polled.schedule_key == key:
            return polled
        state = replace(polled, every=every, schedule_key=key)
        plan = policy.replan(state, clock.now())
        return replace(state, next_poll_at=plan.at, next_poll_reason=plan.why)


def _named(state: FeedState) -> str:
    """A feed in a log line: its outlet and address ("Al Jazeera (https://...)"), or only its address while
    it has no name (not read yet), instead of the address twice."""
    address = outlet_name(None, None, state.url)
    return address if state.outlet == address else f"{state.outlet} ({state.url})"
