"""For one chat and one alert: a new message, an edit of the message the chat got, or nothing. Pure.

- A chat in digest mode gets the alert held for its digest (a repeat is held once: the message key).
- An alert the chat never got a message for: a new message, keyed (chat, topic, story), so a retried
  batch never sends it twice.
- A story the chat got a message about (it grew: another outlet joined, or another story merged into
  it), within `edit_window` of that message: an edit of it, keyed by the number of outlets, so each growth
  is one edit and nobody gets a second message for one story.
- Later growth: nothing; the chat knows the story, and an edit days later would go unseen.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from bot.model import Alert


class Action(Enum):
    SEND = "send"
    EDIT = "edit"
    NOTHING = "nothing"


@dataclass(frozen=True, slots=True)
class FirstMessage:
    """The first message a chat got about a story for a topic: its outbox id and when it went out."""

    outbox_id: int
    at: datetime


@dataclass(frozen=True, slots=True)
class MessagePlan:
    """What to queue for one chat: the action, the outbox key, the message edited, and whether it is held
    for a digest."""

    action: Action
    key: str
    edit_of: int | None = None
    held: bool = False


def message_key(chat_id: int, alert: Alert) -> str:
    """Idempotency key: one message per (chat, topic, story), or per (chat, alert) outside stories."""
    if alert.story is not None:
        return f"tg:{chat_id}:{alert.rule_id}:story:{alert.story.id}"
    if alert.id is not None:
        return f"tg:{chat_id}:alert:{alert.id}"
    return f"tg:{chat_id}:{alert.rule_id}:entry:{alert.entry.key}"


def plan_message(
    alert: Alert, chat_id: int, *, digest: bool, first: FirstMessage | None, now: datetime, edit_window: timedelta
) -> MessagePlan:
    """What a chat gets for this alert (see the module's rules)."""
    key = message_key(chat_id, alert)
    if digest:
        return MessagePlan(Action.SEND, key, held=True)
    if alert.story is None or first is None:
        return MessagePlan(Action.SEND, key)
    if now - first.at > edit_window:
        return MessagePlan(Action.NOTHING, key)
    return MessagePlan(Action.EDIT, f"{key}:outlets:{len(alert.story.outlets)}", edit_of=first.outbox_id)
