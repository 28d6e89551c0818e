"""The way of every entry, in every mode and on either database: from a due feed to a sent message.

    poll   any process, for each feed it claimed (cluster/due_feeds.py): fetch and parse it (fetch/), keep
           its new entries (new_entries.py), store them unfiled with the feed's new state and the poll's
           notice, in one transaction that only a process still holding the feed's claim may commit
    file   the ingest role: read each waiting entry once (reading.py: rules, story features, credits), file
           the batch in canonical order under stories and raise alerts (filing.py), in one transaction that
           only the role's holder may commit
    tell   the delivery role: each story that alerted or grew, to every sink (telling.py): per chat a new
           message, an edit or nothing, queued in the outbox; the terminal prints
    send   the delivery role: the senders drain the outbox (deliver/), started by the daemon

SQLite is one process holding both roles; `poll --once` is one cycle of the same way (every feed polled,
then everything waiting filed and told); on PostgreSQL the processes share the feeds through claims and
the roles through locks (cluster/). Within a process each step rings the next one's bell; across processes
a role's loop also looks for waiting work every moment.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import timedelta

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot import clock
from bot.cluster.db_health import DatabaseHealth
from bot.cluster.member import DELIVERY, INGEST, Held, holding
from bot.config import StoriesConfig
from bot.counts import plural
from bot.deliver.sink import Sink
from bot.fetch.poll import PollStatus, failed_poll
from bot.ingest.filing import Filed, Filing, ReadRow
from bot.ingest.new_entries import FeedFetch, FetchedFeed
from bot.ingest.reading import read_entries
from bot.ingest.state_saves import StateSaves
from bot.ingest.story_window import StoryWindow
from bot.ingest.telling import tell_waiting
from bot.model import StoryAlert
from bot.rulebook.book import RuleBook, Rules
from bot.store.claims import Claim, claim_feeds, drop_claim
from bot.store.db import describe_error, failure_reason
from bot.store.feeds import PolledState, save_states
from bot.store.locks import Lock, LostRole, wait_for_step
from bot.store.unfiled import Unfiled, filed_already, hand_over_entries, take_unfiled, unfiled_batch, unfiled_count

log = logging.getLogger(__name__)

FILE_AT_ONCE = 2000
"""Waiting entries filed in one transaction, at most."""
SETTLE = 0.2
"""Seconds the filer waits after a bell, so polls that finish together are filed together."""
LOOK_EVERY = 0.5
"""Seconds between looks for waiting work from other processes."""
BACKOFF_MAX = 15.0
"""Seconds a failing role loop waits at most before trying again (doubling from LOOK_EVERY)."""


AfterFiling = Callable[[Mapping[str, str]], Awaitable[None]]
"""Called once a batch is filed, with the topics that matched it, by id with their titles."""


class LostClaim(Exception):
    """The poll took longer than its claim, and another process polls the feed now."""


@dataclass(frozen=True, slots=True)
class FeedPollReport:
    """One poll of one feed, for `poll --once`: its error if it failed, its new entries and how many of them
    were held back from alerting (a first poll alerts on the newest `backlog` only), and, once filed, the
    stories it alerted for or grew."""

    feed_url: str
    error: str | None = None
    new_entries: int = 0
    held_back: int = 0
    stories: tuple[StoryAlert, ...] = ()
    outlet: str = ""
    """The feed's outlet name after the poll (its site name once parsed), for the summary's sentences."""


@dataclass
class Pipeline:
    """One process's part of the way (see the module's docstring)."""

    engine: AsyncEngine
    fetch: FeedFetch
    rulebook: RuleBook
    sink: Sink
    stories: StoriesConfig
    owner: str
    lease: timedelta
    after_filing: AfterFiling | None = None
    """What runs once a batch is filed, with the topics that matched it (the spike check, bot/trends/)."""
    quiet: StateSaves = field(init=False)
    health: DatabaseHealth = field(init=False)
    """Whether the database takes this process's writes (polling pauses while it does not)."""
    waiting: asyncio.Event = field(default_factory=asyncio.Event)
    """Rung when entries were stored unfiled: the filer looks at once."""
    filed: asyncio.Event = field(default_factory=asyncio.Event)
    """Rung when filed stories wait to be told."""

    def __post_init__(self) -> None:
        self.quiet = StateSaves(self.engine, self.owner)
        self.health = DatabaseHealth(self.engine)

    # -- poll: any process, each feed it claimed ------------------------------------------------------

    async def poll(self, claim: Claim) -> FeedPollReport:
        """Poll a feed this process claimed and store what it brought for filing; a poll that fails
        unexpectedly (a bug, the database) is this feed's failure in one sentence, never another feed's."""
        if claim.url not in self.fetch.feeds:
            log.warning(
                "feed %s is in the database's feed list but not in this process's config (processes must share "
                "one config); leaving it to the others", claim.url,
            )  # fmt: skip
            await drop_claim(self.engine, claim.feed_id, self.owner, clock.now() + self.lease)
            return FeedPollReport(claim.url, "not in this process's config")
        try:
            fetched = await self.fetch(claim)
            await self._store_unfiled(fetched)
        except LostClaim as lost:
            log.warning("%s", lost)
            return FeedPollReport(claim.url, str(lost))
        except (DBAPIError, OSError) as error:
            # The database's failure, not the feed's: polling pauses, the feed stays due and claimed by this
            # process, which takes it back once the database works (cluster/db_health.py).
            await self.health.failed(error)
            return FeedPollReport(claim.url, describe_error(error))
        except Exception as error:
            return await self._failed(claim, error)
        log_poll(fetched)
        if fetched.entries:
            self.waiting.set()
        new = len(fetched.entries)
        outlet = fetched.outcome.state.outlet
        return FeedPollReport(claim.url, fetched.outcome.error, new, new - len(fetched.alertable), outlet=outlet)

    async def _store_unfiled(self, fetched: FetchedFeed) -> None:
        """The poll's new entries, the feed's new state and the poll's notice, in one transaction (a quiet poll
        with the other quiet polls ending about now); LostClaim (nothing stored) when another process took the
        feed meanwhile."""
        outcome = fetched.outcome
        polled = PolledState(fetched.feed_id, outcome.state, outcome.title, fetched.polled_ok)
        if not fetched.entries and fetched.notice is None:
            saved = await self.quiet.save(polled)
        else:
            async with self.engine.begin() as conn:
                saved = fetched.feed_id in await save_states(conn, [polled], self.owner)
                if saved:
                    await hand_over_entries(conn, fetched.feed_id, fetched.entries, fetched.alertable, clock.now())
                    if fetched.notice is not None:
                        await self.sink.notify(conn, fetched.notice)
            await self.sink.flush()
        if not saved:
            url = fetched.feed.url
            raise LostClaim(f"feed {url}: its claim ran out and another process polls it; this poll is dropped")

    async def _failed(self, claim: Claim, error: Exception) -> FeedPollReport:
        """Record an unexpected failure as the feed's error, so it backs off from its own interval like any
        failing feed; if even that cannot be stored, the claim runs out and the feed is due again."""
        message = describe_error(error)
        log.error("feed %s: %s", claim.url, message, exc_info=log.isEnabledFor(logging.DEBUG))
        try:
            state = failed_poll(claim.state, self.fetch.poller, message).state
            async with self.engine.begin() as conn:
                await save_states(conn, [PolledState(claim.feed_id, state)], self.owner)
        except Exception as again:
            log.warning("feed %s: its failure could not be stored either (%s)", claim.url, describe_error(again))
        return FeedPollReport(claim.url, message)

    # -- file: the ingest role ------------------------------------------------------------------------

    async def open_filing(self, held: Held | None = None) -> Filing:
        """Filing for a process that just took the ingest role `held` (None: the only process, in a test or a
        benchmark): once the previous holder's last filing has ended, the story window is restored from the
        store."""
        started = time.perf_counter()
        await wait_for_step(self.engine, Lock.INGEST, held.holder if held is not None else None)
        window = await StoryWindow.open(self.stories)
        restored = await window.restore(self.engine, self.rulebook.current)
        log.info(
            "ingest role: story window restored from %s in %.1f s",
            plural(restored, "stored entry", "stored entries"), time.perf_counter() - started,
        )  # fmt: skip
        return Filing(self.engine, window)

    async def file_while_held(self, held: Held) -> None:
        """The ingest role's work, until it ends: restore the window, then file what waits as it comes."""
        try:
            filing = await self.open_filing(held)
        except Exception as error:
            log.warning("taking up the ingest role failed (%s); giving it up", describe_error(error))
            return

        async def one_pass() -> int:
            return (await self.file_waiting(filing, held)).taken

        await _loop(held, self.waiting, one_pass, "filing", settle=SETTLE)

    async def file_waiting(self, filing: Filing, held: Held) -> Filed:
        """File the first waiting entries as one batch; if the batch fails, feed by feed, so one feed's
        failure is only its own (its entries wait for the next pass)."""
        waiting = await unfiled_batch(self.engine, FILE_AT_ONCE)
        if not waiting:
            return Filed.nothing()
        try:
            filed = await self._file(filing, held, waiting)
        except LostRole:
            raise
        except Exception as error:
            by_feed: dict[int, list[Unfiled]] = defaultdict(list)
            for row in waiting:
                by_feed[row.feed_id].append(row)
            if len(by_feed) == 1:
                raise
            log.warning(
                "filing %s together failed (%s); filing them feed by feed",
                plural(len(waiting), "waiting entry", "waiting entries"), describe_error(error),
            )  # fmt: skip
            filed = Filed.nothing()
            for rows in by_feed.values():
                try:
                    filed = filed.plus(await self._file(filing, held, rows))
                except LostRole:
                    raise
                except Exception as alone:
                    url, count = rows[0].entry.feed_url, plural(len(rows), "entry", "entries")
                    log.error("filing %s of %s failed: %s", count, url, describe_error(alone))
        self.filed.set()
        return filed

    async def _file(self, filing: Filing, held: Held, rows: Sequence[Unfiled]) -> Filed:
        async with self.engine.connect() as conn:
            done = await filed_already(conn, rows)
        fresh = [row for row in rows if row.id not in done]
        read = await asyncio.to_thread(_read, self.rulebook.current, filing.window, fresh)

        async def first(conn: AsyncConnection) -> None:
            await held.prove(conn)
            await take_unfiled(conn, [row.id for row in rows])

        filed = await filing.file(read, first, len(rows))
        log_filed(filed, {row.feed_id: row.entry.outlet for row in fresh})
        if self.after_filing is not None and filed.topics:
            await self.after_filing(filed.topics)
        return filed

    # -- tell: the delivery role ----------------------------------------------------------------------

    async def tell_while_held(self, held: Held) -> None:
        """Tell what was filed as it comes, until the delivery role ends."""
        await _loop(held, self.filed, lambda: self.tell_waiting(held), "telling")

    async def tell_waiting(self, held: Held) -> int:
        """Tell the stories waiting; how many were told."""
        return len((await tell_waiting(self.engine, self.sink, self.stories, held.prove)).stories)

    # -- one cycle: `poll --once` ---------------------------------------------------------------------

    async def poll_once(self, on_done: Callable[[], None] | None = None) -> list[FeedPollReport]:
        """One poll of every configured feed, then everything waiting filed and told: the way of the daemon,
        once. Holding both roles meanwhile (on PostgreSQL it refuses while another process holds one), it
        files the whole cycle in canonical order, so its stories do not depend on the order feeds answered."""
        async with holding(self.engine, [INGEST, DELIVERY]) as (ingest, delivery):
            ids = [registered.id for registered in self.fetch.feeds.values()]
            claims = await claim_feeds(self.engine, self.owner, ids, clock.now(), self.lease)

            async def one(claim: Claim) -> FeedPollReport:
                report = await self.poll(claim)
                if on_done is not None:
                    on_done()
                return report

            reports = await asyncio.gather(*(one(claim) for claim in claims))
            filed = Filed.nothing()
            if await unfiled_count(self.engine):  # a quiet cycle need not restore the story window
                filing = await self.open_filing(ingest)
                while (batch := await self.file_waiting(filing, ingest)).taken:
                    filed = filed.plus(batch)
            while await self.tell_waiting(delivery):
                pass
        return [_with_filed(report, filed, claim.feed_id) for report, claim in zip(reports, claims, strict=True)]


