"""Several processes on one PostgreSQL database: every process fetches the feeds it claimed and hands their
new entries over; the one process holding the ingest role reads and files them.

A fetching process stores a poll's new entries as unfiled rows in the transaction that stores the feed's new
state (which ends its claim) and the notice the poll raised, so a poll is handed over whole or not at all.
The ingest holder reads the rows in order of arrival, reads each entry once (rules, story features,
credits) and files a batch in canonical order (ingest/batch.py) in one transaction that also deletes the
rows: a holder that dies mid-batch leaves all of it to the next holder, which rebuilds the story index
from the store before it files anything.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.config import StoriesConfig
from bot.counts import plural
from bot.deliver.sink import Sink
from bot.ingest.analyse import analyse
from bot.ingest.batch import AfterFiling, Ingest, ToIngest, polled_ok
from bot.ingest.desk import StoryDesk
from bot.ingest.pipeline import FeedFetch, FetchedFeed
from bot.rulebook.book import RuleBook
from bot.store.claims import Claim, drop_claim
from bot.store.db import describe_error
from bot.store.feeds import save_state
from bot.store.locks import LostRole, file_in_turn, wait_for_filing
from bot.store.unfiled import Unfiled, filed_already, hand_over_entries, take_unfiled, unfiled_batch

log = logging.getLogger(__name__)


class LostClaim(Exception):
    """The poll took longer than its claim, and another process polls the feed now."""


async def hand_over(engine: AsyncEngine, sink: Sink, fetched: FetchedFeed, owner: str) -> None:
    """Store one poll's new entries for the ingest holder, with the feed's new state and the poll's notice."""
    outcome = fetched.outcome
    async with engine.begin() as conn:
        saved = await save_state(
            conn, fetched.feed_id, outcome.state, title=outcome.title,
            polled_ok=polled_ok(outcome, fetched.more_to_come), owner=owner,
        )  # fmt: skip
        if not saved:
            url = fetched.feed.url
            raise LostClaim(f"feed {url}: its claim ran out and another process polls it; this poll is dropped")
        await hand_over_entries(conn, fetched.feed_id, fetched.entries, fetched.alertable, clock.now())
        if fetched.notice is not None:
            await sink.notify(conn, fetched.notice)
    await sink.flush()
    if fetched.entries:
        log.info("%s: %s handed over", outcome.state.outlet, plural(len(fetched.entries), "new entry", "new entries"))


async def poll_claimed(fetch: FeedFetch, sink: Sink, owner: str, lease: timedelta, claim: Claim) -> None:
    """Poll a feed this process claimed and hand it over; a poll that fails unexpectedly ends its claim with
    the feed due again later, so one feed's failure is only its own."""
    engine = fetch.engine
    if claim.url not in fetch.feeds:
        log.warning(
            "feed %s is in the database's feed list but not in this process's config (processes must share one "
            "config); leaving it to the others", claim.url,
        )  # fmt: skip
        await drop_claim(engine, claim.feed_id, owner, clock.now() + lease)
        return
    try:
        fetched = await fetch(claim.url)
        await hand_over(engine, sink, fetched, owner)
        await fetch.edited_meanwhile(fetched.outcome.state)
    except LostClaim as lost:
        log.warning("%s", lost)
    except Exception as error:
        report = fetch.failure(claim.url, error)
        with contextlib.suppress(Exception):  # if the database is gone too, the claim runs out by itself
            await drop_claim(engine, claim.feed_id, owner, report.outcome.state.next_poll_at or clock.now())


async def file_while_held(
    engine: AsyncEngine, rulebook: RuleBook, sink: Sink, stories: StoriesConfig, holder: int, ended: asyncio.Event,
    after: AfterFiling | None = None,
) -> None:
    """The ingest role's work, until `ended`: rebuild the story index, then file (each batch followed by
    `after`, the spike check). If the rebuild fails (the database went away) the role is given up, and taken
    again by whichever process can."""
    try:
        filer = await Filer.open(engine, rulebook, sink, stories, holder, after)
    except Exception as error:
        log.warning("taking up the ingest role failed (%s); giving it up", describe_error(error))
        return
    await filer.run(ended)


