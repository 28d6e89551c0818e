"""Issue 20, item 5, through `newsbot run`: one chat sending 1,000 /subscribe in a second, or a chat the bot
does not serve sending 1,000 /start, delays nobody: another chat's command is answered within 5 s, the
flooding chat gets its quota of answers and one "slow down", the unserved chat one refusal."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from bot.chat.access import NOT_ALLOWED
from bot.chat.flood import COMMANDS_PER_MINUTE, SLOW_DOWN
from tests.e2e.daemon import DaemonProcess
from tests.e2e.fake_botapi import FakeBotApi
from tests.e2e.test_telegram_e2e import TOKEN, api, say, until, write_config
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e
__all__ = ["api"]  # the fixture

FLOODER, OTHER, STRANGER = 1001, 1002, 6666
FLOOD = 1000


async def _answered_within(api: FakeBotApi, daemon: DaemonProcess, text: str, expect: str) -> float:
    asked = time.monotonic()
    await say(api, daemon, OTHER, text, expect)
    return time.monotonic() - asked


@pytest.mark.parametrize("flooder", [FLOODER, STRANGER])
async def test_a_flooding_chat_delays_nobody(
    api: FakeBotApi, feed_server: FeedServer, tmp_path: Path, flooder: int
) -> None:
    feed_server.feeds["wire.xml"] = []
    config = write_config(tmp_path, api, feed_server)
    settings = yaml.safe_load(config.read_text())
    settings["telegram"]["allowed_chats"] = [FLOODER, OTHER]
    config.write_text(yaml.safe_dump(settings))
    daemon = DaemonProcess(config, tmp_path / "daemon.log", TOKEN)
    for chat in (FLOODER, OTHER, STRANGER):
        api.private_chat(chat)
    await daemon.start()
    try:
        await until(lambda: any(c[0] == "getupdates" for c in api.calls), "long polling", daemon)
        await say(api, daemon, OTHER, "/help", "/subscribe")
        command = "/subscribe zephyrine" if flooder == FLOODER else "/start"
        began = time.monotonic()
        for _ in range(FLOOD):
            await api.user_says(flooder, flooder, command)
        assert time.monotonic() - began < 5
        latencies = [await _answered_within(api, daemon, "/mysubs", "follows") for _ in range(3)]
        assert max(latencies) < 5, f"answers to another chat took {latencies} s during the flood"
        if flooder == FLOODER:
            await until(lambda: any(m.text == SLOW_DOWN for m in api.sent(FLOODER)), "the slow-down reply", daemon)
            await until(lambda: len(api.sent(FLOODER)) >= COMMANDS_PER_MINUTE + 1, "the quota's answers", daemon)
        else:
            await until(lambda: len(api.sent(STRANGER)) >= 1, "the refusal", daemon)
        await _answered_within(api, daemon, "/help", "/subscribe")  # the flood is over: everything it let in ran
        got = [m.text for m in api.sent(flooder)]
        if flooder == FLOODER:
            assert got.count(SLOW_DOWN) == 1 and len(got) == COMMANDS_PER_MINUTE + 1, got
            assert sum("Zephyrine" in text for text in got) == COMMANDS_PER_MINUTE
        else:
            assert got == [NOT_ALLOWED]
        assert "Traceback" not in daemon.output()
    finally:
        await daemon.stop()
