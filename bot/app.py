"""Composition: the runtime (database, rules, feeds, fetcher, parse workers, the pipeline), the sinks and
their senders, and one poll cycle of every feed (`poll --once`).

Everything here builds parts from the config and starts or stops them; the way an entry goes is
bot/ingest/pipeline.py, and the long-running daemon that drives it is bot/daemon.py.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

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
from bot.fetch.limits import HostLimiter
from bot.fetch.parse_pool import ParsePool
from bot.fetch.poll import Poller
from bot.fetch.poll_policy import PollPolicy
from bot.ingest.new_entries import FeedFetch, RegisteredFeed
from bot.ingest.pipeline import FeedPollReport, Pipeline
from bot.parse.urls import DropParams
from bot.rulebook.book import RuleBook
from bot.store.db import only_process, open_database
from bot.trends.spike_check import SpikeCheck


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
        jitter=polling.jitter,
    )


@dataclass
class Runtime:
    """The long-lived parts one process shares: store, rules, the pipeline and where alerts go; `config` and
    `roster` (the configured feeds as stored) follow edits of the config while `run` runs."""

    config: Config
    engine: AsyncEngine
    rulebook: RuleBook
    pipeline: Pipeline
    sink: Sink
    roster: FeedRoster

    @property
    def fetch(self) -> FeedFetch:
        return self.pipeline.fetch

    @property
    def shared(self) -> bool:
        """Whether processes may share the database (PostgreSQL), each polling the feeds it claims."""
        return self.engine.dialect.name == "postgresql"


def registered(config: Config, roster: FeedRoster) -> dict[str, RegisteredFeed]:
    """The configured feeds by URL, with their ids in the store."""
    return {feed.url: RegisteredFeed(roster.ids[feed.url], feed) for feed in config.feeds}


def _telegram_sinks(sink: Sink) -> list[TelegramSink]:
    """The Telegram sinks among `sink`'s parts (they learn the rules in force: a rule's `chats:` narrows who
    gets its alerts)."""
    parts = sink.sinks if isinstance(sink, FanOut) else (sink,)
    return [part for part in parts if isinstance(part, TelegramSink)]


@asynccontextmanager
async def open_runtime(config: Config, sink: Sink, *, parse_in_processes: bool = True) -> AsyncIterator[Runtime]:
    """Open the database, load rules, register feeds, and close it all again on exit. On SQLite this process
    must be the only one on the file (store/locks.py)."""
    with only_process(config.database_url):
        engine = await open_database(config.database_url)
        try:
            rulebook = RuleBook.load(config.rules_dir)
            for telegram in _telegram_sinks(sink):
                telegram.rules = lambda: rulebook.current.ruleset.rules
            roster = await register_feeds(engine, config.feeds, poll_policy(config), clock.now())
            limiter = HostLimiter(config.polling.concurrency, config.polling.per_host)
            with ParsePool(processes=parse_in_processes) as parser:
                async with Fetcher(fetch_limits(config), limiter) as fetcher:
                    poller = Poller(fetcher, parser, poll_policy(config), links=DropParams.of(config.links.drop_params))
                    fetch = FeedFetch(
                        engine, poller, registered(config, roster), config.polling.concurrency,
                        max_items=config.polling.max_items_per_poll,
                    )  # fmt: skip
                    spikes = SpikeCheck(engine, sink, config.spikes, config.stories)
                    pipeline = Pipeline(
                        engine, fetch, rulebook, sink, config.stories, uuid.uuid4().hex[:12], config.cluster.lease,
                        after_filing=spikes,
                    )
                    yield Runtime(config, engine, rulebook, pipeline, sink, roster)
        finally:
            await engine.dispose()


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
    async with open_runtime(config, sink) as runtime:
        return await runtime.pipeline.poll_once(on_done)
