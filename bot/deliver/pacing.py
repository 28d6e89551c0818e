"""Telegram's pace: about 1 message/s per private chat, 20/min per group, 30/s overall.

`Pacer` is bookkeeping on a monotonic clock: a chat waits for its own pace first, then books one of the
global slots, so a sender sleeps until then; a 429 holds only the chat it came for. `should_fold` says when a chat's
backlog would take longer than `fold_after` at its pace, so the sender folds it into one summary message
instead of delaying the last alert for minutes.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Pace:
    private_interval: float = 1.0
    group_interval: float = 3.0
    global_interval: float = 1 / 30
    fold_after: float = 20.0


@dataclass(slots=True)
class _ChatSlots:
    next_at: float = 0.0
    blocked_until: float = 0.0


@dataclass
class Pacer:
    pace: Pace = Pace()
    clock: Callable[[], float] = time.monotonic
    _chats: dict[int, _ChatSlots] = field(default_factory=dict)
    _global_next: float = 0.0

    def interval(self, is_group: bool) -> float:
        return self.pace.group_interval if is_group else self.pace.private_interval

    def ready_at(self, chat_id: int) -> float:
        """When this chat's own pace (and any 429 hold) next allows a message."""
        slots = self._chats.get(chat_id)
        if slots is None:
            return self.clock()
        return max(self.clock(), slots.next_at, slots.blocked_until)

    def book(self, chat_id: int, is_group: bool) -> float:
        """Book the next global slot for a chat whose `ready_at` has come; returns when to send.

        Only ready chats book global slots, so a chat held by a 429 never delays the others.
        """
        slots = self._chats.setdefault(chat_id, _ChatSlots())
        at = max(self.clock(), self._global_next)
        self._global_next = at + self.pace.global_interval
        slots.next_at = at + self.interval(is_group)
        return at

    async def wait_turn(self, chat_id: int, is_group: bool) -> None:
        """Sleep until this chat may send, then until its global slot (one waiter per chat at a time)."""
        while (delay := self.ready_at(chat_id) - self.clock()) > 0:
            await asyncio.sleep(delay)
        delay = self.book(chat_id, is_group) - self.clock()
        if delay > 0:
            await asyncio.sleep(delay)

    def retry_after(self, chat_id: int, seconds: float) -> None:
        """Telegram answered 429 for this chat: hold only this chat for `seconds`."""
        slots = self._chats.setdefault(chat_id, _ChatSlots())
        slots.blocked_until = max(slots.blocked_until, self.clock() + seconds)

    def should_fold(self, backlog: int, is_group: bool) -> bool:
        """True when sending `backlog` messages one by one would take longer than `fold_after`."""
        return backlog > 1 and (backlog - 1) * self.interval(is_group) > self.pace.fold_after

    def forget(self, chat_id: int) -> None:
        """Drop a chat's bookkeeping once its backlog is empty and its slots are in the past."""
        slots = self._chats.get(chat_id)
        if slots and max(slots.next_at, slots.blocked_until) <= self.clock():
            del self._chats[chat_id]
