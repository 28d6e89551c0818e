"""Telegram delivery through the real outbox (SQLite file) against the strict fake Bot API."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from prometheus_client import REGISTRY
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import Bot
from telegram.request import HTTPXRequest

from bot import clock
from bot.deliver.digests import send_digests
from bot.deliver.telegram_sender import TelegramSender
from bot.deliver.telegram_sink import TelegramSink
from bot.logs import hide_secrets
from bot.model import AlertBatch, Notice, SpikeAlert
from bot.store.alerts import move_alerts
from bot.store.chats import mute, remember_chat, set_digest, set_spikes, subscribe, subscriptions_of
from bot.store.db import open_database
from bot.store.outbox import NewMessage, enqueue, queue_counts
from bot.store.stories import merge_stories
from tests.deliver.factories import batch, grown, make_alert, matched_again, story
from tests.e2e.fake_botapi import FakeBotApi, FakeLimits


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    """The strictest pace: no burst at all in a private chat."""
    async with FakeBotApi(limits=FakeLimits(private_burst=1)) as server:
        yield server


@pytest.fixture
async def bot(api: FakeBotApi) -> AsyncIterator[Bot]:
    request = HTTPXRequest(connection_pool_size=64)
    async with Bot(api.token, base_url=api.base_url, request=request) as client:
        yield client


@pytest.fixture
async def sqlite_engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_database(f"sqlite:///{tmp_path / 'newsbot.db'}")
    yield engine
    await engine.dispose()


async def _subscribe(
    engine: AsyncEngine, api: FakeBotApi, chat_id: int, rule: str = "troops", thread_id: int | None = None
) -> None:
    chat = api.chats.get(chat_id) or api.private_chat(chat_id)
    await remember_chat(engine, chat_id, chat.type, chat.title)
    await subscribe(engine, chat_id, rule, thread_id, user_id=1)


def _latency_count() -> float:
    sample = REGISTRY.get_sample_value("newsbot_delivery_latency_seconds_count", {"sink": "telegram"})
    return sample or 0.0


async def _queue(engine: AsyncEngine, sender: TelegramSender, alerts: AlertBatch) -> None:
    sink = TelegramSink()
    async with engine.begin() as conn:
        await sink.enqueue(conn, alerts)
    await sink.flush()
    sender.wake()


async def test_burst_to_200_chats_gets_no_429(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    for chat_id in range(1, 201):
        await _subscribe(sqlite_engine, api, chat_id)
    api.group(-500, "Newsroom", admins={1})
    await _subscribe(sqlite_engine, api, -500)
    sender = TelegramSender(bot, sqlite_engine)
    await _queue(sqlite_engine, sender, batch(make_alert(1)))
    await _subscribe(sqlite_engine, api, 7, rule="kallas")
    await _subscribe(sqlite_engine, api, -500, rule="kallas")
    await _queue(sqlite_engine, sender, batch(make_alert(2, rule="kallas"), make_alert(3, rule="kallas")))
    await sender.drain(timeout=60)
    assert api.rate_limited() == []
    assert all(len(api.sent(chat_id)) == (3 if chat_id == 7 else 1) for chat_id in range(1, 201))
    assert [m.text.splitlines()[0] for m in api.sent(-500)] == ["Story number 1", "Story number 2", "Story number 3"]
    message = api.sent(7)[0]
    assert {"type": "text_link", "offset": 0, "length": 14, "url": "https://menafn.test/1"} in message.entities
    assert message.callback_data == ["why:1"]


async def test_429_holds_only_that_chat(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    for chat_id in (1, 2):
        await _subscribe(sqlite_engine, api, chat_id)
    api.flood(1, seconds=3)
    sender = TelegramSender(bot, sqlite_engine)
    await _queue(sqlite_engine, sender, batch(*(make_alert(n) for n in range(1, 4))))
    await sender.drain(timeout=30)
    assert [r[1] for r in api.rejections] == [429]
    assert [m.text.splitlines()[0] for m in api.sent(1)] == [f"Story number {n}" for n in range(1, 4)]
    assert max(m.accepted_at for m in api.sent(2)) < min(m.accepted_at for m in api.sent(1))


async def test_blocked_user_is_deactivated_once(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine, caplog: pytest.LogCaptureFixture
) -> None:
    await _subscribe(sqlite_engine, api, 1)
    await _subscribe(sqlite_engine, api, 2)
    api.block(1)
    sender = TelegramSender(bot, sqlite_engine)
    with caplog.at_level(logging.WARNING):
        await _queue(sqlite_engine, sender, batch(make_alert(1), make_alert(2)))
        await sender.drain(timeout=30)
        await _queue(sqlite_engine, sender, batch(make_alert(3)))
        await sender.drain(timeout=30)
    assert api.sent(1) == [] and len(api.sent(2)) == 3
    assert sum("paused" in r.getMessage() for r in caplog.records) == 1
    assert (await queue_counts(sqlite_engine)) == {"failed": 2}


async def test_bad_html_falls_back_to_plain_text(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    await _subscribe(sqlite_engine, api, 1)
    async with sqlite_engine.begin() as conn:
        await enqueue(conn, [NewMessage("k", "troops", "<b>Broken <i>markup</b>", "Broken markup", chat_id=1)])
    await TelegramSender(bot, sqlite_engine).drain(timeout=10)
    (message,) = api.sent(1)
    assert message.text == "Broken markup" and message.html is None
    assert any("can't parse entities" in r[2] for r in api.rejections)


async def test_plain_text_fallback_waits_out_a_429(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    await _subscribe(sqlite_engine, api, 1)
    async with sqlite_engine.begin() as conn:
        await enqueue(conn, [NewMessage("k", "troops", "<b>Broken", "Broken", chat_id=1)])
    api.flood(1, seconds=2)
    await TelegramSender(bot, sqlite_engine).drain(timeout=15)
    assert [m.text for m in api.sent(1)] == ["Broken"]
    assert 429 in [r[1] for r in api.rejections]


async def test_server_errors_are_retried(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    await _subscribe(sqlite_engine, api, 1)
    api.fail_next(1, status=502)
    sender = TelegramSender(bot, sqlite_engine, poll_every=0.2)
    await _queue(sqlite_engine, sender, batch(make_alert(1)))
    await sender.drain(timeout=15)
    assert len(api.sent(1)) == 1
    assert [r[1] for r in api.rejections] == [502]


async def test_burst_beyond_pace_is_folded(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    await _subscribe(sqlite_engine, api, 1)
    sender = TelegramSender(bot, sqlite_engine)
    await _queue(sqlite_engine, sender, batch(*(make_alert(n) for n in range(1, 31))))
    await sender.drain(timeout=20)
    (summary,) = api.sent(1)
    assert summary.text.startswith("30 new alerts")
    assert all(f"Story number {n} —" in summary.text for n in range(1, 31))


async def test_digest_collects_alerts_into_one_message(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    await _subscribe(sqlite_engine, api, 1)
    await set_digest(sqlite_engine, 1, "hourly")
    sender = TelegramSender(bot, sqlite_engine)
    await _queue(sqlite_engine, sender, batch(*(make_alert(n) for n in range(1, 4))))
    await sender.drain(timeout=10)
    assert api.sent(1) == []
    await send_digests(sqlite_engine, clock.now() + timedelta(minutes=61))
    await sender.drain(timeout=10)
    (digest,) = api.sent(1)
    assert digest.text.startswith("Your hourly digest: 3 alerts since")
    await send_digests(sqlite_engine, clock.now() + timedelta(minutes=62))
    await sender.drain(timeout=10)
    assert len(api.sent(1)) == 1


async def test_forum_subscription_goes_to_its_thread(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    api.group(-1001, "Forum", admins={1}, forum=True)
    await api.user_says(-1001, 1, "/subscribe troops", thread_id=42)
    await _subscribe(sqlite_engine, api, -1001, thread_id=42)
    sender = TelegramSender(bot, sqlite_engine)
    delivered_before = _latency_count()
    await _queue(sqlite_engine, sender, batch(make_alert(1)))
    await sender.drain(timeout=10)
    assert [m.thread_id for m in api.sent(-1001)] == [42]
    assert _latency_count() == delivered_before + 1


async def test_growing_story_edits_its_message(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    await _subscribe(sqlite_engine, api, 1)
    sender = TelegramSender(bot, sqlite_engine)
    first = make_alert(1, story=story(5, "MENAFN"))
    await _queue(sqlite_engine, sender, batch(first))
    await sender.drain(timeout=10)
    for _ in range(2):  # the same growth twice (a retried batch): one edit
        await _queue(sqlite_engine, sender, grown(story(5, "MENAFN", "Gazeta"), first))
        await sender.drain(timeout=10)
    (message,) = api.sent(1)
    assert "2 outlets: MENAFN, Gazeta; originally RIA News" in message.text
    assert len(message.edits) == 1
    assert message.callback_data == ["why:s5"]


async def test_an_edit_queued_before_its_message_went_out_waits_for_it(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine
) -> None:
    await _subscribe(sqlite_engine, api, 1)
    sender = TelegramSender(bot, sqlite_engine)
    first = make_alert(1, story=story(5, "MENAFN"))
    await _queue(sqlite_engine, sender, batch(first))
    await _queue(sqlite_engine, sender, grown(story(5, "MENAFN", "Gazeta"), first))  # both due in one pass
    await sender.drain(timeout=10)
    (message,) = api.sent(1)
    assert "2 outlets: MENAFN, Gazeta" in message.text and len(message.edits) == 1
    assert (await queue_counts(sqlite_engine)).get("failed") is None


async def test_a_spike_is_one_message_per_surge_and_an_edit_per_peak(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine
) -> None:
    for chat in (1, 2, 3):
        await _subscribe(sqlite_engine, api, chat)
    await set_spikes(sqlite_engine, 2, False)
    await mute(sqlite_engine, 3, "troops", clock.now() + timedelta(hours=1))
    sender = TelegramSender(bot, sqlite_engine)
    sink = TelegramSink()
    now = clock.now()
    for count, grew in ((14, False), (14, False), (17, True), (17, True), (21, True)):  # repeats: one each
        spike = SpikeAlert("troops", "Troops <b>&", 1, count, 2.0, now, now, grew, story(5, "MENAFN", "Gazeta"))
        async with sqlite_engine.begin() as conn:
            await sink.spike(conn, spike)
    sender.wake()
    await sender.drain(timeout=15)
    (message,) = api.sent(1)
    assert message.text.startswith("📈 Troops <b>&: 21 stories in the last hour, usually 2 (10x)\n"), message.text
    assert "\nMost told: " in message.text and "2 outlets: MENAFN, Gazeta; originally RIA News" in message.text
    assert [edit.split("\n")[0].split(": ", 1)[1] for edit in message.edits] == [
        "14 stories in the last hour, usually 2 (7x)",
        "17 stories in the last hour, usually 2 (8x)",
    ]
    assert message.callback_data == []
    assert api.sent(2) == [] and api.sent(3) == []


async def _three_topics(engine: AsyncEngine, api: FakeBotApi, chat_id: int) -> None:
    for rule in ("troops", "kallas", "estonia"):
        await _subscribe(engine, api, chat_id, rule=rule)


def _seed(story_id: int = 5, *outlets: str) -> AlertBatch:
    """The seed story: one article that matched three topics (in the matcher's order, not the reader's)."""
    seed = story(story_id, *(outlets or ("MENAFN",)))
    return batch(*(make_alert(n, rule, seed, entry=1) for n, rule in enumerate(("estonia", "kallas", "troops"), 1)))


async def test_a_story_matching_three_topics_is_one_message_naming_them(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine
) -> None:
    await _three_topics(sqlite_engine, api, 1)
    await _subscribe(sqlite_engine, api, 2, rule="estonia")
    sender = TelegramSender(bot, sqlite_engine)
    await _queue(sqlite_engine, sender, _seed())
    await sender.drain(timeout=10)
    (message,) = api.sent(1)
    assert "Topics: Troop deployment, Kaja Kallas, Estonia" in message.text
    bold = {message.text[e["offset"] : e["offset"] + e["length"]] for e in message.entities if e["type"] == "bold"}
    assert {"Kallas", "Estonian", "troops"} <= bold  # the words of every topic are marked
    (single,) = api.sent(2)
    assert "Topic: Estonia\n" in single.text and "Topics" not in single.text
    earlier = _seed().stories[0].fresh
    await _queue(sqlite_engine, sender, grown(story(5, "MENAFN", "Gazeta"), *earlier))
    await sender.drain(timeout=10)
    assert [len(m.edits) for m in api.sent(1) + api.sent(2)] == [1, 1]
    assert "Topics: Troop deployment, Kaja Kallas, Estonia\n2 outlets: MENAFN, Gazeta" in api.sent(1)[0].text


async def test_muted_topics_are_left_out_and_all_muted_gets_nothing(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine
) -> None:
    await _three_topics(sqlite_engine, api, 1)
    await _three_topics(sqlite_engine, api, 2)
    await _three_topics(sqlite_engine, api, 3)
    later = clock.now() + timedelta(hours=1)
    await mute(sqlite_engine, 1, "kallas", later)
    await mute(sqlite_engine, 2, "*", later)
    for rule in ("troops", "kallas", "estonia"):
        await mute(sqlite_engine, 3, rule, later)
    sender = TelegramSender(bot, sqlite_engine)
    await _queue(sqlite_engine, sender, _seed())
    await sender.drain(timeout=10)
    (message,) = api.sent(1)
    assert "Topics: Troop deployment, Estonia\n" in message.text
    assert api.sent(2) == [] and api.sent(3) == []


async def test_a_digest_lists_a_story_once_with_every_topic(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine
) -> None:
    await _three_topics(sqlite_engine, api, 1)
    await set_digest(sqlite_engine, 1, "hourly")
    sender = TelegramSender(bot, sqlite_engine)
    seed = story(5, "MENAFN")
    troops = make_alert(1, "troops", seed, entry=1)
    await _queue(sqlite_engine, sender, batch(troops))
    # Later the story matches two more of the chat's topics: its line in the waiting digest names them.
    more = [make_alert(2, "kallas", seed, entry=1), make_alert(3, "estonia", seed, entry=1)]
    await _queue(sqlite_engine, sender, matched_again(seed, [troops], *more))
    await _queue(sqlite_engine, sender, batch(make_alert(4, "kallas", story(8, "ERR"))))
    await sender.drain(timeout=10)
    assert api.sent(1) == []
    await send_digests(sqlite_engine, clock.now() + timedelta(minutes=61))
    await sender.drain(timeout=10)
    (digest,) = api.sent(1)
    assert digest.text.startswith("Your hourly digest: 2 alerts since")
    assert "• Story number 1 — MENAFN [Troop deployment, Kaja Kallas, Estonia]" in digest.text
    assert "• Story number 4 — MENAFN [Kaja Kallas]" in digest.text


async def test_a_merge_adds_outlets_to_the_older_message_and_sends_none(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine
) -> None:
    await _three_topics(sqlite_engine, api, 1)
    sender = TelegramSender(bot, sqlite_engine)
    older, younger = make_alert(1, "troops", story(5, "MENAFN")), make_alert(2, "estonia", story(8, "ERR"), entry=2)
    await _queue(sqlite_engine, sender, batch(older))
    await _queue(sqlite_engine, sender, batch(younger))
    await sender.drain(timeout=10)
    assert len(api.sent(1)) == 2
    async with sqlite_engine.begin() as conn:  # the story index merged story 8 into 5
        await merge_stories(conn, 5, [8])
        await move_alerts(conn, 5, [8])
    await _queue(sqlite_engine, sender, grown(story(5, "MENAFN", "ERR"), older, younger))
    await sender.drain(timeout=10)
    first, second = api.sent(1)
    assert len(first.edits) == 1 and second.edits == []
    assert "Topics: Troop deployment, Estonia\n2 outlets: MENAFN, ERR" in first.text


async def test_group_upgraded_to_supergroup_keeps_its_subscriptions(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine
) -> None:
    api.group(-5, "Newsroom", admins={1})
    await _subscribe(sqlite_engine, api, -5)
    api.upgrade(-5, -1005)
    sender = TelegramSender(bot, sqlite_engine)
    await _queue(sqlite_engine, sender, batch(make_alert(1)))
    await sender.drain(timeout=15)
    await _queue(sqlite_engine, sender, batch(make_alert(2)))
    await sender.drain(timeout=15)
    assert [m.text.splitlines()[0] for m in api.sent(-1005)] == ["Story number 1", "Story number 2"]
    assert [s.rule_id for s in await subscriptions_of(sqlite_engine, -1005)] == ["troops"]
    assert await subscriptions_of(sqlite_engine, -5) == []


async def test_chats_no_longer_allowed_get_nothing(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    for chat_id in (1, 2):
        await _subscribe(sqlite_engine, api, chat_id)
    sender = TelegramSender(bot, sqlite_engine)
    async with sqlite_engine.begin() as conn:
        await TelegramSink(allowed_chats=[2]).enqueue(conn, batch(make_alert(1)))
    await sender.drain(timeout=10)
    assert api.sent(1) == [] and len(api.sent(2)) == 1


async def test_notices_reach_each_admin_once(api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine) -> None:
    for admin in (41, 42):
        api.private_chat(admin)
    sink = TelegramSink(admins=[41, 42])
    notice = Notice("feed:err:1", "ERR News has failed for 6 h: HTTP 503 <Service Unavailable>")
    for _ in range(2):
        async with sqlite_engine.begin() as conn:
            await sink.notify(conn, notice)
    sender = TelegramSender(bot, sqlite_engine)
    await sink.flush()
    sender.wake()
    await sender.drain(timeout=30)
    for admin in (41, 42):
        assert [m.text for m in api.sent(admin)] == ["⚠ ERR News has failed for 6 h: HTTP 503 <Service Unavailable>"]


async def test_plain_text_fallback_is_the_same_in_every_run(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine
) -> None:
    """Issue 20, item 9: with a server that counts a refused message against the chat's pace, the plain-text
    retry waits its turn like any send, so no run meets a 429 and every run ends with the same messages."""
    api.limits = FakeLimits(private_burst=1, count_refused=True)
    await _subscribe(sqlite_engine, api, 1)
    sender = TelegramSender(bot, sqlite_engine)
    for run in range(2):
        async with sqlite_engine.begin() as conn:
            await enqueue(conn, [
                NewMessage(f"{run}-a", "troops", "<b>Before</b>", "Before", chat_id=1),
                NewMessage(f"{run}-b", "troops", "<b>Broken <i>markup</b>", "Broken markup", chat_id=1),
                NewMessage(f"{run}-c", "troops", "<b>After</b>", "After", chat_id=1),
            ])  # fmt: skip
        await sender.drain(timeout=20)
        assert [m.text for m in api.sent(1)[3 * run :]] == ["Before", "Broken markup", "After"]
        assert api.sent(1)[3 * run + 1].html is None
    assert api.rate_limited() == []
    assert (await queue_counts(sqlite_engine)) == {}  # nothing pending, held or failed


async def test_a_feed_shown_by_its_address_never_shows_its_key(
    api: FakeBotApi, bot: Bot, sqlite_engine: AsyncEngine
) -> None:
    """A feed that never named itself is shown by its address; a key the config took from the environment
    (hidden as the CLI hides it once config.yaml is read) does not reach the chat, nor its burst summary line."""
    hide_secrets(["key-3c9d1e7f"])
    await _subscribe(sqlite_engine, api, 1)
    alert = make_alert(1)
    alert = replace(alert, entry=replace(alert.entry, outlet="127.0.0.1:9/wire.xml?key=key-3c9d1e7f"))
    sender = TelegramSender(bot, sqlite_engine)
    await _queue(sqlite_engine, sender, batch(alert))
    await sender.drain(timeout=10)
    (message,) = api.sent(1)
    assert "127.0.0.1:9/wire.xml?key=*** · " in message.text and "key-3c9d1e7f" not in message.text
    async with sqlite_engine.connect() as conn:
        stored = (await conn.execute(sa.text("SELECT html, plain, headline FROM outbox"))).one()
    assert "key-3c9d1e7f" not in str(stored)
