"""The Telegram sink: one message per chat and story, and one per chat and surge of a topic's volume,
rendered and queued in the outbox.

`enqueue` writes the outbox rows inside the transaction that stores the alerts, so an alert is either
stored and queued or neither. What each chat gets for a story (a new message naming the topics it follows,
an edit of the message it got, or nothing) is decided by bot/alerts/messages.py from rows the store returns:
the chats following the story's topics (with mutes) and the messages they got about it before. Chats count
when subscribed, active, and in `allowed_chats` when that is set, for topics whose rule names no `chats:` or
names them (narrowing either list stops chats that subscribed before). Operator notices go to the bot's
admins. A topic's spike goes to the chats following it that take spike messages (/spikes on, the default)
and have not muted it: a new message per surge, an edit per new peak (bot/alerts/spikes.py decides).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta
from html import escape

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import clock
from bot.alerts.messages import Action, FirstMessage, Follow, MessagePlan, Reader, plan_message
from bot.alerts.spikes import plan_spike_message, spike_key
from bot.deliver.format import Rendered, headline_of, redacted, render_story
from bot.deliver.spike_text import render_spike
from bot.logs import redact
from bot.match.rules import Rule
from bot.model import AlertBatch, Headline, Notice, SpikeAlert, StoryAlert
from bot.store.chats import Follower, followers, know_private_chat
from bot.store.outbox import NewMessage, StoryMessage, enqueue, keyed_messages, rewrite_held, story_messages
from bot.store.stories import merged_ids

NOTICE = "(notice)"
"""The outbox's topic for operator notices, which no rule id can equal (ids have no parentheses)."""


def readers_of(rows: Sequence[Follower]) -> list[Reader]:
    """The store's subscription rows (by chat, in subscription order) as the policy's readers."""
    follows: dict[int, list[Follow]] = {}
    digest: dict[int, bool] = {}
    for row in rows:
        follows.setdefault(row.chat_id, []).append(Follow(row.rule_id, row.thread_id, row.muted))
        digest[row.chat_id] = row.digest != "off"
    return [Reader(chat_id, tuple(chat_follows), digest[chat_id]) for chat_id, chat_follows in follows.items()]


def first_message(sent: Sequence[StoryMessage]) -> FirstMessage | None:
    """The oldest of the messages a chat got about a story and the stories merged into it."""
    if not sent:
        return None
    first = min(sent, key=lambda message: message.outbox_id)
    return FirstMessage(first.outbox_id, first.at, held=first.status == "held", folded=first.status == "folded")


def _message(story: StoryAlert, reader: Reader, plan: MessagePlan, rendered: Rendered, line: Headline) -> NewMessage:
    """The outbox row for a plan: a new message carries its summary line (for bursts and digests), an edit
    points at the message it edits."""
    lead = plan.topics[0]
    new = plan.action is not Action.EDIT
    return NewMessage(
        key=plan.key,
        rule_id=lead.rule_id,
        html=rendered.html,
        plain=rendered.plain,
        headline=line if new else None,
        chat_id=reader.chat_id,
        thread_id=plan.thread_id,
        alert_id=lead.id,
        story_id=story.story.id if story.story is not None else None,
        held=plan.held,
        edit_of=plan.edit_of if plan.action is Action.EDIT else None,
        published_at=lead.entry.published if new else None,
    )


