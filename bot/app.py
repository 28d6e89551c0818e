"""Composition: the runtime (database, rules, feeds, fetcher, parse workers, story desk), the sinks and their
senders, and one poll cycle of every feed (`poll --once`).

Everything here builds parts from the config and starts or stops them; the work itself lives in the stage
packages. The long-running daemon that uses these parts is bot/daemon.py.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.config import Config
from bot.deliver.apprise import AppriseSink
from bot.deliver.console import ConsoleSink
from bot.deliver.jsonl import JsonLinesSink
from bot.deliver.sink import FanOut, Sink
from bot.deliver.telegram_sink import TelegramSink
from bot.feeds.register import FeedRoster, register_feeds
from bot.fetch.http import Fetcher, FetchLimits
from bot.fetch.limits import HostLimiter, spread_due
from bot.fetch.policy import PollPolicy
from bot.fetch.poll import ParsePool, Poller
from bot.ingest.batch import Ingest, PolledFeed
from bot.ingest.desk import StoryDesk
from bot.ingest.pipeline import FeedFetch, FeedPipeline, FeedPollReport, RegisteredFeed
from bot.model import FeedState
from bot.parse.urls import DropParams
from bot.rulebook.book import RuleBook
from bot.store.db import DatabaseError, open_database
from bot.store.locks import Lock, RoleSession
from bot.store.single import only_process
from bot.trends.spike_check import SpikeCheck

log = logging.getLogger(__name__)


def fetch_limits(config: Config) -> FetchLimits:
    polling = config.polling
    return FetchLimits(
        connect_timeout=polling.connect_timeout.total_seconds(),
        read_timeout=polling.read_timeout.total_seconds(),
        total_timeout=polling.total_timeout.total_seconds(),
        max_bytes=polling.max_bytes,
        max_redirects=polling.max_redirects,
    )


def poll_policy(config: Config) -> PollPolicy:
    polling = config.polling
    return PollPolicy(
        min_interval=polling.min_interval,
        max_interval=polling.max_interval,
        notice_after=polling.outage_notice_after,
    )


@dataclass
class Runtime:
    """The long-lived parts one process shares: store, rules, fetching feeds and where alerts go; `config`
    and `roster` (the configured feeds as stored) follow edits of the config while `run` runs."""

    config: Config
    engine: AsyncEngine
    rulebook: RuleBook
    fetch: FeedFetch
    sink: Sink
    roster: FeedRoster

    @property
    def shared(self) -> bool:
        """Whether processes may share the database (PostgreSQL), each fetching the feeds it claims."""
        return self.engine.dialect.name == "postgresql"


@asynccontextmanager
async def open_runtime(config: Config, sink: Sink, *, parse_in_processes: bool = True) -> AsyncIterator[Runtime]:
    """Open the database, load rules, register feeds, and close it all again on exit.

    On SQLite this process must be the only one polling into the file (store/single.py).
    """
    with only_process(config.database_url):
        async with _runtime(config, sink, parse_in_processes) as runtime:
            yield runtime


@asynccontextmanager
async def _runtime(config: Config, sink: Sink, parse_in_processes: bool) -> AsyncIterator[Runtime]:
    engine = await open_database(config.database_url)
    try:
        rulebook = RuleBook.load(config.rules_dir)
        roster = await register_feeds(engine, config.feeds, poll_policy(config), clock.now())
        feeds = {feed.url: RegisteredFeed(roster.ids[feed.url], feed) for feed in config.feeds}
        limiter = HostLimiter(config.polling.concurrency, config.polling.per_host)
        with ParsePool(processes=parse_in_processes) as parser:
            async with Fetcher(fetch_limits(config), limiter) as fetcher:
                poller = Poller(
                    fetcher, parser, poll_policy(config), jitter=config.polling.jitter,
                    links=DropParams.of(config.links.drop_params),
                )
                fetch = FeedFetch(
                    engine, poller, feeds, config.polling.concurrency, max_items=config.polling.max_items_per_poll
                )
                yield Runtime(config, engine, rulebook, fetch, sink, roster)
    finally:
        await engine.dispose()


def spike_check(runtime: Runtime) -> SpikeCheck:
    """What runs after each filed batch: the spike check of the topics it matched."""
    return SpikeCheck(runtime.engine, runtime.sink, runtime.config.spikes, runtime.config.stories)


async def open_pipeline(runtime: Runtime) -> FeedPipeline:
    """The pipeline of a process that files what it fetches itself (SQLite, `poll --once`), with the story
    index restored from the store."""
    desk = await StoryDesk.open(runtime.config.stories)
    await desk.restore(runtime.engine, runtime.rulebook.current)
    ingest = Ingest(runtime.engine, runtime.sink, desk, after=spike_check(runtime))
    return FeedPipeline(runtime.fetch, runtime.rulebook, ingest)


@asynccontextmanager
async def filing_alone(runtime: Runtime) -> AsyncIterator[None]:
    """For `poll --once`, which files what it fetches itself: on PostgreSQL, hold the ingest role meanwhile,
    and refuse to start while another process holds it."""
    if not runtime.shared:
        yield
        return
    session = await RoleSession.open(runtime.engine, idle_timeout=None)
    try:
        if not await session.try_take(Lock.INGEST):
            raise DatabaseError(
                "another newsbot (a `run` or `poll` process) holds the ingest role on this database; "
                "`poll --once` files what it fetches itself, so stop the others first"
            )
        yield
    finally:
        await session.close()


async def poll_all_once(pipeline: FeedPipeline, on_done: Callable[[], None] | None = None) -> list[FeedPollReport]:
    """One poll of every configured feed, concurrently within the fetcher's limits, stored as one batch:
    the cycle's stories do not depend on the order in which the feeds answered."""

    async def one(url: str) -> PolledFeed | FeedPollReport:
        polled = await pipeline.fetch_isolated(url)
        if on_done is not None:
            on_done()
        return polled

    fetched = await asyncio.gather(*(one(url) for url in pipeline.fetching.feeds))
    failed = [item for item in fetched if isinstance(item, FeedPollReport)]
    stored = await pipeline.store([item for item in fetched if not isinstance(item, FeedPollReport)])
    return failed + stored


