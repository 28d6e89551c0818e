"""Apprise channels through the outbox, against a real JSON webhook on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import AppriseTarget
from bot.deliver.apprise import AppriseSender, AppriseSink
from bot.store.db import open_database
from bot.store.outbox import queue_counts
from tests.conftest import Webhook
from tests.deliver.factories import batch, grown, make_alert, matched_again, story


@pytest.fixture
async def engine(tmp_path: Path) -> AsyncIterator[AsyncEngine]:
    engine = await open_database(f"sqlite:///{tmp_path / 'bot.db'}")
    yield engine
    await engine.dispose()


async def _run_until(sender: AppriseSender, engine: AsyncEngine, done: object) -> None:
    task = asyncio.create_task(sender.run())
    try:
        async with asyncio.timeout(20):
            while not done():  # type: ignore[operator]
                await asyncio.sleep(0.05)
    finally:
        sender.stop()
        await task


async def test_topic_channels_get_each_alert_once(webhook: Webhook, engine: AsyncEngine) -> None:
    url = SecretStr(f"json://127.0.0.1:{webhook.port}/hook")
    targets = [
        AppriseTarget(url=url, topics=["troops"]),
        AppriseTarget(url=SecretStr("json://127.0.0.1:9/x"), topics=["other"]),
    ]
    sink = AppriseSink(targets)
    for _ in range(2):
        async with engine.begin() as conn:
            await sink.enqueue(conn, batch(make_alert(1), make_alert(2)))
        await sink.flush()
    sender = AppriseSender(engine, targets, sink.queued, poll_every=0.1)
    await _run_until(sender, engine, lambda: len(webhook.received) >= 2)
    assert [m["title"] for m in webhook.received] == ["Story number 1", "Story number 2"]
    assert "https://menafn.test/1" in webhook.received[0]["message"]
    assert await queue_counts(engine) == {}


async def test_failing_channel_is_retried(webhook: Webhook, engine: AsyncEngine) -> None:
    webhook.failing = 1
    targets = [AppriseTarget(url=SecretStr(f"json://127.0.0.1:{webhook.port}/hook"))]
    sink = AppriseSink(targets)
    async with engine.begin() as conn:
        await sink.enqueue(conn, batch(make_alert(1)))
    sender = AppriseSender(engine, targets, sink.queued, poll_every=0.2)
    await _run_until(sender, engine, lambda: webhook.received)
    assert len(webhook.received) == 1 and webhook.failing == 0


async def test_a_channel_gets_one_message_per_story_naming_the_topics_it_follows(
    webhook: Webhook, engine: AsyncEngine
) -> None:
    """Three topics matched the seed story: the channel following two of them gets one message naming both,
    the channel following every topic one naming all three; neither hears of the story again when it
    matches another topic or grows."""
    hook = f"json://127.0.0.1:{webhook.port}/hook"
    targets = [
        AppriseTarget(url=SecretStr(f"{hook}?kind=two"), topics=["kallas", "troops"]),
        AppriseTarget(url=SecretStr(f"{hook}?kind=all")),
    ]
    sink = AppriseSink(targets)
    seed = story(5, "MENAFN")
    alerts = [make_alert(n, rule, seed, entry=1) for n, rule in enumerate(("estonia", "kallas", "troops"), 1)]
    async with engine.begin() as conn:
        await sink.enqueue(conn, batch(*alerts))
        await sink.enqueue(conn, matched_again(seed, alerts, make_alert(4, "sanctions", seed, entry=1)))
        await sink.enqueue(conn, grown(story(5, "MENAFN", "ERR"), *alerts))
    sender = AppriseSender(engine, targets, sink.queued, poll_every=0.1)
    await _run_until(sender, engine, lambda: len(webhook.received) >= 2)
    await asyncio.sleep(0.5)
    topics = sorted(line for m in webhook.received for line in m["message"].splitlines() if line.startswith("Topic"))
    assert topics == ["Topics: Estonia, Kaja Kallas, Troop deployment", "Topics: Kaja Kallas, Troop deployment"]
    assert [m["title"] for m in webhook.received] == ["Story number 1"] * 2


async def test_a_surge_is_one_message_per_channel_following_its_topic(webhook: Webhook, engine: AsyncEngine) -> None:
    from bot import clock
    from bot.model import SpikeAlert

    url = SecretStr(f"json://127.0.0.1:{webhook.port}/hook")
    other = AppriseTarget(url=SecretStr("json://127.0.0.1:9/x"), topics=["other"])
    targets = [AppriseTarget(url=url, topics=["troops"]), other]
    sink = AppriseSink(targets)
    now = clock.now()
    for count, grew in ((14, False), (14, False), (17, True)):  # repeated, then grown: one message
        async with engine.begin() as conn:
            await sink.spike(conn, SpikeAlert("troops", "Troops", 2, count, 2.0, now, now, grew, story(5, "MENAFN")))
        await sink.flush()
    sender = AppriseSender(engine, targets, sink.queued, poll_every=0.1)
    await _run_until(sender, engine, lambda: len(webhook.received) >= 1)
    await asyncio.sleep(0.3)
    (message,) = webhook.received
    assert message["title"] == "📈 Troops: 14 stories in the last hour, usually 2 (7x)"
    assert "Most told: " in message["message"] and await queue_counts(engine) == {}
