"""The daemon (`newsbot run`, and `poll` without `--once`): this process's part of the pipeline, kept going
until SIGINT or SIGTERM.

APScheduler runs the periodic jobs: claiming due feeds (each claimed feed is polled at once), and the
heartbeat, which takes the roles no process holds (on SQLite this process holds both at once). A role held
runs its work: `ingest` files what the polls stored, `delivery` tells the readers and sends (the outbox
senders and, with a token, the Telegram front, kept up through outages). Edits of the rules and the config
are followed as they happen. A stop lets in-flight polls finish for a few seconds, ends the roles' work
(the batch in hand, the message in hand), hands the claims back and says so.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from datetime import UTC, timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.interval import IntervalTrigger
from telegram import Update
from telegram.error import InvalidToken, NetworkError

from bot import clock
from bot.app import Delivery, Runtime, open_runtime, poll_policy, registered
from bot.chat.front import build_application
from bot.chat.runtime import ChatRuntime
from bot.cluster.db_health import Tell
from bot.cluster.due_feeds import CLAIM_EVERY, DueFeeds
from bot.cluster.member import DELIVERY, INGEST, Held, Member, Role
from bot.cluster.unworkable import Lifeline, give_up
from bot.config import Config, PollingConfig
from bot.counts import plural
from bot.deliver.apprise import AppriseSender
from bot.deliver.pacing import Pacer
from bot.deliver.runner import running
from bot.deliver.telegram_sender import OUTBOX_PACE, TelegramSender, outbox_bot
from bot.deliver.telegram_sink import TelegramSink
from bot.feeds.config_watch import watch_config
from bot.feeds.register import register_feeds
from bot.metrics import serve_metrics
from bot.model import Notice
from bot.status.schedule import schedule_lines
from bot.store.db import describe_error

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


class Jobs:
    """This process's periodic jobs on APScheduler. A run that would overlap the one before it is skipped
    quietly; a stop waits for a run in flight to end before the scheduler shuts down (APScheduler would
    cancel it, and log the cancellation as the job's failure)."""

    def __init__(self) -> None:
        self.scheduler = AsyncIOScheduler(timezone=UTC)
        self._running: dict[str, asyncio.Task[object]] = {}

    def every(self, interval: timedelta, name: str, job: Callable[[], Awaitable[object]]) -> None:
        async def run() -> None:
            task = asyncio.current_task()
            if name in self._running or task is None:
                return
            self._running[name] = task
            try:
                await job()
            except MemoryError:
                give_up("out of memory")
            finally:
                del self._running[name]

        # Two instances: the second returns at once while the first runs (APScheduler would warn of a skip).
        self.scheduler.add_job(
            run, IntervalTrigger(seconds=interval.total_seconds(), timezone=UTC), id=name, name=name,
            next_run_time=clock.now(), max_instances=2, coalesce=True, misfire_grace_time=None,
        )  # fmt: skip

    def start(self) -> None:
        self.scheduler.start()

    async def stop(self) -> None:
        if self.scheduler.running:
            self.scheduler.pause()
            await asyncio.gather(*self._running.values(), return_exceptions=True)
            self.scheduler.shutdown(wait=False)


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


async def apply_config(runtime: Runtime, config: Config) -> None:
    """Make an edited config count at once: feeds added, removed or changed, and the live polling keys. The
    feeds' new next polls are stored (feeds/register.py), where the claims take them."""
    old = runtime.config
    policy = poll_policy(config)
    roster = await register_feeds(runtime.engine, config.feeds, policy, clock.now())
    fetch = runtime.fetch
    fetch.poller.policy = policy
    fetch.max_items = config.polling.max_items_per_poll
    fetch.feeds = registered(config, roster)
    before = {feed.url: feed for feed in old.feeds}
    removed = [url for url in before if url not in roster.ids]
    moved = [(roster.states[url], roster.states[url].next_poll_at) for url in roster.ids if url in roster.replanned]
    runtime.config, runtime.roster = config, roster
    added = [url for url in roster.ids if url not in before]
    edited = [feed for feed in config.feeds if feed.url in before and before[feed.url] != feed]
    log.info(
        "%s reloaded; feeds polled: %d, added: %d, removed: %d, changed: %d",
        config.config_file, len(roster.ids), len(added), len(removed), len(edited),
    )  # fmt: skip
    for line in schedule_lines([(state, at) for state, at in moved if at is not None], clock.now()):
        log.info("  %s", line)
    if restart := _needs_restart(old, config):
        log.warning("%s: a restart applies the edits of %s", config.config_file, ", ".join(restart))


async def follow_config(runtime: Runtime, stop: asyncio.Event) -> None:
    """Apply edits of the config and feeds files as they happen; a bad edit is reported (file:line) to the log
    and the operators, and the running config stays."""
    async for edit in watch_config(runtime.config, stop_event=stop):
        if edit.config is None:
            log.error("%s; the running config stays", edit.error)
            digest = hashlib.sha256(str(edit.error).encode()).hexdigest()[:16]
            await announce(runtime, Notice(f"config:{digest}", f"A config edit has problems: {edit.error}"))
            continue
        try:
            await apply_config(runtime, edit.config)
        except Exception as error:  # the database, say: this edit fails, and the next ones are still followed
            log.error("%s: the edit was not applied: %s", edit.config.config_file, describe_error(error))


@asynccontextmanager
async def telegram_front(runtime: ChatRuntime, telegram_sink: TelegramSink, held: Held) -> AsyncIterator[None]:
    """Poll Telegram for commands, and drain the outbox with its own paced Bot (each send proving the delivery
    role `held`), until the block exits."""
    application = build_application(runtime)
    bot = outbox_bot(runtime.config.telegram)
    sender = TelegramSender(bot, runtime.engine, Pacer(OUTBOX_PACE), bell=telegram_sink.queued, fence=held.fence)
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


async def keep_front_up(runtime: ChatRuntime, telegram_sink: TelegramSink, held: Held) -> None:
    """Run the Telegram front until `stop` is set. While the Bot API cannot be reached (at start or after the
    front went down), say so and retry with backoff; polling goes on meanwhile and alerts wait in the outbox.
    A token Telegram refuses is raised: no retry can fix it."""
    delay = RETRY_FIRST
    stop = held.ended
    while not stop.is_set():
        try:
            async with telegram_front(runtime, telegram_sink, held):
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


async def send(runtime: Runtime, delivery: Delivery, front: bool, held: Held) -> None:
    """Send the Apprise channels' outbox and, with `front` and a token, Telegram's (and answer its commands),
    until the delivery role `held` ends; each send proves the role first."""
    config = runtime.config
    channels = (
        [AppriseSender(runtime.engine, config.apprise, delivery.apprise.queued, fence=held.fence)]
        if config.apprise
        else []
    )
    async with running(channels):
        if front and delivery.telegram is not None:
            await keep_front_up(runtime, delivery.telegram, held)
        else:
            await held.ended.wait()


def tell_admins(config: Config) -> Tell | None:
    """A sentence to the configured admins straight through the Bot API, for what the outbox cannot carry (a
    database that refuses writes); None without a token or admins."""
    admins = config.telegram.admins
    if config.telegram.token is None or not admins:
        return None

    async def tell(text: str) -> None:
        async with outbox_bot(config.telegram) as bot:
            for admin in admins:
                await bot.send_message(admin, text)

    return tell


async def run_daemon(config: Config, delivery: Delivery, *, front: bool) -> None:
    """Run this process's part until SIGINT/SIGTERM; with `front` and a token, the Telegram front too (else
    a process on PostgreSQL with a token leaves the delivery role to one that has it)."""
    if config.metrics_port is not None:
        serve_metrics(config.metrics_port)
    stop = asyncio.Event()
    stop_on_signals(stop)
    async with Lifeline() as lifeline, open_runtime(config, delivery.sink) as runtime:
        await run_process(runtime, delivery, front=front, stop=stop, lifeline=lifeline)


async def run_process(
    runtime: Runtime, delivery: Delivery, *, front: bool, stop: asyncio.Event, lifeline: Lifeline
) -> None:
    """Claim and poll due feeds, take the roles free, follow edits, until `stop`; then stop cleanly. Following
    the edits is a job the process cannot do without, and a role's work that runs out of memory ends it:
    `lifeline` gives up (exit status 70) for them."""
    config, pipeline = runtime.config, runtime.pipeline

    async def ingest(held: Held) -> None:
        await pipeline.file_while_held(held)

    async def delivering(held: Held) -> None:
        pipeline.health.tell = tell_admins(config) if front else None
        try:
            await asyncio.gather(pipeline.tell_while_held(held), send(runtime, delivery, front, held))
        finally:
            pipeline.health.tell = None

    roles = [Role(INGEST, ingest)]
    if front or not runtime.shared or not config.telegram.enabled:
        roles.append(Role(DELIVERY, delivering))
    due = DueFeeds(
        runtime.engine, pipeline.owner, config.cluster.lease, config.polling.concurrency, pipeline.poll,
        pipeline.health,
    )  # fmt: skip
    member = Member(runtime.engine, config.cluster, roles, pipeline.owner, due.polling, pipeline.health)
    jobs = Jobs()
    jobs.every(config.cluster.heartbeat, "heartbeat", member.beat)
    jobs.every(CLAIM_EVERY, "claim due feeds", due.claim)
    rules = asyncio.create_task(follow_rules(runtime, stop), name="rules-watch")
    edits = asyncio.create_task(follow_config(runtime, stop), name="config-watch")
    lifeline.needed(rules, "following the rule files")
    lifeline.needed(edits, "following the config")
    _say_started(runtime, member.id)
    jobs.start()
    lifeline.ready()
    ended = asyncio.create_task(member.stop.wait())
    try:
        await asyncio.wait([asyncio.create_task(stop.wait()), ended], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stop.set()
        ended.cancel()
        await jobs.stop()
        await due.stop()
        await member.end()
        await member.leave()
        await rules
        await edits
    if isinstance(member.failed, MemoryError):
        give_up("out of memory")
    if member.failed is not None:
        raise member.failed
    log.info("stopped")


def _say_started(runtime: Runtime, process_id: str) -> None:
    """Say what this process polls, where edits count, and when each feed is next due and why."""
    states = list(runtime.roster.states.values())
    files = [path.name for path in (runtime.config.config_file, runtime.config.feeds_file_path) if path]
    others = f" with the other processes on this database (this one is {process_id})" if runtime.shared else ""
    log.info(
        "polling %s%s; edits of %s take effect at once; stop with Ctrl-C",
        plural(len(states), "feed"), others, ", ".join([*files, runtime.config.rules_dir.name + "/"]),
    )  # fmt: skip
    planned = [(state, state.next_poll_at or clock.now()) for state in states]
    for line in schedule_lines(planned, clock.now()):
        log.info("  %s", line)
