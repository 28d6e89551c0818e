"""For one reader and one story: a new message naming its topics, an edit of the message it got, or nothing.
Pure.

A reader (a Telegram chat) gets one message per story, naming every topic it follows that matched, in the
order it subscribed to them; muted topics are left out, and a story whose topics are all muted sends nothing.

- A story the chat never got a message about: a new message, keyed (chat, story), so a retried batch never
  sends it twice. A chat in digest mode gets it held for its digest.
- A story the chat got a message about, that grew (another outlet joined, or another story merged into it)
  or matched another topic the chat follows: within `edit_window` of that message, an edit of it, keyed by
  the number of outlets and the topics named, so each real change is exactly one edit. A message still held
  for the digest is rewritten instead; one already folded into a digest is left alone.
- Anything else: nothing. After `edit_window` the chat knows the story, and an edit days later would go unseen.

Outbound-only channels (Apprise) get one message per story for the topics they follow, when one of them is
new; they cannot edit (`channel_topics`).
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum

from bot.model import Alert, StoryAlert


class Action(Enum):
    SEND = "send"
    EDIT = "edit"
    REWRITE = "rewrite"


@dataclass(frozen=True, slots=True)
class Follow:
    """A topic a chat follows: the forum thread its alerts go to, and whether it is muted now."""

    rule_id: str
    thread_id: int | None = None
    muted: bool = False


@dataclass(frozen=True, slots=True)
class Reader:
    """A chat as the policy sees it: the topics it follows in the order it subscribed, and its digest mode."""

    chat_id: int
    follows: tuple[Follow, ...]
    digest: bool = False


@dataclass(frozen=True, slots=True)
class FirstMessage:
    """The first message a chat got about a story (or a story merged into it): its outbox id, when it went
    out (else was queued), and whether it still waits for the digest or was folded into one."""

    outbox_id: int
    at: datetime
    held: bool = False
    folded: bool = False


@dataclass(frozen=True, slots=True)
class MessagePlan:
    """What to queue for one chat and story: the action, the outbox key, the topics' alerts to name, the
    forum thread, the message edited or rewritten, and whether a new message is held for a digest."""

    action: Action
    key: str
    topics: tuple[Alert, ...]
    thread_id: int | None = None
    edit_of: int | None = None
    held: bool = False


def named_topics(alerts: Sequence[Alert], follows: Sequence[Follow]) -> tuple[Alert, ...]:
    """The alerts of the topics followed and not muted, in the order of `follows`."""
    by_rule = {alert.rule_id: alert for alert in alerts}
    return tuple(by_rule[f.rule_id] for f in follows if not f.muted and f.rule_id in by_rule)


def message_key(chat_id: int, story: StoryAlert) -> str:
    """Idempotency key: one message per (chat, story), or per (chat, alert) outside stories."""
    if story.story is not None:
        return f"tg:{chat_id}:story:{story.story.id}"
    (alert,) = story.alerts
    if alert.id is not None:
        return f"tg:{chat_id}:alert:{alert.id}"
    return f"tg:{chat_id}:{alert.rule_id}:entry:{alert.entry.key}"


def edit_key(key: str, story: StoryAlert, topics: Sequence[Alert]) -> str:
    """One edit per state of the message: its outlets and the topics it names (hashed: ids run long)."""
    outlets = len(story.story.outlets) if story.story is not None else 1
    named = hashlib.sha256("\n".join(alert.rule_id for alert in topics).encode()).hexdigest()[:12]
    return f"{key}:outlets:{outlets}:topics:{named}"


def plan_message(
    story: StoryAlert, reader: Reader, *, first: FirstMessage | None, now: datetime, edit_window: timedelta
) -> MessagePlan | None:
    """What a chat gets for this story (see the module's rules); None for nothing."""
    topics = named_topics(story.alerts, reader.follows)
    if not topics:
        return None
    if not story.grown and not story.fresh_topics & {alert.rule_id for alert in topics}:
        return None
    key = message_key(reader.chat_id, story)
    if first is None:
        lead = next(f for f in reader.follows if f.rule_id == topics[0].rule_id)
        return MessagePlan(Action.SEND, key, topics, lead.thread_id, held=reader.digest)
    if first.folded or now - first.at > edit_window:
        return None
    if first.held:
        return MessagePlan(Action.REWRITE, key, topics, edit_of=first.outbox_id)
    return MessagePlan(Action.EDIT, edit_key(key, story, topics), topics, edit_of=first.outbox_id)


def channel_topics(story: StoryAlert, topics: Collection[str]) -> tuple[Alert, ...]:
    """What an outbound-only channel following `topics` (empty: every topic) gets for a story: the alerts
    to name, or none when no topic it follows is new to the story."""
    named = tuple(alert for alert in story.alerts if not topics or alert.rule_id in topics)
    return named if story.fresh_topics & {alert.rule_id for alert in named} else ()