class TelegramSink:
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
        self.rules: Callable[[], Sequence[Rule]] = tuple
        """The rules in force (app.py points it at the rule book): a rule's `chats:` narrows who gets it."""

    def _served(self, rows: Sequence[Follower]) -> list[Follower]:
        """Followers in `allowed_chats` (when set), of topics open to them."""
        closed = {rule.id: rule for rule in self.rules() if rule.chats}
        return [
            row for row in rows
            if (not self.allowed_chats or row.chat_id in self.allowed_chats)
            and (row.rule_id not in closed or closed[row.rule_id].open_to(row.chat_id))
        ]  # fmt: skip

    async def notify(self, conn: AsyncConnection, notice: Notice) -> None:
        """A private message to each bot admin (their user id is their chat with the bot)."""
        text = redact(f"⚠ {notice.text}")  # a feed's failure may quote its URL, key and all
        for admin in self.admins:
            await know_private_chat(conn, admin)
        await enqueue(
            conn,
            [
                NewMessage(key=f"tg:{admin}:{notice.key}", rule_id=NOTICE, html=escape(text), plain=text, chat_id=admin)
                for admin in self.admins
            ],
        )

    async def enqueue(self, conn: AsyncConnection, batch: AlertBatch) -> None:
        if not batch.stories:
            return
        now = clock.now()
        rules = {alert.rule_id for story in batch.stories for alert in story.alerts}
        readers = readers_of(self._served(await followers(conn, sorted(rules), now)))
        following: dict[str, list[Reader]] = {}
        for reader in readers:
            for follow in reader.follows:
                following.setdefault(follow.rule_id, []).append(reader)
        merged = await merged_ids(conn, [story.story.id for story in batch.stories if story.story is not None])
        sent: dict[tuple[int, int], list[StoryMessage]] = {}
        for message in await story_messages(conn, [story_id for ids in merged.values() for story_id in ids]):
            sent.setdefault((message.chat_id, message.story_id), []).append(message)
        messages: list[NewMessage] = []
        for story in batch.stories:
            ids = merged.get(story.story.id, []) if story.story is not None else []
            candidates = {r.chat_id: r for alert in story.alerts for r in following.get(alert.rule_id, [])}
            shown: dict[tuple[str, ...], tuple[Rendered, Headline]] = {}  # chats naming the same topics
            for reader in candidates.values():
                earlier = [message for story_id in ids for message in sent.get((reader.chat_id, story_id), [])]
                plan = plan_message(
                    story, reader, first=first_message(earlier), now=now, edit_window=self.edit_window
                )
                if plan is None:
                    continue
                named = tuple(alert.rule_id for alert in plan.topics)
                if named not in shown:
                    # a hostile item makes rendering the costliest step: a worker thread keeps the loop answering
                    rendered = redacted(await asyncio.to_thread(render_story, story.story, plan.topics), redact)
                    line = headline_of(plan.topics)
                    shown[named] = (rendered, replace(line, outlet=redact(line.outlet)))
                queued = _message(story, reader, plan, *shown[named])
                if plan.action is Action.REWRITE:
                    assert plan.edit_of is not None
                    await rewrite_held(conn, plan.edit_of, queued)
                else:
                    messages.append(queued)
        await enqueue(conn, messages)

    async def spike(self, conn: AsyncConnection, spike: SpikeAlert) -> None:
        now = clock.now()
        readers = [
            follower
            for follower in self._served(await followers(conn, [spike.rule_id], now))
            if follower.spikes and not follower.muted
        ]
        keys = {reader.chat_id: spike_key(reader.chat_id, spike.rule_id, spike.number) for reader in readers}
        got = await keyed_messages(conn, list(keys.values()))
        rendered = render_spike(spike)
        messages = []
        for reader in readers:
            sent = got.get(keys[reader.chat_id])
            first = FirstMessage(sent.outbox_id, sent.at) if sent is not None else None
            plan = plan_spike_message(spike, reader.chat_id, first=first, now=now, edit_window=self.edit_window)
            if plan is None:
                continue
            new = plan.action is Action.SEND
            messages.append(
                NewMessage(
                    key=plan.key, rule_id=spike.rule_id, html=rendered.html, plain=rendered.plain,
                    chat_id=reader.chat_id, thread_id=reader.thread_id if new else None, edit_of=plan.edit_of,
                )
            )  # fmt: skip
        await enqueue(conn, messages)

    async def flush(self) -> None:
        """Ring the sender's bell (`TelegramSender(..., bell=sink.queued)`)."""
        self.queued.set()
