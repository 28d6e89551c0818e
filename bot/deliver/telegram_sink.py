"""The Telegram sink: alerts rendered and queued in the outbox for the chats that follow their topic.

`enqueue` writes the outbox rows inside the transaction that stores the alerts, so an alert is either
stored and queued or neither; what each chat gets (a new message, an edit, or nothing) is decided by
bot/alerts/messages.py. Chats count when subscribed, unmuted, active, and in `allowed_chats` when that is
set (narrowing the list stops chats that subscribed before). Operator notices go to the bot's admins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from html import escape

from sqlalchemy.ext.asyncio import AsyncConnection

from bot import clock
from bot.alerts.messages import Action, FirstMessage, plan_message
from bot.deliver.format import headline_of, render_alert
from bot.model import Alert, Notice
from bot.store.chats import know_private_chat, subscribers
from bot.store.outbox import NewMessage, enqueue, first_story_message
from bot.store.stories import merged_ids

NOTICE = "(notice)"
"""The outbox's topic for operator notices, which no rule id can equal (ids have no parentheses)."""


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
            stories = await merged_ids(conn, alert.story.id) if alert.story is not None else []
            for subscriber in await subscribers(conn, alert.rule_id, now):
                if self.allowed_chats and subscriber.chat_id not in self.allowed_chats:
                    continue
                first = None
                if stories and subscriber.digest == "off":
                    sent = await first_story_message(conn, subscriber.chat_id, alert.rule_id, stories)
                    first = FirstMessage(sent.outbox_id, sent.at) if sent else None
                plan = plan_message(
                    alert, subscriber.chat_id, digest=subscriber.digest != "off", first=first, now=now,
                    edit_window=self.edit_window,
                )
                if plan.action is Action.NOTHING:
                    continue
                messages.append(
                    NewMessage(
                        key=plan.key,
                        rule_id=alert.rule_id,
                        html=rendered.html,
                        plain=rendered.plain,
                        headline=headline_of(alert) if plan.action is Action.SEND else None,
                        chat_id=subscriber.chat_id,
                        thread_id=subscriber.thread_id if plan.action is Action.SEND else None,
                        alert_id=alert.id,
                        story_id=alert.story.id if alert.story else None,
                        held=plan.held,
                        edit_of=plan.edit_of,
                        published_at=alert.entry.published if plan.action is Action.SEND else None,
                    )
                )
        await enqueue(conn, messages)

    async def flush(self) -> None:
        """Ring the sender's bell (`TelegramSender(..., bell=sink.queued)`)."""
        self.queued.set()
