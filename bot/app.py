"""All composition: one event loop with the feed scheduler, the sinks and their senders, and (with a token)
the Telegram front; the runtime a one-off poll uses.

Everything here builds parts from the config and starts or stops them; the work itself lives in the
stage packages, and the command line (cli.py) only parses arguments and prints.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot import clock
from bot.chat.front import build_application
from bot.chat.runtime import ChatRuntime
from bot.config import Config, PollingConfig
from bot.counts import plural
from bot.deliver.apprise import AppriseSender, AppriseSink
from bot.deliver.console import ConsoleSink
from bot.deliver.jsonl import JsonLinesSink
from bot.deliver.pacing import Pacer
from bot.deliver.runner import running
from bot.deliver.sink import FanOut, Sink
from bot.deliver.telegram_sender import OUTBOX_PACE, TelegramSender, outbox_bot
from bot.deliver.telegram_sink import TelegramSink
from bot.feeds.register import FeedRoster, register_feeds
from bot.feeds.watch import watch_config
from bot.fetch.http import Fetcher, FetchLimits
from bot.fetch.limits import HostLimiter, spread_due
from bot.fetch.policy import PollPolicy
from bot.fetch.poll import ParsePool, Poller
from bot.fetch.schedule import FeedScheduler
from bot.ingest.batch import Ingest, PolledFeed
from bot.ingest.desk import StoryDesk
from bot.ingest.pipeline import FeedPipeline, FeedPollReport, RegisteredFeed
from bot.metrics import serve_metrics
from bot.model import FeedState, Notice
from bot.parse.urls import DropParams
from bot.rulebook.book import RuleBook
from bot.status.schedule import schedule_lines
from bot.store.db import describe_error, open_database
from bot.store.single import only_process

log = logging.getLogger(__name__)

RETRY_FIRST, RETRY_MAX = 2.0, 300.0
"""Seconds before retrying an unreachable Bot API: doubling from the first to the most."""
LIVE_POLLING = frozenset({"min_interval", "max_interval", "jitter", "outage_notice_after", "max_items_per_poll"})
"""The `polling` keys an edit of the config changes while running; the others (and the sections other than
`feeds`, `feeds_file` and `polling`) need a restart."""


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
    """The long-lived parts one process shares: store, rules, the feed pipeline and where alerts go; `config`
    and `roster` (the configured feeds as stored) follow edits of the config while `run` runs."""

    config: Config
    engine: AsyncEngine
    rulebook: RuleBook
    pipeline: FeedPipeline
    sink: Sink
    roster: FeedRoster


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
                desk = await StoryDesk.open(config.stories)
                await desk.restore(engine, rulebook.current)
                ingest = Ingest(engine, sink, desk)
                pipeline = FeedPipeline(
                    engine, poller, rulebook, ingest, feeds, config.polling.concurrency,
                    max_items=config.polling.max_items_per_poll,
                )
                yield Runtime(config, engine, rulebook, pipeline, sink, roster)
    finally:
        await engine.dispose()


async def poll_all_once(runtime: Runtime, on_done: Callable[[], None] | None = None) -> list[FeedPollReport]:
    """One poll of every configured feed, concurrently within the fetcher's limits, stored as one batch:
    the cycle's stories do not depend on the order in which the feeds answered."""

    async def one(url: str) -> PolledFeed | FeedPollReport:
        polled = await runtime.pipeline.fetch_isolated(url)
        if on_done is not None:
            on_done()
        return polled

    fetched = await asyncio.gather(*(one(feed.url) for feed in runtime.config.feeds))
    failed = [item for item in fetched if isinstance(item, FeedPollReport)]
    stored = await runtime.pipeline.store([item for item in fetched if not isinstance(item, FeedPollReport)])
    return failed + stored


def due_times(states: dict[str, FeedState], urls: Iterable[str]) -> list[tuple[FeedState, datetime]]:
    """When each of these feeds is due: as planned, those due by now spread so thousands never start at once
    (a handful start at once)."""
    now = clock.now()
    due = spread_due(((url, states[url].next_poll_at or now) for url in urls), now)
    return [(states[url], when) for url, when in due]


def stop_on_signals(stop: asyncio.Event) -> None:
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)


async def announce(runtime: Runtime, notice: Notice) -> None:
    """Tell the operators something, through the same sinks and outbox as alerts."""
    async with runtime.engine.begin() as conn:
        await runtime.sink.notify(conn, notice)
    await runtime.sink.flush()


async def follow_rules(runtime: Runtime, stop: asyncio.Event) -> None:
    """Apply edits of the rule files as they happen; problems and likely mistakes an edit brought are announced
    to the operators."""
    async for reload in runtime.rulebook.follow(stop):
        if reload.new_errors or reload.new_warnings:
            problems = "\n".join(str(found) for found in (*reload.new_errors, *reload.new_warnings))
            digest = hashlib.sha256(problems.encode()).hexdigest()[:16]
            await announce(runtime, Notice(f"rules:{digest}", f"A rule edit has problems:\n{problems}"))


def _needs_restart(old: Config, new: Config) -> list[str]:
    """The keys an edit changed that only a restart applies."""
    keys = [key for key in Config.model_fields if key not in ("feeds", "feeds_file", "polling")]
    changed = [key for key in keys if getattr(old, key) != getattr(new, key)]
    polling = [key for key in PollingConfig.model_fields if key not in LIVE_POLLING]
    return changed + [f"polling.{key}" for key in polling if getattr(old.polling, key) != getattr(new.polling, key)]


