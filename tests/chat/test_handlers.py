"""The chat front end to end in one process: PTB Application polling the strict fake Bot API,
handlers on a real SQLite store and real rule files."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.ext import Application

from bot import clock
from bot.alerts.policy import group
from bot.chat.access import NOT_ALLOWED, NOT_BOT_ADMIN, NOT_CHAT_ADMIN
from bot.chat.front import build_application
from bot.config import Config, FeedConfig, TelegramConfig
from bot.deliver.telegram_sender import TelegramSender
from bot.deliver.telegram_sink import TelegramSink
from bot.model import Alert, AlertBatch, ClauseHit, Entry, FeedState, Match, Span, Story, StoryMember
from bot.rulebook.book import RuleBook
from bot.store.alerts import MatchRow, insert_alert, insert_matches
from bot.store.chats import chat_settings, followers, subscriptions_of
from bot.store.db import open_database
from bot.store.entries import add_new_entries
from bot.store.feeds import save_state, sync_feeds
from bot.store.outbox import NewMessage, enqueue
from bot.store.processes import ProcessRow, beat
from bot.store.stories import Filing, file_entries
from tests.e2e.fake_botapi import FakeBotApi, FakeLimits

RULES = Path(__file__).parent / "testdata" / "rules"
ADMIN = 99


@dataclass
class ChatRuntime:
    config: Config
    engine: AsyncEngine
    rulebook: RuleBook


@dataclass
class Front:
    api: FakeBotApi
    app: Application  # type: ignore[type-arg]
    runtime: ChatRuntime

    async def say(self, chat_id: int, user_id: int, text: str, thread_id: int | None = None) -> str:
        """A user sends a command; returns the bot's reply text."""
        before = len(self.api.sent(chat_id))
        await self.api.user_says(chat_id, user_id, text, thread_id)
        await self.api.wait_until(lambda: len(self.api.sent(chat_id)) > before)
        return self.api.sent(chat_id)[-1].text


