"""Issue 20, item 6, through `newsbot run`: who may see what. A desk topic names its client chat (`chats:` in
the rule file); another chat cannot list, follow, chart or explain it, and no chat reads the Why? of an alert
or story it did not receive and whose topic it does not follow (/why N, forged `why:s<id>` buttons). A chat
that followed a topic before the rule was closed to it gets neither its alerts nor its spike messages."""

from __future__ import annotations

import contextlib
import re
import sqlite3
from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot import clock
from tests.e2e.burst import BURST_RULE, burst_items
from tests.e2e.daemon import DaemonProcess
from tests.e2e.fake_botapi import FakeBotApi, Message
from tests.e2e.test_telegram_e2e import TOKEN, api, say, until
from tests.feedserver import FeedServer, Item
from tests.trends.items import harbour_items, write_rules

pytestmark = pytest.mark.e2e
__all__ = ["api"]  # the fixture

CLIENT, OTHER, NEWBIE = 2001, 2002, 2003
DESK = f"id: desk\ntitle: Client desk\nquery: quillwort\nchats: [{CLIENT}]\n"


def _config(
    tmp_path: Path, api: FakeBotApi, feed_server: FeedServer, rules: Path, extra: dict[str, object] | None = None,
    **telegram: object,
) -> Path:
    config = tmp_path / "config.yaml"
    settings = {
        **(extra or {}),
        "database": f"sqlite:///{tmp_path / 'newsbot.db'}",
        "rules": str(rules),
        "feeds": [{"url": feed_server.url("wire.xml"), "name": "Wire Service", "every": "1s", "fulltext": False}],
        "polling": {"min_interval": "1s", "jitter": 0},
        "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "base_url": api.base_url, **telegram},
    }
    config.write_text(yaml.safe_dump(settings))
    return config