def due_times(states: dict[str, FeedState], urls: Iterable[str]) -> list[tuple[FeedState, datetime]]:
    """When each of these feeds is due: as planned, those due by now spread so thousands never start at once
    (a handful start at once)."""
    now = clock.now()
    due = spread_due(((url, states[url].next_poll_at or now) for url in urls), now)
    return [(states[url], when) for url, when in due]


@dataclass(frozen=True)
class Delivery:
    """Where a command's alerts go: one sink for the pipeline, and the parts the senders drive."""

    sink: Sink
    telegram: TelegramSink | None
    apprise: AppriseSink


def print_sink(as_json: bool) -> Sink:
    return JsonLinesSink() if as_json else ConsoleSink()


def delivery(config: Config, printer: Sink | None) -> Delivery:
    """Telegram's outbox when there is a token, Apprise channels, and `printer` (always used without a token)."""
    apprise = AppriseSink(config.apprise)
    telegram = None
    if config.telegram.enabled:
        telegram = TelegramSink(config.stories.edit_window, config.telegram.allowed_chats, config.telegram.admins)
    if printer is None and telegram is None:
        printer = ConsoleSink()
    sinks = [sink for sink in (printer, telegram, apprise) if sink is not None]
    return Delivery(FanOut(*sinks), telegram, apprise)


async def poll_once(config: Config, sink: Sink, on_done: Callable[[], None] | None = None) -> list[FeedPollReport]:
    """One poll cycle of every configured feed (`poll --once`, the demo)."""
    async with open_runtime(config, sink) as runtime, filing_alone(runtime):
        return await poll_all_once(await open_pipeline(runtime), on_done)
