"""Telegram delivery: the sink that queues alerts for subscribed chats, and the sender that drains the queue.

`TelegramSink.enqueue` writes one outbox row per (chat, alert) inside the transaction that stores the
alerts, so an alert is either stored and queued or neither. `OutboxSender` runs on the bot's event loop:
one worker per chat with due rows, paced by `Pacer`, so a 429 or a slow chat holds only itself. Errors:
429 -> wait retry_after for that chat; 5xx/network -> retry with backoff; 403 -> deactivate the chat
(logged once); 400 "can't parse entities" -> send the plain-text rendering instead; a group upgraded to
a supergroup -> move its subscriptions and queue to the new id.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from enum import Enum
from html import escape

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError

from bot import clock
from bot.deliver.format import headline_of, render_alert, render_summary, when
from bot.deliver.pacing import Pacer
from bot.metrics import DELIVERY_LATENCY
from bot.model import Alert, Notice
from bot.store.chats import (
    Subscriber,
    deactivate,
    digest_chats,
    know_private_chat,
    mark_digest_sent,
    migrate_chat,
    subscribers,
)
from bot.store.outbox import (
    Backlog,
    FoldConflict,
    Folding,
    NewMessage,
    Queued,
    Status,
    backlog,
    due_chats,
    due_for_chat,
    enqueue,
    fail_chat,
    fold,
    held_threads,
    mark_attempt,
    mark_failed,
    mark_sent,
    move_queue,
    retry_later,
    story_message,
    to_fold,
)

log = logging.getLogger(__name__)

WHY_PREFIX = "why:"
DIGEST_PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def why_button(alert_id: int) -> InlineKeyboardMarkup:
    """The inline "Why?" button under each alert; chat/handlers.py answers its callback."""
    return InlineKeyboardMarkup([[InlineKeyboardButton("Why?", callback_data=f"{WHY_PREFIX}{alert_id}")]])


def alert_key(chat_id: int, alert: Alert) -> str:
    """Idempotency key: one message per (chat, topic, story), or per (chat, alert) outside stories."""
    if alert.story is not None:
        return f"tg:{chat_id}:{alert.rule_id}:story:{alert.story.id}"
    if alert.id is not None:
        return f"tg:{chat_id}:alert:{alert.id}"
    return f"tg:{chat_id}:{alert.rule_id}:entry:{alert.entry.key}"


NOTICE = "(notice)"
"""The outbox's topic for operator notices, which no rule id can equal (ids have no parentheses)."""


class TelegramSink:
    """Queues alerts for the chats subscribed to their topic (unmuted, active, and in `allowed_chats` when
    that is set, so narrowing the list stops chats that subscribed before); digest chats get them held.

    A story already alerted to a chat is not alerted again: within `edit_window` its first message is
    edited to show the outlets that joined.
    """

    def __init__(
        self,
        edit_window: timedelta = timedelta(hours=24),
        allowed_chats: Sequence[int] = (),
        admins: Sequence[int] = (),
    ) -> None:
        self.edit_window = edit_window
        self.allowed_chats = frozenset(allowed_chats)
        self.admins = tuple(admins)
        self.queued = asyncio.Event()

    async def notify(self, conn: AsyncConnection, notice: Notice) -> None:
        """A private message to each bot admin (their user id is their chat with the bot)."""
        text = f"⚠ {notice.text}"
        for admin in self.admins:
            await know_private_chat(conn, admin)
        await enqueue(
            conn,
            [
                NewMessage(key=f"tg:{admin}:{notice.key}", rule_id=NOTICE, html=escape(text), plain=text, chat_id=admin)
                for admin in self.admins
            ],
        )

    async def enqueue(self, conn: AsyncConnection, alerts: Sequence[Alert]) -> None:
        now = clock.now()
        messages: list[NewMessage] = []
        for alert in alerts:
            rendered = render_alert(alert)
            for subscriber in await subscribers(conn, alert.rule_id, now):
                if self.allowed_chats and subscriber.chat_id not in self.allowed_chats:
                    continue
                message = NewMessage(
                    key=alert_key(subscriber.chat_id, alert),
                    rule_id=alert.rule_id,
                    html=rendered.html,
                    plain=rendered.plain,
                    headline=headline_of(alert),
                    chat_id=subscriber.chat_id,
                    thread_id=subscriber.thread_id,
                    alert_id=alert.id,
                    story_id=alert.story.id if alert.story else None,
                    held=subscriber.digest != "off",
                    published_at=alert.entry.published,
                )
                update = await self._story_update(conn, subscriber, alert, message, now)
                messages.append(update or message)
        await enqueue(conn, messages)

    async def _story_update(
        self, conn: AsyncConnection, subscriber: Subscriber, alert: Alert, message: NewMessage, now: datetime
    ) -> NewMessage | None:
        """An edit of the story's first message when the story grew, else None (queue `message`, whose
        key makes it a no-op when the story was alerted already)."""
        if alert.story is None or subscriber.digest != "off":
            return None
        first = await story_message(conn, subscriber.chat_id, alert.rule_id, alert.story.id)
        if first is None or now - first[1] > self.edit_window:
            return None
        outlets = len(alert.story.outlets)
        return NewMessage(
            key=f"{message.key}:outlets:{outlets}",
            rule_id=alert.rule_id,
            html=message.html,
            plain=message.plain,
            chat_id=subscriber.chat_id,
            alert_id=alert.id,
            story_id=alert.story.id,
            edit_of=first[0],
        )

    async def flush(self) -> None:
        """Ring the sender's bell (`OutboxSender(..., bell=sink.queued)`)."""
        self.queued.set()


