"""No chat can delay another's answers: updates run concurrently across chats and in order within a chat,
each chat's commands are rate-limited, and replies are paced per chat.

- `CommandQuota`: at most `per_minute` commands and button presses of a chat in any minute; the first one
  over gets one "slow down" reply, the rest are dropped unread until the minute has room again.
- `ChatOrderedUpdates` (PTB's update processor): a chat's updates run one after another (a /subscribe is
  done before the next command of that chat starts), different chats side by side; a command over the
  quota is dropped before it costs a database query or a reply. Chats the bot does not serve get no
  "slow down" (their one refusal an hour is access.py's `Refusals`).
- `ReplyPacer` (PTB's rate limiter): replies keep Telegram's pace per chat (bot/deliver/pacing.py), and a
  429 holds only the chat it came for. PTB's AIORateLimiter halts every request on any 429, so one
  flooding chat held every other chat's answers.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from telegram import Update
from telegram.error import RetryAfter, TelegramError
from telegram.ext import BaseRateLimiter, BaseUpdateProcessor

from bot.deliver.pacing import Pacer
from bot.deliver.telegram_errors import classify

log = logging.getLogger(__name__)

SLOW_DOWN = "Slow down, please: this chat sent too many commands; I will answer again in a minute."
COMMANDS_PER_MINUTE = 20
MAX_TRACKED_CHATS = 10_000
"""Chats whose recent commands are remembered; the least recent are forgotten first (memory stays bounded)."""
_UPDATES_AT_ONCE = 1024
"""Updates in flight at once; a flooding chat holds at most its quota of them, the rest end at once."""


class Admission(Enum):
    """What becomes of one command: answered, answered with "slow down" instead, or dropped unread."""

    ANSWER = "answer"
    SLOW_DOWN = "slow down"
    DROP = "drop"


@dataclass
class _Recent:
    times: deque[float] = field(default_factory=deque)
    warned: bool = False


@dataclass
class CommandQuota:
    """A sliding minute of each chat's commands."""

    per_minute: int = COMMANDS_PER_MINUTE
    clock: Callable[[], float] = time.monotonic
    _chats: OrderedDict[int, _Recent] = field(default_factory=OrderedDict)

    def take(self, chat_id: int) -> Admission:
        now = self.clock()
        recent = self._chats.pop(chat_id, None) or _Recent()
        self._chats[chat_id] = recent  # most recent last
        while len(self._chats) > MAX_TRACKED_CHATS:
            self._chats.popitem(last=False)
        while recent.times and recent.times[0] <= now - 60.0:
            recent.times.popleft()
        if len(recent.times) < self.per_minute:
            recent.times.append(now)
            recent.warned = False
            return Admission.ANSWER
        if recent.warned:
            return Admission.DROP
        recent.warned = True
        return Admission.SLOW_DOWN


@dataclass
class Refusals:
    """When each chat the bot does not serve was last refused: one refusal per chat per `every` seconds."""

    every: float = 3600.0
    clock: Callable[[], float] = time.monotonic
    _last: OrderedDict[int, float] = field(default_factory=OrderedDict)

    def due(self, chat_id: int) -> bool:
        """True (and counted) when this chat may be told once more that it is not served."""
        now = self.clock()
        last = self._last.get(chat_id)
        if last is not None and now - last < self.every:
            return False
        self._last.pop(chat_id, None)
        self._last[chat_id] = now
        while len(self._last) > MAX_TRACKED_CHATS:
            self._last.popitem(last=False)
        return True


def _is_command(update: Update) -> bool:
    """What the quota counts: commands and button presses (other messages reach no handler)."""
    if update.callback_query is not None:
        return True
    message = update.effective_message
    return message is not None and (message.text or "").startswith("/")


async def _slow_down(update: Update) -> None:
    """The one "slow down" (outside PTB's handlers: a failure here is logged, never raised)."""
    try:
        if update.callback_query is not None:
            await update.callback_query.answer(SLOW_DOWN)
        elif update.effective_message is not None:
            await update.effective_message.reply_text(SLOW_DOWN, do_quote=False)
    except TelegramError as error:
        log.warning("the slow-down reply was not sent: %s", error.message)


class ChatOrderedUpdates(BaseUpdateProcessor):
    """Updates of one chat in order, chats side by side, commands over the quota dropped at once.

    `answers(chat_id)` says whether the chat is served at all (no "slow down" for one that is not)."""

    def __init__(self, answers: Callable[[int], bool], quota: CommandQuota | None = None) -> None:
        super().__init__(_UPDATES_AT_ONCE)
        self.answers = answers
        self.quota = quota or CommandQuota()
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, int] = {}

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        chat = update.effective_chat if isinstance(update, Update) else None
        if chat is None:
            await coroutine
            return
        assert isinstance(update, Update)
        admission = self.quota.take(chat.id) if _is_command(update) else Admission.ANSWER
        if admission is not Admission.ANSWER:
            if isinstance(coroutine, Coroutine):
                coroutine.close()  # the update is dropped unread
            if admission is Admission.DROP or not self.answers(chat.id):
                return
            log.info("chat %s sent over %s commands in a minute; told to slow down", chat.id, self.quota.per_minute)
            coroutine = _slow_down(update)
        lock = self._locks.setdefault(chat.id, asyncio.Lock())
        self._waiting[chat.id] = self._waiting.get(chat.id, 0) + 1
        try:
            async with lock:
                await coroutine
        finally:
            self._waiting[chat.id] -= 1
            if not self._waiting[chat.id]:
                del self._waiting[chat.id], self._locks[chat.id]


class ReplyPacer(BaseRateLimiter[int]):
    """Sends and edits keep Telegram's per-chat pace; a 429 holds that chat only and is retried
    (`max_retries` times); other calls (getUpdates, answerCallbackQuery, getChatMember) go at once."""

    def __init__(self, max_retries: int = 2, pacer: Pacer | None = None) -> None:
        self.max_retries = max_retries
        self.pacer = pacer or Pacer()

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, bool | dict[str, Any] | list[dict[str, Any]]]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> bool | dict[str, Any] | list[dict[str, Any]]:
        chat_id = data.get("chat_id")
        paced = isinstance(chat_id, int) and endpoint.startswith(("send", "edit"))
        retries = self.max_retries if rate_limit_args is None else rate_limit_args
        attempt = 0
        while True:
            if paced:
                assert isinstance(chat_id, int)
                await self.pacer.wait_turn(chat_id, is_group=chat_id < 0)
            try:
                return await callback(*args, **kwargs)
            except RetryAfter as error:
                if not paced or attempt >= retries:
                    raise
                assert isinstance(chat_id, int)
                self.pacer.retry_after(chat_id, classify(error, plain=False).wait)
                attempt += 1
