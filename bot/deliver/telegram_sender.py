"""Sending Telegram's outbox: one worker per chat with due messages, paced within Telegram's limits.

A 429 or a slow chat holds only itself. A chat's backlog that its pace cannot send in time is folded into
one summary message; chats in digest mode get their digest when it is due (digests.py). What each Bot API
error means is decided by telegram_errors.classify; this module acts on it. The sender uses its own Bot,
outside python-telegram-bot's AIORateLimiter, which halts every request while it waits out one chat's 429.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import replace
from datetime import timedelta
from enum import Enum

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, LinkPreviewOptions
from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.request import HTTPXRequest

from bot import clock
from bot.config import TelegramConfig
from bot.deliver.digests import send_digests
from bot.deliver.folding import fold_into_summary
from bot.deliver.pacing import Pace, Pacer
from bot.deliver.runner import PROOF_LASTS, OutboxRunner, backoff, observe_latency
from bot.deliver.telegram_errors import Outcome, classify
from bot.store.chats import deactivate, migrate_chat
from bot.store.locks import Fence, LostRole, unfenced
from bot.store.outbox import (
    DueChat,
    Queued,
    due_chats,
    due_for_chat,
    fail_chat,
    mark_attempt,
    mark_failed,
    mark_sent,
    move_queue,
    original_of,
    queue_counts,
    retry_later,
    to_fold,
)

log = logging.getLogger(__name__)

WHY_PREFIX = "why:"
STORY_WHY = "s"
"""A Why? button's data: `why:s{story id}` under a story message, `why:{alert id}` under older messages."""
OUTBOX_PACE = Pace(global_per_second=25)  # the other 5/s are left to command replies
EDIT_WAITS = timedelta(seconds=5)
"""An edit whose message has not gone out yet waits this long, or until that message's next attempt."""
_NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


def why_button(queued: Queued) -> InlineKeyboardMarkup | None:
    """The inline "Why?" button under each story message; chat/handlers.py answers its callback."""
    if queued.story_id is not None:
        data = f"{WHY_PREFIX}{STORY_WHY}{queued.story_id}"
    elif queued.alert_id is not None:
        data = f"{WHY_PREFIX}{queued.alert_id}"
    else:
        return None
    return InlineKeyboardMarkup([[InlineKeyboardButton("Why?", callback_data=data)]])


def outbox_bot(settings: TelegramConfig) -> Bot:
    """The outbox's own Bot for the configured token and Bot API."""
    if settings.token is None:
        raise ValueError("telegram.token is not set; without it alerts go to the terminal")
    return Bot(settings.token.get_secret_value(), base_url=settings.base_url,
               request=HTTPXRequest(connection_pool_size=32))


class _Next(Enum):
    """What a worker does after one message: go on, re-read the queue after a 429 hold, or leave the chat."""

    GO_ON = "go on"
    REREAD = "re-read"
    LEAVE = "leave"


