"""`newsbot run` as a separate process against the fake Bot API and a local feed server.

A user subscribes with /subscribe; the feed gains the seed articles; the user receives the alert with
title, link, outlet and marked words. Then, during a burst of 50 alerts (5 stories to 10 subscribers),
Telegram stops answering and the daemon is killed with SIGKILL mid-send; after a restart every alert
arrives exactly once.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot import clock
from bot.starter import RULES
from tests.e2e.burst import BURST_RULE, burst_items
from tests.e2e.daemon import DaemonProcess
from tests.e2e.fake_botapi import FakeBotApi, Message
from tests.feedserver import FeedServer, seed_items

pytestmark = pytest.mark.e2e

READERS = range(1001, 1011)
MARKABLE = r"troops|soldiers|ground forces|military personnel|deploy|send|sent|dispatch"


TOKEN = "424242:E2E-token"


@pytest.fixture
async def api() -> AsyncIterator[FakeBotApi]:
    async with FakeBotApi(token=TOKEN) as server:
        yield server


def write_config(tmp_path: Path, api: FakeBotApi, feed_server: FeedServer) -> Path:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "zephyrine.yaml").write_text(BURST_RULE)
    config = tmp_path / "config.yaml"
    settings = {
        "database": f"sqlite:///{tmp_path / 'newsbot.db'}",
        "rules": str(rules),
        "feeds": [{"url": feed_server.url("wire.xml"), "name": "Wire Service", "every": "1s", "fulltext": False}],
        "polling": {"min_interval": "1s", "jitter": 0},
        "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "base_url": api.base_url},
        # invented-word items on one template: the meaning signal cannot tell them apart, and need not here
        "stories": {"meaning": False},
    }
    config.write_text(yaml.safe_dump(settings))
    return config


async def until(condition: object, what: str, daemon: DaemonProcess, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}; daemon output:\n{daemon.output()[-3000:]}")
        await asyncio.sleep(0.05)


def recorded(database: Path) -> int:
    """Burst messages the daemon has marked sent in its outbox."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        query = "SELECT count(*) FROM outbox WHERE rule_id = 'zephyrine' AND status = 'sent'"
        return int(conn.execute(query).fetchone()[0])


def links(messages: list[Message]) -> list[str]:
    return [str(e["url"]) for m in messages for e in m.entities if e["type"] == "text_link"]


async def say(api: FakeBotApi, daemon: DaemonProcess, user: int, text: str, expect: str) -> None:
    before = len(api.sent(user))
    await api.user_says(user, user, text)
    await until(lambda: len(api.sent(user)) > before, f"a reply to {text}", daemon)
    assert expect in api.sent(user)[-1].text, api.sent(user)[-1].text


async def test_subscribe_receive_and_survive_kill_9(api: FakeBotApi, feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.feeds["wire.xml"] = []
    daemon = DaemonProcess(write_config(tmp_path, api, feed_server), tmp_path / "daemon.log", TOKEN)
    for reader in READERS:
        api.private_chat(reader)
    await daemon.start()
    try:
        await until(lambda: feed_server.requests.get("wire.xml", 0) >= 1, "the first poll", daemon)
        await until(lambda: any(c[0] == "getupdates" for c in api.calls), "long polling", daemon)
        await say(api, daemon, 1001, "/subscribe Troop deployment", "Subscribed to Troop deployment")
        for reader in READERS:
            await say(api, daemon, reader, "/subscribe zephyrine", "Subscribed to Zephyrine")

        now = clock.now()
        feed_server.feeds["wire.xml"] = seed_items((now, now))
        await until(lambda: any("Topic: Troop deployment" in m.text for m in api.sent(1001)), "the alert", daemon)
        alert = next(m for m in reversed(api.sent(1001)) if "Topic: Troop deployment" in m.text)
        assert set(links([alert])) & {"https://menafn.example/kallas-troops", "https://rewrite.example/estonia-leader"}
        assert "Wire Service · " in alert.text
        title = alert.text.splitlines()[0]
        bold = {alert.text[e["offset"] : e["offset"] + e["length"]] for e in alert.entities if e["type"] == "bold"}
        marked = bold - {title}
        assert marked and all(re.search(MARKABLE, word, re.IGNORECASE) for word in marked), alert.text
        assert alert.callback_data and alert.callback_data[0].startswith("why:")

        burst = burst_items(5)
        expected = {item.link for item in burst}

        def burst_received() -> list[str]:
            return [link for reader in READERS for link in links(api.sent(reader)) if link in expected]

        feed_server.feeds["wire.xml"] = seed_items((now, now)) + burst
        await until(lambda: len(burst_received()) >= 15, "the burst to start", daemon)
        api.hold_sends()
        await until(lambda: api.held > 0, "a send in flight", daemon)
        # Kill once the daemon has recorded every send Telegram accepted, while others hang unanswered.
        # What no client can tell apart is an answer lost with the process, as the Bot API has no
        # idempotency key: that one message would come twice (see bot/store/outbox.py).
        database = tmp_path / "newsbot.db"
        await until(lambda: recorded(database) == len(burst_received()), "accepted sends to be recorded", daemon)
        await daemon.kill()
        received_before_kill = len(burst_received())
        assert received_before_kill < 50
        api.release_sends()

        await daemon.start()
        await until(lambda: len(burst_received()) >= 50, "the rest of the burst after the restart", daemon, 60)
        await asyncio.sleep(2)
        for reader in READERS:
            got = Counter(link for link in links(api.sent(reader)) if link in expected)
            assert got == Counter(expected), f"chat {reader}: {got}"
        assert not [r for r in api.rejections if r[1] == 400], api.rejections
    finally:
        await daemon.stop()
