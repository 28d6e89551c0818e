"""Issue 20, item 8: a bot token Telegram refuses ends `newsbot run` with one sentence (exit 2), no traceback
before it, and the token itself never printed."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from tests.e2e.daemon import DaemonProcess
from tests.e2e.fake_botapi import FakeBotApi
from tests.e2e.test_telegram_e2e import TOKEN, api, write_config
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e
__all__ = ["api"]  # the fixture

REFUSED = "777777:refused-token-8d1c"


async def test_a_refused_token_is_one_sentence(api: FakeBotApi, feed_server: FeedServer, tmp_path: Path) -> None:
    assert REFUSED != TOKEN
    feed_server.feeds["wire.xml"] = []
    daemon = DaemonProcess(write_config(tmp_path, api, feed_server), tmp_path / "daemon.log", REFUSED)
    await daemon.start()
    assert daemon.process is not None
    status = await asyncio.wait_for(daemon.process.wait(), 60)
    output = daemon.output()
    assert status == 2, output
    assert output.rstrip().splitlines()[-1] == "newsbot: Telegram refused the bot token; check telegram.token"
    assert "Traceback" not in output and "CancelledError" not in output
    assert REFUSED not in output and REFUSED.split(":")[1] not in output
