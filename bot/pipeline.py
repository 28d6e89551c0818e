"""One feed through the pipeline: fetch -> parse -> full text -> match -> stories -> alerts -> sink.

Entries, their stories, matches, alerts, the sink's queue and the feed's new fetch state are written in
one transaction, so a crash at any point leaves either all of a poll's work or none of it, and the next
poll (same validators, same body hash) redoes what is missing.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.config import FeedConfig
from bot.deliver.sink import Sink
from bot.fetch.article import ArticleFetcher
from bot.fetch.poll import Poller, PollOutcome, PollStatus, more_to_come, poll_feed
from bot.metrics import ALERTS, FEED_ERRORS, MATCH_SECONDS, NEW_ENTRIES, POLLS
from bot.model import Alert, Entry, FeedState, Match, Notice, Story
from bot.rulebook import RuleBook, Rules
from bot.store.alerts import record_match
from bot.store.db import describe_error
from bot.store.entries import StoredEntry, add_new_entries, has_entries, unseen_entries
from bot.store.feeds import is_first_poll, load_state, save_state
from bot.store.stories import load_story, set_story
from bot.stories.cluster import Assignment
from bot.storydesk import StoryDesk

log = logging.getLogger(__name__)

_OLDEST = datetime.min.replace(tzinfo=UTC)
RETRY_AFTER_FAILURE = timedelta(minutes=5)
"""When a feed whose poll failed unexpectedly (say, the database was locked) is polled again."""


@dataclass(frozen=True, slots=True)
class IngestResult:
    new_entries: int
    alerts: tuple[Alert, ...]


@dataclass(frozen=True, slots=True)
class FeedPollReport:
    """One poll of one feed, for the logs, `poll --once` and /status."""

    feed: FeedConfig
    outcome: PollOutcome
    result: IngestResult


def may_alert(entries: Sequence[Entry], backlog: int, first_poll: bool) -> list[Entry]:
    """The new entries that may alert: all of them, but on a feed's first poll only its newest `backlog`
    (ties keep feed order). Full text is fetched for exactly these, so both stages pick the same ones."""
    if not first_poll:
        return list(entries)
    return sorted(entries, key=lambda e: e.published or _OLDEST, reverse=True)[:backlog]


def outlet_is_new(story: Story, entry_id: int) -> bool:
    """Whether this entry brought its story an outlet it did not have."""
    mine = next(m.outlet for m in story.members if m.entry_id == entry_id)
    return all(m.outlet != mine for m in story.members if m.entry_id != entry_id)


class Ingest:
    """Stores what a poll brought, files it under stories and raises alerts for entries that match a rule.

    One ingest runs at a time: the story index and the one-alert-per-story decision must see every
    earlier entry.
    """

    def __init__(self, engine: AsyncEngine, sink: Sink, desk: StoryDesk) -> None:
        self.engine = engine
        self.sink = sink
        self.desk = desk
        self.lock = asyncio.Lock()

    def _analyse(
        self, rules: Rules, stored: list[StoredEntry], seen_at: datetime
    ) -> list[tuple[list[Match], Assignment]]:
        with MATCH_SECONDS.time():
            found = [rules.matcher.match(item.entry) for item in stored]
        return list(zip(found, self.desk.assign(stored, rules, seen_at), strict=True))

    async def __call__(
        self,
        *,
        feed_id: int,
        backlog: int,
        entries: Sequence[Entry],
        state: FeedState,
        title: str | None,
        polled_ok: bool,
        rules: Rules,
        notice: Notice | None = None,
    ) -> IngestResult:
        async with self.lock, self.engine.begin() as conn:
            first_poll = await is_first_poll(conn, feed_id)
            stored = await add_new_entries(conn, feed_id, entries)
            chosen = {id(entry) for entry in may_alert([s.entry for s in stored], backlog, first_poll)}
            eligible = {s.id for s in stored if id(s.entry) in chosen}
            analysed = await asyncio.to_thread(self._analyse, rules, stored, datetime.now(UTC))
            try:
                alerts = await self._alerts(conn, stored, analysed, eligible)
                await self.sink.enqueue(conn, alerts)
                if notice is not None:
                    await self.sink.notify(conn, notice)
                await save_state(conn, feed_id, state, title=title, polled_ok=polled_ok)
            except BaseException:
                self.desk.forget([item.id for item in stored])
                raise
        await self.sink.flush()
        NEW_ENTRIES.inc(len(stored))
        for alert in alerts:
            ALERTS.labels(alert.rule_id).inc()
        return IngestResult(new_entries=len(stored), alerts=tuple(alerts))

    async def _alerts(
        self,
        conn: AsyncConnection,
        stored: list[StoredEntry],
        analysed: list[tuple[list[Match], Assignment]],
        eligible: set[int],
    ) -> list[Alert]:
        for item, (_, assignment) in zip(stored, analysed, strict=True):
            await set_story(conn, item.id, assignment.story_id, assignment.copy_of)
        alerts: list[Alert] = []
        for item, (matches, assignment) in zip(stored, analysed, strict=True):
            if not matches:
                continue
            story = await load_story(conn, assignment.story_id, self.desk.settings)
            for match in matches:
                alert = await record_match(conn, item, match, raise_alert=item.id in eligible, story=story)
                if alert is not None and (not alert.update or (story and outlet_is_new(story, item.id))):
                    alerts.append(alert)
        return alerts


@dataclass(frozen=True, slots=True)
class NewItems:
    """What of a poll's entries goes to ingest: the unseen ones, at most `max_items` of them, newest first."""

    entries: list[Entry]
    backlog: int
    more_to_come: bool


