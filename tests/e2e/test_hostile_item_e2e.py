"""Issue 20, item 1, through `newsbot run` on SQLite and on PostgreSQL: one feed item whose body is the
matched word 100,000 times (1 MB, under the parser's cap). The alert goes out with a short snippet, and while
the item is filed and rendered another chat's commands keep being answered within seconds."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from bot import clock
from tests.e2e.burst import BURST_RULE
from tests.e2e.daemon import DaemonProcess
from tests.e2e.fake_botapi import FakeBotApi
from tests.e2e.test_telegram_e2e import TOKEN, api, say, until, write_config
from tests.feedserver import FeedServer, Item

pytestmark = pytest.mark.e2e
__all__ = ["api"]  # the fixture

READER, OTHER = 1001, 1002
MARKS = 100_000


async def test_hundred_thousand_marks_while_commands_are_answered(
    api: FakeBotApi, feed_server: FeedServer, tmp_path: Path
) -> None:
    await _hostile_item(api, feed_server, tmp_path, None)


async def test_hundred_thousand_marks_on_postgresql(
    api: FakeBotApi, feed_server: FeedServer, tmp_path: Path, pg_url: str
) -> None:
    """On PostgreSQL the ingest holder renders inside its filing transaction: it must not freeze there."""
    await _hostile_item(api, feed_server, tmp_path, pg_url)


async def _hostile_item(api: FakeBotApi, feed_server: FeedServer, tmp_path: Path, database: str | None) -> None:
    assert "zephyrine" in BURST_RULE
    feed_server.feeds["wire.xml"] = []
    config = write_config(tmp_path, api, feed_server)
    if database is not None:
        settings = yaml.safe_load(config.read_text())
        settings["database"] = database
        config.write_text(yaml.safe_dump(settings))
    daemon = DaemonProcess(config, tmp_path / "daemon.log", TOKEN)
    api.private_chat(READER)
    api.private_chat(OTHER)
    await daemon.start()
    try:
        await until(lambda: any(c[0] == "getupdates" for c in api.calls), "long polling", daemon)
        await say(api, daemon, READER, "/subscribe zephyrine", "Subscribed to Zephyrine")
        body = " ".join(["zephyrine"] * MARKS)
        polls = feed_server.requests.get("wire.xml", 0)
        feed_server.feeds["wire.xml"] = [
            Item("hostile", "Zephyrine", "https://hostile.example/1", body, clock.now())
        ]
        await until(lambda: feed_server.requests.get("wire.xml", 0) > polls, "the poll of the hostile item", daemon)
        served = time.monotonic()
        slowest = 0.0
        while not any("Zephyrine" in m.text for m in api.sent(READER)):
            assert time.monotonic() - served < 60, f"no alert within 60 s:\n{daemon.output()[-3000:]}"
            asked = time.monotonic()
            await say(api, daemon, OTHER, "/help", "/subscribe")
            slowest = max(slowest, time.monotonic() - asked)
        alert = next(m for m in api.sent(READER) if "Zephyrine" in m.text)
        assert slowest < 5, f"a command waited {slowest:.1f} s while the item was filed and rendered"
        assert alert.text.count("zephyrine") < 60 and len(alert.text) < 1000, alert.text
        assert "Traceback" not in daemon.output()
    finally:
        await daemon.stop()