def _alert_ids(database: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(rule, entry link) -> (alert id, story id)."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        query = "SELECT a.rule_id, e.url, a.id, a.story_id FROM alerts a JOIN entries e ON e.id = a.entry_id"
        rows = conn.execute(query)
        return {(rule, url): (alert, story) for rule, url, alert, story in rows}


async def _press(api: FakeBotApi, daemon: DaemonProcess, chat: int, message: Message, data: str) -> str:
    """A forged button press under one of the bot's messages in `chat`; what the bot answered (a new message's
    text, or the callback answer's text)."""
    before = len(api.sent(chat))
    query = await api.press(chat, chat, message.message_id, data, forged=True)
    await until(lambda: query in api.answered, f"the answer to {data}", daemon)
    await until(lambda: len(api.sent(chat)) > before or "text" in api.answered[query], f"a reply to {data}", daemon, 5)
    return api.sent(chat)[-1].text if len(api.sent(chat)) > before else str(api.answered[query]["text"])


async def test_no_chat_reads_what_it_did_not_receive(api: FakeBotApi, feed_server: FeedServer, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "zephyrine.yaml").write_text(BURST_RULE)
    (rules / "desk.yaml").write_text(DESK)
    feed_server.feeds["wire.xml"] = []
    daemon = DaemonProcess(_config(tmp_path, api, feed_server, rules), tmp_path / "daemon.log", TOKEN)
    for chat in (CLIENT, OTHER, NEWBIE):
        api.private_chat(chat)
    await daemon.start()
    try:
        await until(lambda: any(c[0] == "getupdates" for c in api.calls), "long polling", daemon)
        await say(api, daemon, CLIENT, "/subscribe desk", "Subscribed to Client desk")
        await say(api, daemon, CLIENT, "/subscribe zephyrine", "Subscribed to Zephyrine")
        await say(api, daemon, OTHER, "/subscribe zephyrine", "Subscribed to Zephyrine")
        await say(api, daemon, OTHER, "/topics", "Zephyrine")
        assert "Client desk" not in api.sent(OTHER)[-1].text and "desk" not in api.sent(OTHER)[-1].callback_data
        await say(api, daemon, OTHER, "/subscribe desk", "No topic called")
        await say(api, daemon, OTHER, "/recent desk", "No topic called")
        await say(api, daemon, OTHER, "/trend desk", "No topic called")
        await say(api, daemon, OTHER, "/mute desk 1h", "No topic called")
        assert await _press(api, daemon, OTHER, api.sent(OTHER)[-1], "sub:desk") == "That topic no longer exists."

        now = clock.now()
        both = Item("both", "Zephyrine quillwort harvest", "https://wire.example/both",
                    "The zephyrine fields and the quillwort harvest came in early this year.", now)  # fmt: skip
        (unrelated,) = burst_items(1, prefix="desk")  # its own story: invented words and the desk's one word
        desk_only = replace(unrelated, title=unrelated.title.replace("zephyrine", "quillwort"),
                            body=unrelated.body.replace("zephyrine", "quillwort"))  # fmt: skip
        feed_server.feeds["wire.xml"] = [both, desk_only]
        await until(lambda: len([m for m in api.sent(CLIENT) if "Topic" in m.text]) >= 2, "the client's alerts", daemon)
        await until(lambda: any("Topic" in m.text for m in api.sent(OTHER)), "the other chat's alert", daemon)
        other_alert = next(m for m in api.sent(OTHER) if "Topic" in m.text)
        assert "Client desk" not in other_alert.text and "quillwort" not in other_alert.text.split("Topic")[1][:40]
        ids = _alert_ids(tmp_path / "newsbot.db")
        desk_alert, desk_story = ids[("desk", desk_only.link)]
        shared_desk_alert, shared_story = ids[("desk", both.link)]
        zephyrine_alert, _ = ids[("zephyrine", both.link)]

        # the client reads its own
        await say(api, daemon, CLIENT, f"/why {desk_alert}", "Client desk")
        client_story = next(m for m in api.sent(CLIENT) if f"why:s{desk_story}" in m.callback_data)
        await api.press(CLIENT, CLIENT, client_story.message_id, f"why:s{desk_story}")
        await until(lambda: api.sent(CLIENT)[-1].text.startswith("Why: Client desk"), "the client's Why?", daemon)

        # the other chat reads neither the desk's alerts nor its story, by number or by forged button
        refused = "sent to this chat"
        for number in (desk_alert, shared_desk_alert):
            await say(api, daemon, OTHER, f"/why {number}", refused)
        assert refused in await _press(api, daemon, OTHER, other_alert, f"why:s{desk_story}")
        # the story it did receive: explained without the desk's topic
        shared = await _press(api, daemon, OTHER, other_alert, f"why:s{shared_story}")
        assert shared.startswith("Why: Zephyrine") and "Client desk" not in shared and "desk" not in shared
        await say(api, daemon, OTHER, f"/why {zephyrine_alert}", "Zephyrine")
        await say(api, daemon, OTHER, "/recent", "Zephyrine quillwort harvest")
        assert desk_only.title not in api.sent(OTHER)[-1].text

        # a chat that received nothing and follows nothing reads nothing
        await say(api, daemon, NEWBIE, f"/why {zephyrine_alert}", refused)
        await say(api, daemon, NEWBIE, "/start", "I watch news feeds")
        assert refused in await _press(api, daemon, NEWBIE, api.sent(NEWBIE)[-1], f"why:s{shared_story}")
        await say(api, daemon, NEWBIE, "/recent desk", "No topic called")
        assert "Traceback" not in daemon.output()
    finally:
        await daemon.stop()


async def test_a_topic_closed_to_a_chat_sends_it_no_alerts_no_spikes_and_no_trend(
    api: FakeBotApi, feed_server: FeedServer, tmp_path: Path
) -> None:
    """Both chats follow the harbour while it is open; the rule is then closed to all but the client: a burst
    gives the client its alerts and one spike message, the other chat nothing, and /trend no chart."""
    now = clock.now().replace(microsecond=0)
    baseline = harbour_items("base", [now - timedelta(days=day, minutes=25) for day in range(1, 15)])
    feed_server.feeds["wire.xml"] = baseline
    rules = write_rules(tmp_path)
    # the burst's items, invented words about a harbour, must stay stories of their own: no meaning signal
    config = _config(tmp_path, api, feed_server, rules, {"stories": {"meaning": False}}, admins=[CLIENT])
    daemon = DaemonProcess(config, tmp_path / "daemon.log", TOKEN)
    for chat in (CLIENT, OTHER):
        api.private_chat(chat)
    await daemon.start()
    try:
        await until(lambda: feed_server.requests.get("wire.xml", 0) >= 2, "the first polls", daemon)
        await until(lambda: any(c[0] == "getupdates" for c in api.calls), "long polling", daemon)
        for chat in (CLIENT, OTHER):
            await say(api, daemon, chat, "/subscribe harbour", "Subscribed to Harbour $ traffic")
        harbour = (rules / "harbour.yaml").read_text()
        (rules / "harbour.yaml").write_text(harbour + f"chats: [{CLIENT}]\n")
        await say(api, daemon, CLIENT, "/reload", "Reloaded 1 rule, 0 with errors")
        await say(api, daemon, OTHER, "/trend harbour", "No topic called")
        await say(api, daemon, OTHER, "/trend", "This chat follows no topics yet")

        burst = harbour_items("burst", [clock.now() - timedelta(seconds=s) for s in range(6)])
        feed_server.feeds["wire.xml"] = [*baseline, *burst]
        await until(lambda: any(m.text.startswith("📈") for m in api.sent(CLIENT)), "the client's spike", daemon, 60)
        await until(lambda: sum("Topic" in m.text for m in api.sent(CLIENT)) >= 6, "the client's alerts", daemon)
        await say(api, daemon, CLIENT, "/trend harbour 2d", "Harbour $ traffic, last 2d")
        assert api.sent(CLIENT)[-1].photo is not None
        got = [m.text for m in api.sent(OTHER)]
        assert not [text for text in got if text.startswith("📈") or "Topic" in text], got
        assert not re.search(r"Harbour \w+", " ".join(got[2:])), got
        await say(api, daemon, OTHER, "/unsubscribe harbour", "Unsubscribed from")  # what it followed, it can drop
        assert "Traceback" not in daemon.output()
    finally:
        await daemon.stop()
