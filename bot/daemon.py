"""The daemon (`newsbot run`): the feed scheduler, following edits of the rules and the config, the Telegram
front kept up through outages, and, on PostgreSQL, this process's part among the others (claims and roles).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot import clock
from bot.app import Delivery, Runtime, due_times, open_pipeline, open_runtime, poll_policy, spike_check
from bot.chat.front import build_application
from bot.chat.runtime import ChatRuntime
from bot.cluster.claims import ClaimedPolls
from bot.cluster.member import Held, Member, Role
from bot.config import Config, PollingConfig
from bot.counts import plural
from bot.deliver.apprise import AppriseSender
from bot.deliver.pacing import Pacer
from bot.deliver.runner import running
from bot.deliver.telegram_sender import OUTBOX_PACE, TelegramSender, outbox_bot
from bot.deliver.telegram_sink import TelegramSink
from bot.feeds.register import register_feeds
from bot.feeds.watch import watch_config
from bot.fetch.schedule import FeedScheduler
from bot.ingest.handover import file_while_held, poll_claimed
from bot.ingest.pipeline import FeedPipeline, RegisteredFeed
from bot.metrics import serve_metrics
from bot.model import Notice
from bot.status.schedule import schedule_lines
from bot.store.db import describe_error
from bot.store.locks import Lock

log = logging.getLogger(__name__)

RETRY_FIRST, RETRY_MAX = 2.0, 300.0
"""Seconds before retrying an unreachable Bot API: doubling from the first to the most."""
LIVE_POLLING = frozenset({"min_interval", "max_interval", "jitter", "outage_notice_after", "max_items_per_poll"})
"""The `polling` keys an edit of the config changes while running; the others (and the sections other than
`feeds`, `feeds_file` and `polling`) need a restart."""


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


async def apply_config(runtime: Runtime, scheduler: FeedScheduler | None, config: Config) -> None:
    """Make an edited config count at once: feeds added, removed or changed, and the live polling keys. On
    PostgreSQL (no `scheduler`) the feeds' new next polls are in the database, where the processes claim them."""
    old = runtime.config
    policy = poll_policy(config)
    roster = await register_feeds(runtime.engine, config.feeds, policy, clock.now())
    fetch = runtime.fetch
    fetch.poller.policy, fetch.poller.jitter = policy, config.polling.jitter
    fetch.max_items = config.polling.max_items_per_poll
    fetch.feeds = {feed.url: RegisteredFeed(roster.ids[feed.url], feed) for feed in config.feeds}
    before = {feed.url: feed for feed in old.feeds}
    removed = [url for url in before if url not in roster.ids]
    moved = due_times(roster.states, [url for url in roster.ids if url in roster.replanned])
    if scheduler is not None:
        for url in removed:
            scheduler.remove(url)
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


async def follow_config(runtime: Runtime, scheduler: FeedScheduler | None, stop: asyncio.Event) -> None:
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


async def run_scheduler(runtime: Runtime, pipeline: FeedPipeline, stop: asyncio.Event) -> None:
    """Poll every feed on its own schedule, and follow edits of the config and the rule files, until `stop`
    is set."""
    scheduler = FeedScheduler(pipeline.poll_and_reschedule)
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


async def deliver(runtime: Runtime, delivery: Delivery, front: bool, ended: asyncio.Event) -> None:
    """Send the Apprise channels' outbox and, with `front` and a token, Telegram's (and answer its commands),
    until `ended` is set."""
    config = runtime.config
    channels = [AppriseSender(runtime.engine, config.apprise, delivery.apprise.queued)] if config.apprise else []
    async with running(channels):
        if front and delivery.telegram is not None:
            await keep_front_up(runtime, delivery.telegram, ended)
        else:
            await ended.wait()


async def run_daemon(config: Config, delivery: Delivery, *, front: bool) -> None:
    """Poll on schedule until SIGINT/SIGTERM; with `front` and a token, run the Telegram front on the same loop.
    On PostgreSQL the process shares the work with the others on the database (`run_member`)."""
    if config.metrics_port is not None:
        serve_metrics(config.metrics_port)
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with open_runtime(config, delivery.sink) as runtime:
        if runtime.shared:
            await run_member(runtime, delivery, front=front, stop=stop)
        else:
            await run_alone(runtime, delivery, front=front, stop=stop)


async def run_alone(runtime: Runtime, delivery: Delivery, *, front: bool, stop: asyncio.Event) -> None:
    """The one process on a SQLite file: it polls every feed, files what they bring, and delivers."""
    pipeline = await open_pipeline(runtime)
    delivering = asyncio.create_task(deliver(runtime, delivery, front, stop), name="deliver")
    delivering.add_done_callback(lambda _task: stop.set())  # a refused token ends the daemon
    try:
        await run_scheduler(runtime, pipeline, stop)
    finally:
        stop.set()
        await delivering


async def run_member(runtime: Runtime, delivery: Delivery, *, front: bool, stop: asyncio.Event) -> None:
    """One of the processes on a PostgreSQL database: it polls the due feeds it claims and hands what they
    bring over; it files all of it while it holds the ingest role, and (with `front`) delivers while it holds
    the delivery role, each role taken when no other process holds it."""
    config = runtime.config

    async def ingest(held: Held) -> None:
        await file_while_held(
            runtime.engine, runtime.rulebook, runtime.sink, config.stories, held.holder, held.ended,
            after=spike_check(runtime),
        )  # fmt: skip

    async def delivering(held: Held) -> None:
        await deliver(runtime, delivery, front, held.ended)

    roles = [Role("ingest", Lock.INGEST, ingest)]
    if front:
        roles.append(Role("delivery", Lock.DELIVERY, delivering))
    member = Member(runtime.engine, config.cluster, roles)
    poll = partial(poll_claimed, runtime.fetch, runtime.sink, member.id, config.cluster.lease)
    claims = ClaimedPolls(runtime.engine, member.id, config.cluster.lease, config.polling.concurrency, poll)
    claiming = asyncio.create_task(claims.run(stop), name="claims")
    rules = asyncio.create_task(follow_rules(runtime, stop), name="rules-watch")
    edits = asyncio.create_task(follow_config(runtime, None, stop), name="config-watch")
    states = runtime.roster.states.values()
    log.info(
        "polling %s with the other processes on this database (this one is %s); edits of the config and rules "
        "take effect at once; stop with Ctrl-C", plural(len(states), "feed"), member.id,
    )  # fmt: skip
    for line in schedule_lines([(state, state.next_poll_at) for state in states if state.next_poll_at], clock.now()):
        log.info("  %s", line)
    try:
        await member.run(stop)
    finally:
        stop.set()
        await claiming
        await member.leave()
        await rules
        await edits