class TelegramSender:
    """Drains the outbox into Telegram; `run()` until stopped, the sink's bell (`bell`) wakes it."""

    def __init__(
        self,
        bot: Bot,
        engine: AsyncEngine,
        pacer: Pacer | None = None,
        *,
        bell: asyncio.Event | None = None,
        poll_every: float = 2.0,
        grace: float = 5.0,
        fence: Fence = unfenced,
    ) -> None:
        self.bot = bot
        self.engine = engine
        self.fence = fence
        self.pacer = pacer or Pacer()
        self.grace = grace
        self.runner = OutboxRunner("Telegram", self._one_pass, bell or asyncio.Event(), poll_every)
        self._workers: dict[int, asyncio.Task[None]] = {}

    def wake(self) -> None:
        self.runner.wake()

    def stop(self) -> None:
        self.runner.stop()

    async def run(self) -> None:
        try:
            await self.runner.run()
        finally:
            await self._stop_workers()

    async def drain(self, timeout: float) -> None:
        """Run until nothing waits to be sent (for one-shot commands and tests); TimeoutError after `timeout`."""
        runner = asyncio.create_task(self.run())
        try:
            async with asyncio.timeout(timeout):
                while (await queue_counts(self.engine)).get("pending") or self._workers:
                    await asyncio.sleep(0.05)
        finally:
            self.stop()
            await runner

    async def _one_pass(self) -> None:
        """Queue the digests that are due, and start a worker for each chat with due messages."""
        await send_digests(self.engine, clock.now())
        for due in await due_chats(self.engine, clock.now()):
            if due.chat_id not in self._workers and not self.runner.stopping:
                self._workers[due.chat_id] = asyncio.create_task(self._work(due), name=f"outbox-chat-{due.chat_id}")

    async def _stop_workers(self) -> None:
        """Let workers finish the message in hand; cancel those still waiting for a slot after a grace time."""
        self.runner.stopping = True
        workers = list(self._workers.values())
        if not workers:
            return
        _, waiting = await asyncio.wait(workers, timeout=self.grace)
        for task in waiting:
            task.cancel()
        await asyncio.gather(*waiting, return_exceptions=True)

    async def _work(self, due: DueChat) -> None:
        chat_id, is_group = due.chat_id, due.is_group
        try:
            while not self.runner.stopping and (batch := await due_for_chat(self.engine, chat_id, clock.now())):
                if self.pacer.should_fold(len(batch), is_group) and await self._fold_burst(chat_id, batch[0]):
                    continue
                for queued in batch:
                    if self.runner.stopping:
                        return
                    step = await self._deliver(queued, is_group)
                    if step is _Next.LEAVE:
                        return
                    if step is _Next.REREAD:
                        break
        except LostRole as lost:
            if not self.runner.stopping:
                log.warning("%s; it stops sending", lost)
            self.runner.stop()
        except Exception as error:
            self.runner.failed(error)  # the next pass, which restarts the worker, waits
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
        return await fold_into_summary(self.engine, folding, chat_id, heading, "pending")

    async def _deliver(self, queued: Queued, is_group: bool) -> _Next:
        """Wait for the slot, mark the attempt, call Telegram, record the outcome.

        The attempt is marked once the slot is there, in the transaction that proves this process still holds
        the delivery role and finds the row still pending: a process paused or cut off meanwhile, whose role
        and rows another process took, sends nothing (LostRole). The pacer counts the send once proved, so
        sends leave at the paced times.
        """
        chat_id = queued.chat_id
        assert chat_id is not None
        if queued.edit_of is not None and queued.edit_message_id is None:
            ready = await self._edited_message(queued)
            if ready is None:
                return _Next.GO_ON
            queued = ready
        proved_at = await self._turn(queued, chat_id, is_group)
        if proved_at is None:
            return _Next.GO_ON
        return await self._attempt(queued, chat_id, plain=False, proved_at=proved_at)

    async def _turn(self, queued: Queued, chat_id: int, is_group: bool) -> float | None:
        """Wait for the chat's slot and, in it, mark the row attempted with the role's proof: when the proof
        began, or None when the row is no longer pending (sent, failed or folded by another process)."""
        proved_at = 0.0

        async def prove() -> bool:
            nonlocal proved_at
            proved_at = time.monotonic()
            return await mark_attempt(self.engine, queued.id, self.fence)

        return proved_at if await self.pacer.wait_turn(chat_id, is_group, prove) else None

    async def _edited_message(self, queued: Queued) -> Queued | None:
        """An edit read before its message went out (both were due together): with that message's id now, or
        None when it must wait for the message (retried later) or never can be made (marked failed)."""
        assert queued.edit_of is not None
        original = await original_of(self.engine, queued.edit_of)
        if original is not None and original.message_id is not None:
            return replace(queued, edit_message_id=original.message_id)
        if original is not None and original.status == "pending":
            at = max(clock.now() + EDIT_WAITS, original.next_attempt_at or clock.now())
            await retry_later(self.engine, queued.id, at, "waiting for the message it edits to go out")
        else:
            await mark_failed(self.engine, queued.id, "the message to edit was never sent on its own", self.fence)
        return None

    async def _attempt(self, queued: Queued, chat_id: int, *, plain: bool, proved_at: float) -> _Next:
        """One call, and what its answer means for the row, the chat and the worker. A proof older than
        PROOF_LASTS (this process was paused after it: the role may have moved meanwhile) sends nothing; the
        row stays due, and the next pass proves the role again."""
        if time.monotonic() - proved_at > PROOF_LASTS:
            log.info("chat %s: outbox message %s waits for a new proof of the role (this process was paused)",
                     chat_id, queued.id)  # fmt: skip
            return _Next.LEAVE
        try:
            message_id = await self._call(queued, plain=plain)
        except TelegramError as error:
            return await self._failed(queued, chat_id, error, plain=plain, proved_at=proved_at)
        await mark_sent(self.engine, queued.id, message_id)
        self.runner.worked()
        observe_latency("telegram", queued)
        return _Next.GO_ON

    async def _failed(
        self, queued: Queued, chat_id: int, error: TelegramError, *, plain: bool, proved_at: float
    ) -> _Next:
        verdict = classify(error, plain=plain)
        match verdict.outcome:
            case Outcome.HOLD_CHAT:
                self.pacer.retry_after(chat_id, verdict.wait)
                return _Next.REREAD
            case Outcome.CHAT_GONE:
                await self._chat_gone(chat_id, verdict.reason)
                return _Next.LEAVE
            case Outcome.PLAIN_TEXT:
                log.warning("chat %s: Telegram refused the HTML (%s); sending plain text", chat_id, verdict.reason)
                # at the chat's pace like any send, proved again: a retry at once could meet a 429 on some runs
                again = await self._turn(queued, chat_id, is_group=chat_id < 0)
                if again is None:
                    return _Next.GO_ON
                return await self._attempt(queued, chat_id, plain=True, proved_at=again)
            case Outcome.ALREADY_THERE:
                await mark_sent(self.engine, queued.id, queued.edit_message_id)
                return _Next.GO_ON
            case Outcome.REFUSED:
                log.error("chat %s: Telegram refused outbox message %s: %s", chat_id, queued.id, verdict.reason)
                await mark_failed(self.engine, queued.id, verdict.reason, self.fence)
                return _Next.GO_ON
            case Outcome.CHAT_MOVED:
                assert verdict.new_chat_id is not None
                async with self.engine.begin() as conn:
                    await migrate_chat(conn, chat_id, verdict.new_chat_id)
                    await move_queue(conn, chat_id, verdict.new_chat_id)
                log.info("chat %s became supergroup %s; its subscriptions moved along", chat_id, verdict.new_chat_id)
                return _Next.LEAVE
        await retry_later(self.engine, queued.id, clock.now() + backoff(queued.attempts + 1), verdict.reason)
        return _Next.LEAVE

    async def _call(self, queued: Queued, *, plain: bool) -> int | None:
        """One Bot API call for a row: sendMessage, or editMessageText for a story update."""
        chat_id = queued.chat_id
        assert chat_id is not None
        text = queued.plain if plain else queued.html
        mode = None if plain else ParseMode.HTML
        markup = why_button(queued)
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

    async def _chat_gone(self, chat_id: int, reason: str) -> None:
        """403 or a vanished chat: stop its alerts; say so once, not once per queued message."""
        if await deactivate(self.engine, chat_id):
            log.warning("chat %s: %s; its subscriptions are paused until it talks to the bot again", chat_id, reason)
        await fail_chat(self.engine, chat_id, reason)