async def _front(tmp_path: Path, allowed_chats: list[int]) -> AsyncIterator[Front]:
    """The bot as app.py runs it; chats here are quick conversations, not a test of pacing, so the fake
    tolerates a longer burst of replies in a private chat."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    async with FakeBotApi(limits=FakeLimits(private_burst=20)) as api:
        telegram = TelegramConfig(token=api.token, base_url=api.base_url, admins=[ADMIN], allowed_chats=allowed_chats)
        config = Config(database=f"sqlite:///{tmp_path / 'bot.db'}", rules=rules, telegram=telegram)
        engine = await open_database(config.database)
        runtime = ChatRuntime(config, engine, RuleBook.load(rules))
        app = build_application(runtime)
        async with app:
            await app.start()
            assert app.updater is not None
            await app.updater.start_polling(poll_interval=0, timeout=1)
            try:
                yield Front(api, app, runtime)
            finally:
                await app.updater.stop()
                await app.stop()
        await engine.dispose()


@pytest.fixture
async def front(tmp_path: Path) -> AsyncIterator[Front]:
    async for made in _front(tmp_path, allowed_chats=[]):
        yield made


async def test_start_and_command_list(front: Front) -> None:
    front.api.private_chat(1)
    assert "/subscribe" in await front.say(1, 1, "/start")
    await front.api.wait_until(lambda: "default" in front.api.commands)
    assert {"subscribe", "topics", "mute", "digest", "why", "status"} <= {
        c["command"] for c in front.api.commands["default"]
    }


async def test_subscribe_by_name_and_suggest_the_nearest(front: Front) -> None:
    front.api.private_chat(1)
    assert "Subscribed to Troop deployment" in await front.say(1, 1, "/subscribe troop deployment")
    assert "already follows" in await front.say(1, 1, "/subscribe troop-deployment")
    reply = await front.say(1, 1, "/subscribe trop-deploymnt")
    assert "No topic called" in reply and "troop-deployment" in reply
    assert [s.rule_id for s in await subscriptions_of(front.runtime.engine, 1)] == ["troop-deployment"]
    assert "Troop deployment" in await front.say(1, 1, "/mysubs")
    assert "Unsubscribed" in await front.say(1, 1, "/unsubscribe troop-deployment")
    assert await subscriptions_of(front.runtime.engine, 1) == []


async def test_only_group_admins_change_subscriptions(front: Front) -> None:
    front.api.group(-100, "Newsroom", admins={5}, supergroup=True, creator=4)
    assert await front.say(-100, 6, "/subscribe estonia") == NOT_CHAT_ADMIN
    assert await subscriptions_of(front.runtime.engine, -100) == []
    assert "Subscribed" in await front.say(-100, 5, "/subscribe estonia")
    assert "Subscribed" in await front.say(-100, 4, "/subscribe troop-deployment")
    assert "This chat follows" in await front.say(-100, 6, "/mysubs")


async def test_forum_subscription_keeps_its_thread(front: Front) -> None:
    front.api.group(-1001, "Forum", admins={5}, forum=True)
    assert "in this thread" in await front.say(-1001, 5, "/subscribe estonia", thread_id=77)
    assert front.api.sent(-1001)[-1].thread_id == 77
    assert [s.thread_id for s in await subscriptions_of(front.runtime.engine, -1001)] == [77]


async def test_topic_buttons_switch_subscriptions(front: Front) -> None:
    front.api.group(-100, "Newsroom", admins={5})
    await front.say(-100, 5, "/topics")
    listing = front.api.sent(-100)[-1]
    assert listing.callback_data == ["sub:estonia", "sub:troop-deployment"]
    refused = await front.api.press(-100, 6, listing.message_id, "sub:estonia")
    await front.api.wait_until(lambda: refused in front.api.answered)
    assert front.api.answered[refused]["text"] == NOT_CHAT_ADMIN
    pressed = await front.api.press(-100, 5, listing.message_id, "sub:estonia")
    await front.api.wait_until(lambda: "unsub:estonia" in front.api.sent(-100)[-1].callback_data)
    assert front.api.answered[pressed]["text"] == "Subscribed to Estonia."
    assert [s.rule_id for s in await subscriptions_of(front.runtime.engine, -100)] == ["estonia"]


async def test_mute_unmute_and_digest(front: Front) -> None:
    front.api.private_chat(1)
    engine = front.runtime.engine
    await front.say(1, 1, "/subscribe estonia")
    assert "Muted all topics until" in await front.say(1, 1, "/mute all 2h")
    async with engine.connect() as conn:
        assert [f.muted for f in await followers(conn, ["estonia"], clock.now())] == [True]
        assert [f.muted for f in await followers(conn, ["estonia"], clock.now() + timedelta(hours=3))] == [False]
    assert "not a duration" in await front.say(1, 1, "/mute estonia soon")
    assert await front.say(1, 1, "/unmute") == "Alerts resume."
    assert "hourly digest" in await front.say(1, 1, "/digest hourly")
    settings = await chat_settings(engine, 1, clock.now())
    assert settings is not None and settings.digest == "hourly"
    assert "Usage" in await front.say(1, 1, "/digest weekly")


async def test_bot_admin_commands(front: Front) -> None:
    front.api.private_chat(1)
    front.api.private_chat(ADMIN)
    assert await front.say(1, 1, "/status") == NOT_BOT_ADMIN
    status = await front.say(ADMIN, ADMIN, "/status")
    assert "Feeds" in status and "Rules: 2 loaded, 0 with errors" in status and "Outbox: 0 to send" in status
    (front.runtime.rulebook.directory / "broken.yaml").write_text("id: broken\ntitle: Broken\nquery: (a OR\n")
    reply = await front.say(ADMIN, ADMIN, "/reload")
    assert "Reloaded 2 rules, 1 with errors" in reply and "broken.yaml" in reply
    assert await front.say(1, 1, "/rules") == NOT_BOT_ADMIN
    listed = await front.say(ADMIN, ADMIN, "/rules")
    assert "alerts in the last 24 h / 7 d" in listed and "troop-deployment" in listed and ": 0 / 0" in listed


async def test_status_shows_a_long_failing_feed_and_latency(front: Front) -> None:
    engine = front.runtime.engine
    front.api.private_chat(ADMIN)
    feed = FeedConfig(url="http://127.0.0.1:9/err.xml", name="ERR News")
    feed_id = (await sync_feeds(engine, [feed]))[feed.url]
    now = clock.now()
    failing = FeedState(
        url=feed.url,
        name="ERR News",
        last_success_at=now - timedelta(hours=7),
        last_error="HTTP 503",
        last_error_at=now,
        consecutive_errors=9,
        failing_since=now - timedelta(hours=6, minutes=30),
        next_poll_at=now + timedelta(minutes=20),
        items_per_day=48.0,
    )
    async with engine.begin() as conn:
        await save_state(conn, feed_id, failing, title=None, polled_ok=False)
    status = await front.say(ADMIN, ADMIN, "/status")
    assert "ERR News: ok 7 h ago" in status and "48/day" in status
    assert "⚠ failing for 6 h: HTTP 503" in status


async def test_status_shows_the_processes_sharing_the_database(front: Front) -> None:
    front.api.private_chat(ADMIN)
    now = clock.now()
    async with front.runtime.engine.begin() as conn:
        await beat(conn, ProcessRow("a1b2c3", "desk-1", 4242, ("delivery", "ingest"), now - timedelta(hours=1), now))
        await beat(conn, ProcessRow("d4e5f6", "desk-2", 4343, (), now - timedelta(hours=1), now - timedelta(minutes=2)))
    status = await front.say(ADMIN, ADMIN, "/status")
    assert "Processes (0 fetched entries wait to be filed, 0 filed stories wait to be told)" in status
    assert "a1b2c3 desk-1 pid 4242: delivery, ingest, polling 0 feeds; heartbeat 0 s ago" in status
    assert "d4e5f6 desk-2 pid 4343: no role, polling 0 feeds; ⚠ stale, heartbeat 2 min ago" in status


async def _seed_story(engine: AsyncEngine) -> AlertBatch:
    """A stored article, filed as its own story, that matched both topics: estonia first (the matcher's
    order), then troop-deployment; both alerts stored, as the ingest stores them."""
    feed = FeedConfig(url="http://127.0.0.1:9/feed.xml", name="MENAFN")
    feed_id = (await sync_feeds(engine, [feed]))[feed.url]
    body = "Kallas refused to rule out sending Estonian troops to Ukraine."
    entry = Entry(feed.url, "MENAFN", "https://menafn.test/1", "Kallas on troops", summary=body)
    estonia = Match("estonia", "Estonia", (ClauseHit("Estonia OR Estonian", (Span("body", 43, 51, "Estonian"),)),))
    spans = (Span("body", 35, 42, "sending"), Span("body", 52, 58, "troops"))
    troops = Match("troop-deployment", "Troop deployment", (ClauseHit("troops NEAR/12 send*", spans),))
    async with engine.begin() as conn:
        (stored,) = await add_new_entries(conn, feed_id, [entry])
        await file_entries(conn, [Filing(stored.id, stored.id, None, b"")])
        member = StoryMember(stored.id, "MENAFN", entry.title, entry.url, None)
        story = Story(stored.id, entry.title, (member,), "MENAFN")
        match_ids = await insert_matches(conn, [MatchRow(stored.id, estonia), MatchRow(stored.id, troops)])
        alerts = [
            await insert_alert(conn, Alert(m.rule_id, m.rule_title, entry, m, story=story), stored.id, match_id)
            for m, match_id in zip((estonia, troops), match_ids, strict=True)
        ]
    return group(alerts, {story.id: story}, {}, frozenset())


async def test_one_message_per_story_its_why_button_and_recent(front: Front) -> None:
    engine = front.runtime.engine
    front.api.private_chat(1)
    await front.say(1, 1, "/subscribe troop-deployment")
    await front.say(1, 1, "/subscribe estonia")
    seed = await _seed_story(engine)
    story_id = seed.stories[0].story.id if seed.stories[0].story else 0
    async with engine.begin() as conn:
        await TelegramSink().enqueue(conn, seed)
    await TelegramSender(front.app.bot, engine).drain(timeout=10)
    delivered = front.api.sent(1)[-1]
    assert delivered.text.startswith("Kallas on troops") and "\nTopics: Troop deployment, Estonia\n" in delivered.text
    assert delivered.callback_data == [f"why:s{story_id}"]
    await front.api.press(1, 1, delivered.message_id, f"why:s{story_id}")
    await front.api.wait_until(lambda: front.api.sent(1)[-1].text.startswith("Why:"))
    why = front.api.sent(1)[-1].text
    assert why.startswith("Why: Troop deployment, Estonia\nTroop deployment (rule troop-deployment)\n")
    assert "• troops NEAR/12 send*: sending (body), troops (body)" in why
    assert "Estonia (rule estonia)\n• Estonia OR Estonian: Estonian (body)" in why
    assert "• MENAFN: Kallas on troops" in why
    listed = "Last 1 story: {}\n• Kallas on troops — MENAFN [Troop deployment, Estonia]"
    assert listed.format("Troop deployment") in await front.say(1, 1, "/recent troop-deployment")
    assert listed.format("this chat's topics") in await front.say(1, 1, "/recent")
    assert "No alert number 12345" in await front.say(1, 1, "/why 12345")


async def test_why_buttons_of_messages_sent_per_alert_still_answer(front: Front) -> None:
    """Messages sent before a story named its topics together carry `why:{alert}`."""
    engine = front.runtime.engine
    front.api.private_chat(1)
    await front.say(1, 1, "/subscribe troop-deployment")
    alert = (await _seed_story(engine)).stories[0].fresh[1]
    async with engine.begin() as conn:
        await enqueue(conn, [NewMessage("tg:1:troop-deployment:story:1", alert.rule_id, "<b>Kallas on troops</b>",
                                        "Kallas on troops", chat_id=1, alert_id=alert.id)])  # fmt: skip
    await TelegramSender(front.app.bot, engine).drain(timeout=10)
    delivered = front.api.sent(1)[-1]
    assert delivered.callback_data == [f"why:{alert.id}"]
    await front.api.press(1, 1, delivered.message_id, f"why:{alert.id}")
    await front.api.wait_until(lambda: front.api.sent(1)[-1].text.startswith("Why:"))
    assert front.api.sent(1)[-1].text.startswith("Why: Troop deployment\n")


async def test_chats_outside_allowed_chats_are_refused(tmp_path: Path) -> None:
    async for front in _front(tmp_path, allowed_chats=[1]):
        front.api.private_chat(1)
        front.api.private_chat(2)
        assert await front.say(2, 2, "/subscribe estonia") == NOT_ALLOWED
        assert "Subscribed" in await front.say(1, 1, "/subscribe estonia")
