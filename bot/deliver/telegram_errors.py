"""What a Bot API error means for an outbox message, its chat and the chat's worker. Pure.

429 -> hold this chat for retry_after; 403, or a chat that no longer exists -> the chat is gone (its alerts
stop until it talks to the bot again); 400 "can't parse entities" -> send the plain-text rendering instead;
400 "message is not modified" -> the edit is already there; another 400 -> this message is refused; a
group upgraded to a supergroup -> move the chat; anything else (5xx, network) -> retry later with backoff.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from enum import Enum

from telegram.error import BadRequest, ChatMigrated, Forbidden, RetryAfter, TelegramError


class Outcome(Enum):
    HOLD_CHAT = "hold chat"
    CHAT_GONE = "chat gone"
    PLAIN_TEXT = "send plain text"
    ALREADY_THERE = "already there"
    REFUSED = "refused"
    CHAT_MOVED = "chat moved"
    RETRY_LATER = "retry later"


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    reason: str
    wait: float = 0.0
    new_chat_id: int | None = None


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def classify(error: TelegramError, *, plain: bool) -> Verdict:
    """The verdict on one failed call (`plain`: it already was the plain-text rendering)."""
    if isinstance(error, RetryAfter):
        return Verdict(Outcome.HOLD_CHAT, error.message, wait=_seconds(error.retry_after))
    if isinstance(error, Forbidden):
        return Verdict(Outcome.CHAT_GONE, error.message)
    if isinstance(error, ChatMigrated):
        return Verdict(Outcome.CHAT_MOVED, error.message, new_chat_id=error.new_chat_id)
    if isinstance(error, BadRequest):
        reason = error.message.lower()
        if not plain and "can't parse entities" in reason:
            return Verdict(Outcome.PLAIN_TEXT, error.message)
        if "message is not modified" in reason:
            return Verdict(Outcome.ALREADY_THERE, error.message)
        if "chat not found" in reason:
            return Verdict(Outcome.CHAT_GONE, error.message)
        return Verdict(Outcome.REFUSED, error.message)
    return Verdict(Outcome.RETRY_LATER, error.message)