async def apply_config(runtime: Runtime, scheduler: FeedScheduler, config: Config) -> None:
    """Make an edited config count at once: feeds added, removed or changed, and the live polling keys."""
    old = runtime.config
    policy = poll_policy(config)
    roster = await register_feeds(runtime.engine, config.feeds, policy, clock.now())
    pipeline = runtime.pipeline
    pipeline.poller.policy, pipeline.poller.jitter = policy, config.polling.jitter
    pipeline.max_items = config.polling.max_items_per_poll
    pipeline.feeds = {feed.url: RegisteredFeed(roster.ids[feed.url], feed) for feed in config.feeds}
    before = {feed.url: feed for feed in old.feeds}
    removed = [url for url in before if url not in roster.ids]
    for url in removed:
        scheduler.remove(url)
    moved = due_times(roster.states, [url for url in roster.ids if url in roster.replanned])
    for state, when in moved:
        scheduler.set_due(state.url, when)
    runtime.config, runtime.roster = config, roster
    added = [url for url in roster.ids if url not in before]
    edited = [feed for feed in config.feeds if feed.url in before and before[feed.url] != feed]
    log.info(
        "%s reloaded; feeds polled: %d, added: %d, removed: %d, changed: %d",
        config.config_file, len(roster.ids), len(added), len(removed), len(edited),
    )  # fmt: skip
    for line in schedule_lines(moved, clock.now()):
        log.info("  %s", line)
    if restart := _needs_restart(old, config):
        log.warning("%s: a restart applies the edits of %s", config.config_file, ", ".join(restart))


async def follow_config(runtime: Runtime, scheduler: FeedScheduler, stop: asyncio.Event) -> None:
    """Apply edits of the config and feeds files as they happen; a bad edit is reported (file:line) to the log
    and the operators, and the running config stays."""
    async for edit in watch_config(runtime.config, stop_event=stop):
        if edit.config is None:
            log.error("%s; the running config stays", edit.error)
            digest = hashlib.sha256(str(edit.error).encode()).hexdigest()[:16]
            await announce(runtime, Notice(f"config:{digest}", f"A config edit has problems: {edit.error}"))
            continue
        try:
            await apply_config(runtime, scheduler, edit.config)
        except Exception as error:  # the database, say: this edit fails, and the next ones are still followed
            log.error("%s: the edit was not applied: %s", edit.config.config_file, describe_error(error))


async def run_scheduler(runtime: Runtime, stop: asyncio.Event) -> None:
    """Poll every feed on its own schedule, and follow edits of the config and the rule files, until `stop`
    is set."""
    scheduler = FeedScheduler(runtime.pipeline.poll_and_reschedule)
    due = due_times(runtime.roster.states, runtime.roster.ids)
    scheduler.start((state.url, when) for state, when in due)
    rules = asyncio.create_task(follow_rules(runtime, stop), name="rules-watch")
    edits = asyncio.create_task(follow_config(runtime, scheduler, stop), name="config-watch")
    files = [path.name for path in (runtime.config.config_file, runtime.config.feeds_file_path) if path]
    log.info(
        "polling %s; edits of %s take effect at once; stop with Ctrl-C",
        plural(len(due), "feed"), ", ".join([*files, runtime.config.rules_dir.name + "/"]),
    )  # fmt: skip
    for line in schedule_lines(due, clock.now()):
        log.info("  %s", line)
    try:
        await stop.wait()
    finally:
        scheduler.shutdown()
        await rules
        await edits


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
        return await poll_all_once(runtime, on_done)


@asynccontextmanager
async def telegram_front(runtime: ChatRuntime, telegram_sink: TelegramSink) -> AsyncIterator[None]:
    """Poll Telegram for commands, and drain the outbox with its own paced Bot, until the block exits."""
    application = build_application(runtime)
    bot = outbox_bot(runtime.config.telegram)
    sender = TelegramSender(bot, runtime.engine, Pacer(OUTBOX_PACE), bell=telegram_sink.queued)
    async with application, bot:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        log.info("Telegram front is up as @%s", application.bot.username)
        try:
            async with running([sender]):
                yield
        finally:
            await application.updater.stop()
            await application.stop()


async def keep_front_up(runtime: ChatRuntime, telegram_sink: TelegramSink, stop: asyncio.Event) -> None:
    """Run the Telegram front until `stop` is set. While the Bot API cannot be reached (at start or after the
    front went down), say so and retry with backoff; polling goes on meanwhile and alerts wait in the outbox.
    A token Telegram refuses is raised: no retry can fix it."""
    delay = RETRY_FIRST
    while not stop.is_set():
        try:
            async with telegram_front(runtime, telegram_sink):
                delay = RETRY_FIRST
                await stop.wait()
            return
        except InvalidToken:
            raise
        except NetworkError as error:  # TimedOut is a NetworkError too
            log.warning(
                "Telegram is unreachable (%s); polling goes on and alerts wait in the outbox; retrying in %.0f s",
                error.message,
                delay,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, RETRY_MAX)


async def run_daemon(config: Config, delivery: Delivery, *, front: bool) -> None:
    """Poll on schedule until SIGINT/SIGTERM; with `front` and a token, run the Telegram front on the same loop."""
    if config.metrics_port is not None:
        serve_metrics(config.metrics_port)
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with open_runtime(config, delivery.sink) as runtime:
        channels = [AppriseSender(runtime.engine, config.apprise, delivery.apprise.queued)] if config.apprise else []
        async with running(channels):
            if not front or delivery.telegram is None:
                await run_scheduler(runtime, stop)
                return
            telegram = asyncio.create_task(keep_front_up(runtime, delivery.telegram, stop), name="telegram")
            telegram.add_done_callback(lambda _task: stop.set())  # a refused token ends the daemon
            try:
                await run_scheduler(runtime, stop)
            finally:
                stop.set()
                await telegram
