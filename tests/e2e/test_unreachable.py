"""Case 12: `newsbot run` starts while the Bot API cannot be reached: it polls, says it keeps retrying
Telegram with backoff, and delivers once Telegram is there."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from bot import clock
from tests.e2e.daemon import DaemonProcess
from tests.e2e.fake_botapi import FakeBotApi
from tests.e2e.test_telegram_e2e import TOKEN, say, until, write_config
from tests.feedserver import FeedServer, seed_items

pytestmark = pytest.mark.e2e


async def test_run_polls_while_telegram_is_unreachable_and_delivers_once_it_is_up(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    api = FakeBotApi(token=TOKEN, port=port)  # not started yet: nothing listens on the port
    feed_server.feeds["wire.xml"] = []
    daemon = DaemonProcess(write_config(tmp_path, api, feed_server), tmp_path / "daemon.log", TOKEN)
    await daemon.start()
    try:
        await until(lambda: "Telegram is unreachable" in daemon.output(), "the retry notice", daemon)
        await until(lambda: feed_server.requests.get("wire.xml", 0) >= 2, "polls meanwhile", daemon)
        assert daemon.process is not None and daemon.process.returncode is None, daemon.output()
        assert "Traceback" not in daemon.output()
        async with api:
            api.private_chat(1001)
            await until(lambda: any(c[0] == "getupdates" for c in api.calls), "the front coming up", daemon, 60)
            await say(api, daemon, 1001, "/subscribe Troop deployment", "Subscribed to Troop deployment")
            now = clock.now()
            feed_server.feeds["wire.xml"] = seed_items((now, now))
            await until(lambda: any("Topic: Troop deployment" in m.text for m in api.sent(1001)), "the alert", daemon)
            await daemon.stop()
    finally:
        await daemon.stop()
    assert daemon.process.returncode == 0, daemon.output()
    said = daemon.output()
    assert "alerts go to the Telegram chats that subscribe to their topics (send /start to the bot)" in said, said
    assert said.rstrip().endswith(" stopped"), said[-2000:]
