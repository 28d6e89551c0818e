"""Issue 12, item 1, end to end: one story, one message.

Three processes talking HTTP on 127.0.0.1: `newsbot run`, the fake Bot API (botapi_process.py) and this
test with its feed server. Readers subscribe with commands; MENAFN publishes the seed article, which matches
three topics; then Baltic Rewrite publishes its rewrite crediting RIA News, which joins the story. Each
reader gets ONE message naming the topics it follows (muted ones left out, nothing when all are muted), and
exactly one edit when the second outlet joins; its Why? explains every topic named and lists both outlets.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot import clock
from bot.starter import RULES
from tests.app.daemon import Daemon, running_daemon
from tests.e2e.botapi_process import BotApiProcess, Sent
from tests.feedserver import FeedServer, seed_items

pytestmark = pytest.mark.e2e

TOKEN = "434343:story-token"
THREE = "Topics: Troop deployment, Kaja Kallas, Estonia"
BOTH = "2 outlets: MENAFN, Baltic Rewrite; originally RIA News"


def write_config(folder: Path, api: BotApiProcess, feeds: FeedServer) -> Path:
    config = {
        "database": f"sqlite:///{folder / 'newsbot.db'}",
        "rules": str(RULES),
        "feeds": [
            {"url": feeds.url("menafn.xml"), "name": "MENAFN", "every": "1s", "fulltext": False},
            {"url": feeds.url("rewrite.xml"), "name": "Baltic Rewrite", "every": "1s", "fulltext": False},
        ],
        "polling": {"min_interval": "1s", "jitter": 0},
        "telegram": {"token": TOKEN, "base_url": api.base_url},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def say(api: BotApiProcess, chat: int, text: str, expect: str) -> str:
    """A reader sends a command; the bot's reply, which must contain `expect`."""
    before = len(await api.sent(chat))
    await api.user_says(chat, chat, text)
    received = await api.wait_for(chat, lambda sent: len(sent) > before, f"a reply to {text}")
    assert expect in received[-1].text, received[-1].text
    return received[-1].text


def alerts(sent: list[Sent]) -> list[Sent]:
    return [message for message in sent if "\nTopic" in message.text and not message.text.startswith("Last ")]


async def until(condition: object, what: str, daemon: Daemon, timeout: float = 30) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not await condition():  # type: ignore[operator]
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.1)


async def test_a_story_matching_three_topics_is_one_message_edited_once(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.feeds["menafn.xml"] = []
    feed_server.feeds["rewrite.xml"] = []
    async with BotApiProcess(TOKEN) as api:
        readers = {1001: "all three", 1002: "Estonia only", 1003: "all muted", 1004: "one muted"}
        for reader in readers:
            await api.private_chat(reader)
        async with running_daemon(write_config(tmp_path, api, feed_server)) as daemon:

            async def polling() -> bool:
                both = min(feed_server.requests.get(feed, 0) for feed in ("menafn.xml", "rewrite.xml")) >= 1
                return both and "getupdates" in await api.calls()

            await until(polling, "the first polls and the Telegram front", daemon)
            for reader in (1001, 1003, 1004):
                for topic in ("Troop deployment", "Kaja Kallas", "Estonia"):
                    await say(api, reader, f"/subscribe {topic}", f"Subscribed to {topic}")
            await say(api, 1002, "/subscribe estonia", "Subscribed to Estonia")
            await say(api, 1003, "/mute all 2h", "Muted all topics")
            await say(api, 1004, "/mute kaja-kallas 2h", "Muted Kaja Kallas")

            now = clock.now()
            rewrite, menafn = seed_items((now, now - timedelta(minutes=5)))
            feed_server.feeds["menafn.xml"] = [menafn]
            await api.wait_for(1001, lambda sent: bool(alerts(sent)), "the story's message")
            feed_server.feeds["rewrite.xml"] = [rewrite]
            await api.wait_for(1001, lambda sent: bool(alerts(sent)[0].edits), "the edit when Baltic Rewrite joins")
            await asyncio.sleep(3)  # time for any second message or edit that should not come

            (message,) = alerts(await api.sent(1001))
            assert f"\n{THREE}\n{BOTH}\n" in message.text, message.text
            assert len(message.edits) == 1 and f"\n{THREE}\n" in message.edits[0]
            assert message.text.startswith("Estonian PM Kallas declines to rule out sending troops to Ukraine\n")
            (estonia,) = alerts(await api.sent(1002))
            assert "\nTopic: Estonia\n" in estonia.text and BOTH in estonia.text and len(estonia.edits) == 1
            assert alerts(await api.sent(1003)) == []
            (muted,) = alerts(await api.sent(1004))
            assert "\nTopics: Troop deployment, Estonia\n" in muted.text and len(muted.edits) == 1

            (data,) = message.callback_data
            await api.press(1001, 1001, message.message_id, data)
            received = await api.wait_for(1001, lambda sent: sent[-1].text.startswith("Why:"), "the Why? answer")
            why = received[-1].text
            assert why.startswith(f"Why: {THREE.removeprefix('Topics: ')}\n"), why
            for rule in ("troop-deployment", "kaja-kallas", "estonia"):
                explained = why.split(f"(rule {rule})", 1)[1].split("\n")[1]
                assert explained.startswith("• ") and "(body)" in explained, why
            assert "Story: originally RIA News" in why and "• MENAFN: " in why and "• Baltic Rewrite: " in why

            recent = await say(api, 1001, "/recent", "Last 1 story: this chat's topics")
            assert recent.count("\n• ") == 1 and "[Troop deployment, Kaja Kallas, Estonia]" in recent
            assert not [r for r in await api.rejections() if r[1] == 400]