class _Outcome(Enum):
    """What a worker does after one message: go on, re-read the queue after a 429 hold, or leave the chat."""

    DONE = "done"
    HOLD = "hold"
    STOP = "stop"


def observe_latency(sink: str, queued: Queued) -> None:
    """Publication to delivery, for the delivery-latency metric (first deliveries only, not edits)."""
    if queued.published_at is not None and queued.edit_of is None:
        latency = (clock.now() - queued.published_at).total_seconds()
        DELIVERY_LATENCY.labels(sink).observe(max(latency, 0.0))


def backoff(attempts: int) -> timedelta:
    """Wait before retrying a transient failure: 2, 4, 8 ... seconds, at most 5 minutes."""
    return timedelta(seconds=min(300.0, 2.0 ** min(max(attempts, 1), 9)))


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


class OutboxSender:
    """Drains the outbox into Telegram within its limits; `run()` until cancelled, `wake()` after enqueue."""

    def __init__(
        self,
        bot: Bot,
        engine: AsyncEngine,
        pacer: Pacer | None = None,
        *,
        bell: asyncio.Event | None = None,
        poll_every: float = 2.0,
        grace: float = 5.0,
    ) -> None:
        self.bot = bot
        self.grace = grace
        self._stopping = False
        self.engine = engine
        self.pacer = pacer or Pacer()
        self.poll_every = poll_every
        self._wake = bell or asyncio.Event()
        self._workers: dict[int, asyncio.Task[None]] = {}

    def wake(self) -> None:
        self._wake.set()

    def stop(self) -> None:
        """Ask `run` to return: no new message is started; one in flight is finished and recorded."""
        self._stopping = True
        self._wake.set()

    async def run(self) -> None:
        """Start a worker for each chat with due messages; check digests; repeat on wake or every few s."""
        self._stopping = False
        try:
            while not self._stopping:
                self._wake.clear()
                try:
                    await self._start_workers()
                except Exception:
                    log.exception("outbox pass failed; the next pass retries")
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._wake.wait(), self.poll_every)
        finally:
            await self._stop_workers()

    async def _stop_workers(self) -> None:
        """Let workers finish the message in hand; cancel those still waiting for a slot after a grace time."""
        self._stopping = True
        workers = list(self._workers.values())
        if not workers:
            return
        _, waiting = await asyncio.wait(workers, timeout=self.grace)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    async def _start_workers(self) -> None:
        await self.send_digests(clock.now())
        for due in await due_chats(self.engine, clock.now()):
            if due.chat_id not in self._workers and not self._stopping:
                task = asyncio.create_task(self._work(due), name=f"outbox-chat-{due.chat_id}")
                self._workers[due.chat_id] = task

    async def drain(self, timeout: float) -> None:
        """Run until nothing waits to be sent (for one-shot commands and tests); TimeoutError after `timeout`."""
        runner = asyncio.create_task(self.run())
        try:
            async with asyncio.timeout(timeout):
                while (await backlog(self.engine)).get("pending") or self._workers:
                    await asyncio.sleep(0.05)
        finally:
            self.stop()
            await runner

    async def _work(self, due: Backlog) -> None:
        chat_id, is_group = due.chat_id, due.is_group
        try:
            while not self._stopping and (batch := await due_for_chat(self.engine, chat_id, clock.now())):
                if self.pacer.should_fold(len(batch), is_group) and await self._fold_burst(chat_id, batch[0]):
                    continue
                for queued in batch:
                    if self._stopping:
                        return
                    outcome = await self._deliver(queued, is_group)
                    if outcome is _Outcome.STOP:
                        return
                    if outcome is _Outcome.HOLD:
                        break
        except Exception:
            log.exception("outbox worker for chat %s failed; it restarts on the next pass", chat_id)
        finally:
            del self._workers[chat_id]
            self.pacer.forget(chat_id, is_group)
            self.wake()

    async def _fold_burst(self, chat_id: int, first: Queued) -> bool:
        """A backlog that would take longer than the pace allows becomes one summary message."""
        folding = await to_fold(self.engine, chat_id, "pending", first.thread_id)
        if len(folding.ids) < 2:
            return False
        heading = f"{len(folding.ids)} new alerts (more than this chat's pace allows, so in one message)"
        return await self._fold(folding, chat_id, heading, "pending")

    async def _fold(self, folding: Folding, chat_id: int, heading: str, status: Status) -> bool:
        rendered = render_summary(heading, folding.headlines)
        summary = NewMessage(
            key=f"tg:{chat_id}:summary:{folding.ids[0]}",
            rule_id="*",
            html=rendered.html,
            plain=rendered.plain,
            chat_id=chat_id,
            thread_id=folding.thread_id,
        )
        try:
            async with self.engine.begin() as conn:
                await fold(conn, folding, summary, status)
        except FoldConflict as exc:
            log.warning("%s", exc)
            return False
        return True

    async def _deliver(self, queued: Queued, is_group: bool) -> _Outcome:
        """Mark the attempt, wait for the slot, call Telegram, record the outcome.

        Nothing but the wait lies between the slot and the call, so sends leave at the paced times.
        """
        chat_id = queued.chat_id
        assert chat_id is not None
        if queued.edit_of is not None and queued.edit_message_id is None:
            await mark_failed(self.engine, queued.id, "the message to edit was never sent on its own")
            return _Outcome.DONE
        await mark_attempt(self.engine, queued.id)
        await self.pacer.wait_turn(chat_id, is_group)
        return await self._attempt(queued, chat_id, plain=False)

    async def _attempt(self, queued: Queued, chat_id: int, *, plain: bool) -> _Outcome:
        """One call and what its answer means for the row, the chat and the worker."""
        try:
            message_id = await self._call(queued, plain=plain)
        except RetryAfter as exc:
            self.pacer.retry_after(chat_id, _seconds(exc.retry_after))
            return _Outcome.HOLD
        except Forbidden as exc:
            await self._chat_gone(chat_id, exc)
            return _Outcome.STOP
        except BadRequest as exc:
            if not plain and "can't parse entities" in exc.message.lower():
                log.warning("chat %s: Telegram refused the HTML (%s); sending plain text", chat_id, exc.message)
                return await self._attempt(queued, chat_id, plain=True)
            return await self._bad_request(queued, chat_id, exc)
        except ChatMigrated as exc:
            async with self.engine.begin() as conn:
                await migrate_chat(conn, chat_id, exc.new_chat_id)
                await move_queue(conn, chat_id, exc.new_chat_id)
            log.info("chat %s became supergroup %s; its subscriptions moved along", chat_id, exc.new_chat_id)
            return _Outcome.STOP
        except TelegramError as exc:
            await retry_later(self.engine, queued.id, clock.now() + backoff(queued.attempts + 1), exc.message)
            return _Outcome.STOP
        await mark_sent(self.engine, queued.id, message_id)
        observe_latency("telegram", queued)
        return _Outcome.DONE

    async def _call(self, queued: Queued, *, plain: bool) -> int | None:
        """One Bot API call for a row: sendMessage, or editMessageText for a story update."""
        chat_id = queued.chat_id
        assert chat_id is not None
        text = queued.plain if plain else queued.html
        mode = None if plain else ParseMode.HTML
        markup = why_button(queued.alert_id) if queued.alert_id is not None else None
        if queued.edit_message_id is not None:
            await self.bot.edit_message_text(
                text,
                chat_id=chat_id,
                message_id=queued.edit_message_id,
                parse_mode=mode,
                reply_markup=markup,
                link_preview_options=_NO_PREVIEW,
            )
            return queued.edit_message_id
        sent = await self.bot.send_message(
            chat_id,
            text,
            parse_mode=mode,
            message_thread_id=queued.thread_id,
            reply_markup=markup,
            link_preview_options=_NO_PREVIEW,
        )
        return sent.message_id

    async def _bad_request(self, queued: Queued, chat_id: int, exc: BadRequest) -> _Outcome:
        reason = exc.message.lower()
        if "message is not modified" in reason:
            await mark_sent(self.engine, queued.id, queued.edit_message_id)
            return _Outcome.DONE
        if "chat not found" in reason:
            await self._chat_gone(chat_id, exc)
            return _Outcome.STOP
        log.error("chat %s: Telegram refused outbox message %s: %s", chat_id, queued.id, exc.message)
        await mark_failed(self.engine, queued.id, exc.message)
        return _Outcome.DONE

    async def _chat_gone(self, chat_id: int, exc: TelegramError) -> None:
        """403 or a vanished chat: stop its alerts; say so once, not once per queued message."""
        if await deactivate(self.engine, chat_id):
            log.warning(
                "chat %s: %s; its subscriptions are paused until it talks to the bot again", chat_id, exc.message
            )
        await fail_chat(self.engine, chat_id, exc.message)

    async def send_digests(self, now: datetime) -> None:
        """For chats in digest mode whose period has passed: fold held alerts into one message per thread."""
        for settings in await digest_chats(self.engine):
            period = DIGEST_PERIODS[settings.digest]
            last = settings.digest_sent_at
            if last is not None and now - last < period:
                continue
            since = f"since {when(last)}" if last else "so far"
            for thread_id in await held_threads(self.engine, settings.chat_id):
                folding = await to_fold(self.engine, settings.chat_id, "held", thread_id)
                if folding.ids:
                    heading = f"Your {settings.digest} digest: {len(folding.ids)} alerts {since}"
                    await self._fold(folding, settings.chat_id, heading, "held")
            async with self.engine.begin() as conn:
                await mark_digest_sent(conn, settings.chat_id, now)