class Filer:
    """Files handed-over entries while this process holds the ingest role."""

    def __init__(self, ingest: Ingest, rulebook: RuleBook, holder: int, batch: int = 1000, every: float = 0.5) -> None:
        self.ingest = ingest
        self.engine = ingest.engine
        self.rulebook = rulebook
        self.holder = holder
        self.batch = batch
        self.every = every

    @classmethod
    async def open(
        cls, engine: AsyncEngine, rulebook: RuleBook, sink: Sink, stories: StoriesConfig, holder: int,
        after: AfterFiling | None = None,
    ) -> Filer:
        """A filer for the session `holder` that just took the ingest role: once the previous holder's last
        filing has ended, the story index is rebuilt from the store."""
        started = time.perf_counter()
        await wait_for_filing(engine)
        desk = await StoryDesk.open(stories)
        restored = await desk.restore(engine, rulebook.current)
        log.info(
            "ingest role: story index rebuilt from %d stored entries in %.1f s; filing handed-over entries",
            restored, time.perf_counter() - started,
        )  # fmt: skip
        return cls(Ingest(engine, sink, desk, after), rulebook, holder)

    async def run(self, ended: asyncio.Event) -> None:
        """File what waits, then wait a moment, until `ended` is set or another process holds the role; a pass
        that fails (the database went away) is logged and the next one retries."""
        while not ended.is_set():
            try:
                filed = await self.file_waiting()
            except LostRole as lost:
                log.warning("%s; it stops filing", lost)
                return
            except Exception as error:
                log.warning("filing handed-over entries failed (%s); retrying", describe_error(error))
                filed = 0
            if not filed:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(ended.wait(), self.every)

    async def file_waiting(self) -> int:
        """File the oldest handed-over entries as one batch (a failing batch feed by feed, so one feed's failure
        is only its own); how many rows were taken."""
        waiting = await unfiled_batch(self.engine, self.batch)
        if not waiting:
            return 0
        try:
            await self._file(waiting)
        except LostRole:
            raise
        except Exception as error:
            by_feed: dict[int, list[Unfiled]] = defaultdict(list)
            for row in waiting:
                by_feed[row.feed_id].append(row)
            if len(by_feed) == 1:
                url = waiting[0].entry.feed_url
                log.error("filing %d entries of %s failed: %s", len(waiting), url, describe_error(error))
                return 0
            log.warning("filing %d handed-over entries together failed; filing them feed by feed", len(waiting))
            filed = 0
            for rows in by_feed.values():
                filed += await self._file_alone(rows)
            return filed
        return len(waiting)

    async def _file_alone(self, rows: list[Unfiled]) -> int:
        try:
            await self._file(rows)
        except LostRole:
            raise
        except Exception as error:
            log.error("filing %d entries of %s failed: %s", len(rows), rows[0].entry.feed_url, describe_error(error))
            return 0
        return len(rows)

    async def _file(self, rows: Sequence[Unfiled]) -> None:
        async with self.engine.connect() as conn:
            done = await filed_already(conn, rows)
        fresh = [row for row in rows if row.id not in done]
        items = await asyncio.to_thread(self._read, fresh)
        ids = [row.id for row in rows]

        async def take(conn: AsyncConnection) -> None:
            await file_in_turn(conn, self.holder)
            await take_unfiled(conn, ids)

        filed = await self.ingest.file(items, take)
        if fresh:
            alerts = sum(len(story.changes) for _, story in filed.stories)
            log.info("filed %s, %s", plural(len(fresh), "entry", "entries"), plural(alerts, "alert"))

    def _read(self, rows: Sequence[Unfiled]) -> list[ToIngest]:
        """Read each entry once, feed by feed (which entries may alert is decided per feed)."""
        rules = self.rulebook.current
        by_feed: dict[int, list[Unfiled]] = defaultdict(list)
        for row in rows:
            by_feed[row.feed_id].append(row)
        items = []
        for feed_rows in by_feed.values():
            alertable = {row.entry.key for row in feed_rows if row.may_alert}
            read = analyse(rules, self.ingest.desk, [row.entry for row in feed_rows], alertable)
            items += [
                ToIngest(0, row.feed_id, row.entry.feed_url, analysed, row.seen_at)
                for row, analysed in zip(feed_rows, read, strict=True)
            ]
        return items