class FeedPipeline:
    """Polls configured feeds by URL: the unit the scheduler runs, once per feed at a time.

    At most `max_items` new entries of a feed go to one ingest (which holds the one ingest lock), so a
    100,000-item feed takes its turn in slices while the other feeds' polls go on in between.
    """

    def __init__(
        self,
        engine: AsyncEngine,
        poller: Poller,
        rulebook: RuleBook,
        sink: Sink,
        feeds: dict[str, tuple[int, FeedConfig]],
        desk: StoryDesk,
        max_items: int = 200,
    ) -> None:
        self.engine = engine
        self.poller = poller
        self.rulebook = rulebook
        self.articles = ArticleFetcher(poller.fetcher)
        self.ingest = Ingest(engine, sink, desk)
        self.feeds = feeds
        self.max_items = max_items

    async def _new_items(self, feed_id: int, feed: FeedConfig, items: list[Entry]) -> NewItems:
        """The entries not stored yet, newest first when there are more than `max_items`.

        A first poll cut in slices keeps its `backlog` for the first slice (its newest entries): later
        slices, which find entries stored already, alert on none.
        """
        async with self.engine.connect() as conn:
            unseen = await unseen_entries(conn, feed_id, items)
            first_poll = await is_first_poll(conn, feed_id)
            continued = first_poll and await has_entries(conn, feed_id)
        backlog = 0 if continued else feed.backlog
        if len(unseen) <= self.max_items:
            return NewItems(unseen, backlog, more_to_come=False)
        newest = sorted(unseen, key=lambda e: e.published or _OLDEST, reverse=True)[: self.max_items]
        return NewItems(newest, backlog, more_to_come=True)

    async def _with_full_text(self, feed_id: int, backlog: int, unseen: list[Entry]) -> list[Entry]:
        """New entries, those that may alert enriched with their article's main text.

        On a feed's first poll only its newest `backlog` entries can alert, so only theirs are fetched
        (a new feed never sets off a burst of page fetches).
        """
        async with self.engine.connect() as conn:
            first_poll = await is_first_poll(conn, feed_id)
        wanted = may_alert(unseen, backlog, first_poll)
        fetched = await asyncio.gather(*(self.articles.enrich(entry) for entry in wanted))
        enriched = {id(entry): full for entry, full in zip(wanted, fetched, strict=True)}
        return [enriched.get(id(entry), entry) for entry in unseen]

    async def poll(self, url: str) -> FeedPollReport:
        feed_id, feed = self.feeds[url]
        state = await load_state(self.engine, url)
        outcome = await poll_feed(state, self.poller)
        POLLS.labels(outcome.status.value).inc()
        if outcome.error:
            FEED_ERRORS.inc()
            log.warning("feed %s (%s): %s", state.name, url, outcome.error)
        if outcome.skipped:
            shown = "; ".join(outcome.skipped[:3]) + ("; ..." if len(outcome.skipped) > 3 else "")
            log.warning("feed %s (%s): %d items skipped: %s", state.name, url, len(outcome.skipped), shown)
        notice = None
        if outcome.notice:
            log.warning("%s", outcome.notice)
            notice = Notice(f"feed:{url}:{outcome.state.last_polled_at}", outcome.notice)
        new = NewItems([], feed.backlog, more_to_come=False)
        if outcome.entries:
            new = await self._new_items(feed_id, feed, outcome.entries)
        if new.more_to_come:
            outcome = more_to_come(outcome, self.poller)
            log.info("%s: %d new entries now, the rest in the next polls", state.name, len(new.entries))
        items = new.entries
        if feed.fulltext and items:
            items = await self._with_full_text(feed_id, new.backlog, items)
        result = await self.ingest(
            feed_id=feed_id,
            backlog=new.backlog,
            entries=items,
            state=outcome.state,
            title=outcome.title,
            # A first poll taken in slices stays a first poll until its last slice.
            polled_ok=outcome.error is None and not new.more_to_come,
            rules=self.rulebook.current,
            notice=notice,
        )
        if result.new_entries:
            log.info("%s: %d new entries, %d alerts", state.name, result.new_entries, len(result.alerts))
        return FeedPollReport(feed, outcome, result)

    async def poll_isolated(self, url: str) -> FeedPollReport:
        """`poll`, with anything unexpected (a bug, a database error) reported as this feed's failure in one
        sentence instead of ending every other feed's poll too."""
        try:
            return await self.poll(url)
        except Exception as error:
            message = describe_error(error)
            log.error("feed %s: %s", url, message, exc_info=log.isEnabledFor(logging.DEBUG))
            feed = self.feeds[url][1]
            state = FeedState(url=url, name=feed.name or url, next_poll_at=datetime.now(UTC) + RETRY_AFTER_FAILURE)
            outcome = PollOutcome(state, PollStatus.FAILED, error=message)
            return FeedPollReport(feed, outcome, IngestResult(0, ()))

    async def poll_and_reschedule(self, url: str) -> datetime:
        """The scheduler's job: poll, then say when to poll again."""
        report = await self.poll_isolated(url)
        return report.outcome.state.next_poll_at or datetime.now(UTC)
