"""Telegram's pace: about 1 message/s per private chat, 20/min per group, 30/s overall.

`Pacer` keeps the times of messages actually sent (sliding windows on a monotonic clock), so a sender
that wakes late never makes up for it with a burst; global sends are also spread evenly (1/30 s apart),
so network jitter cannot squeeze 31 of them into Telegram's one-second window. A 429 holds only the
chat it came for. `should_fold` says when a chat's backlog would take longer than `fold_after` at its
pace, so the sender folds it into one summary message instead of delaying the last alert for minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Pace:
    private_interval: float = 1.0
    group_per_minute: int = 20
    global_per_second: int = 30
    fold_after: float = 20.0


@dataclass(slots=True)
class _Chat:
    sent: deque[float] = field(default_factory=deque)
    blocked_until: float = 0.0


@dataclass
class Pacer:
    pace: Pace = Pace()
    clock: Callable[[], float] = time.monotonic
    _chats: dict[int, _Chat] = field(default_factory=dict)
    _global: deque[float] = field(default_factory=deque)
    _leaving: asyncio.Lock = field(default_factory=asyncio.Lock)

    def _window(self, is_group: bool) -> tuple[float, int]:
        """(window length in s, messages allowed in it) for one chat."""
        return (60.0, self.pace.group_per_minute) if is_group else (self.pace.private_interval, 1)

    def next_time(self, chat_id: int, is_group: bool) -> float:
        """The earliest time a message to this chat fits both its own window and the global one."""
        now = self.clock()
        at = now
        chat = self._chats.get(chat_id)
        if chat is not None:
            span, allowed = self._window(is_group)
            while chat.sent and chat.sent[0] <= now - span:
                chat.sent.popleft()
            if len(chat.sent) >= allowed:
                at = max(at, chat.sent[-allowed] + span)
            at = max(at, chat.blocked_until)
        while self._global and self._global[0] <= now - 1.0:
            self._global.popleft()
        if len(self._global) >= self.pace.global_per_second:
            at = max(at, self._global[-self.pace.global_per_second] + 1.0)
        if self._global:
            at = max(at, self._global[-1] + 1.0 / self.pace.global_per_second)
        return at

    def record(self, chat_id: int) -> None:
        """A message to this chat leaves now."""
        now = self.clock()
        self._chats.setdefault(chat_id, _Chat()).sent.append(now)
        self._global.append(now)

    async def wait_turn(
        self, chat_id: int, is_group: bool, proof: Callable[[], Awaitable[bool]] | None = None
    ) -> bool:
        """Sleep until a message to this chat fits, then count it as sent (check and count are one step);
        with `proof`, only once it said the message may go (False: it may not, and nothing is counted).
        Proofs take the slot one at a time, so sends leave at the paced times however long a proof takes."""
        while True:
            while (delay := self.next_time(chat_id, is_group) - self.clock()) > 0:
                await asyncio.sleep(delay)
            async with self._leaving:
                if self.next_time(chat_id, is_group) > self.clock():
                    continue  # another message took the slot while this one waited for its turn to prove
                if proof is not None and not await proof():
                    return False
                self.record(chat_id)
                return True

    def retry_after(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429 for this chat: hold only this chat for `seconds`."""
        chat = self._chats.setdefault(chat_id, _Chat())
        chat.blocked_until = max(chat.blocked_until, self.clock() + seconds)

    def should_fold(self, backlog: int, is_group: bool) -> bool:
        """True when sending `backlog` messages one by one would take longer than `fold_after`."""
        interval = 60.0 / self.pace.group_per_minute if is_group else self.pace.private_interval
        return backlog > 1 and (backlog - 1) * interval > self.pace.fold_after

    def forget(self, chat_id: int, is_group: bool) -> None:
        """Drop a chat's bookkeeping once nothing in it can still hold the chat back."""
        chat = self._chats.get(chat_id)
        if chat is None:
            return
        now = self.clock()
        span, _ = self._window(is_group)
        if (not chat.sent or chat.sent[-1] <= now - span) and chat.blocked_until <= now:
            del self._chats[chat_id]