def _with_filed(report: FeedPollReport, filed: Filed, feed_id: int) -> FeedPollReport:
    _, stories = filed.of_feed(feed_id)
    return replace(report, stories=stories)


def _read(rules: Rules, window: StoryWindow, rows: Sequence[Unfiled]) -> list[ReadRow]:
    """Read each entry once, feed by feed (which entries may alert was decided per feed)."""
    by_feed: dict[int, list[Unfiled]] = defaultdict(list)
    for row in rows:
        by_feed[row.feed_id].append(row)
    items = []
    for feed_rows in by_feed.values():
        alertable = {row.entry.key for row in feed_rows if row.may_alert}
        read = read_entries(rules, window, [row.entry for row in feed_rows], alertable)
        items += [
            ReadRow(row.feed_id, row.entry.feed_url, entry, row.seen_at)
            for row, entry in zip(feed_rows, read, strict=True)
        ]
    return items


async def _loop(
    held: Held, bell: asyncio.Event, one_pass: Callable[[], Awaitable[int]], what: str, *, settle: float = 0.0
) -> None:
    """Run a role's passes until the role ends: again at once while they find work, else at the bell (after
    `settle`) or every LOOK_EVERY; a failing pass (the database went away) backs off, doubling to
    BACKOFF_MAX; LostRole ends the loop."""
    delay = LOOK_EVERY
    while not held.ended.is_set():
        bell.clear()
        try:
            done = await one_pass()
        except LostRole as lost:
            log.warning("%s; it stops %s", lost, what)
            return
        except MemoryError:
            raise  # the process can no longer work: it ends (cluster/unworkable.py)
        except Exception as error:
            log.warning("%s failed (%s); retrying in %.1f s", what, failure_reason(error), delay)
            await _wait(held.ended, delay)
            delay = min(delay * 2, BACKOFF_MAX)
            continue
        delay = LOOK_EVERY
        if done:
            continue
        await _wait(bell, LOOK_EVERY, held.ended)
        if settle and bell.is_set():
            await _wait(held.ended, settle)


async def _wait(event: asyncio.Event, timeout: float, *others: asyncio.Event) -> None:
    """Wait until `event` (or one of `others`) is set, at most `timeout` seconds."""
    waits = [asyncio.ensure_future(e.wait()) for e in (event, *others)]
    try:
        await asyncio.wait(waits, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiting in waits:
            waiting.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*waits, return_exceptions=True)


def log_poll(fetched: FetchedFeed) -> None:
    """One line per feed and poll: what was fetched, parsed and new, with the milliseconds of each stage; at
    INFO when the poll brought something new, else at DEBUG (`-v`). A failure was logged as a warning
    already. The numbers are also the record's fields (`--log-format json`)."""
    outcome = fetched.outcome
    level = logging.INFO if fetched.entries else logging.DEBUG
    if outcome.status is PollStatus.FAILED or not log.isEnabledFor(level):
        return
    fetch_ms = round((fetched.poll_seconds - outcome.parse_seconds) * 1000)
    fields: dict[str, object] = {
        "feed": outcome.state.outlet,
        "url": outcome.state.url,
        "status": outcome.status.value,
        "fetch_ms": fetch_ms,
    }
    if outcome.status is PollStatus.NOT_MODIFIED:
        parts = [f"304 not modified in {fetch_ms} ms"]
    elif outcome.status is PollStatus.UNCHANGED:
        parts = [f"fetched in {fetch_ms} ms", "body unchanged, parse skipped"]
    else:
        parsed, skipped, new = len(outcome.entries or ()), len(outcome.skipped), len(fetched.entries)
        parse_ms, pages_ms = round(outcome.parse_seconds * 1000), round(fetched.pages_seconds * 1000)
        held, backlog = new - len(fetched.alertable), fetched.feed.backlog
        parts = [
            f"fetched in {fetch_ms} ms",
            f"parsed {plural(parsed, 'entry', 'entries')} in {parse_ms} ms",
            *([f"{plural(skipped, 'item')} skipped"] if skipped else []),
            f"{new} new",
            *([f"{held} held back: a first poll alerts at most backlog ({backlog})"] if held else []),
            *([f"article pages in {pages_ms} ms"] if pages_ms else []),
        ]
        fields.update(
            parse_ms=parse_ms, parsed=parsed, skipped_items=skipped, new=new, held_back=held, pages_ms=pages_ms
        )
    log.log(level, "%s: %s", outcome.state.outlet, "; ".join(parts), extra=fields)


def log_filed(filed: Filed, outlets: dict[int, str]) -> None:
    """One line per feed of a filed batch: its entries filed, the matches and the alerts they raised; at INFO
    when they alerted, else at DEBUG (`-v`)."""
    for feed_id, count in filed.new_entries.items():
        _, stories = filed.of_feed(feed_id)
        alerts, matches = sum(len(story.changes) for story in stories), filed.matches[feed_id]
        outlet = outlets.get(feed_id, str(feed_id))
        fields = {"feed": outlet, "filed": count, "matched": matches, "alerted": alerts}
        level = logging.INFO if alerts else logging.DEBUG
        log.log(
            level, "%s: %s filed; %s; %s", outlet, plural(count, "entry", "entries"),
            plural(matches, "match", "matches"), plural(alerts, "alert"), extra=fields,
        )  # fmt: skip
