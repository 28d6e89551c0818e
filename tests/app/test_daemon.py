"""`newsbot run` without a token: the daemon polls on schedule, prints alerts in the terminal, sends them
to Apprise channels that follow the topic, and stops cleanly on SIGTERM."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot import clock
from tests.app.daemon import daemon_config, running_daemon, until
from tests.conftest import Webhook
from tests.feedserver import FeedServer, seed_items

pytestmark = pytest.mark.e2e


async def test_daemon_polls_repeatedly_prints_alerts_and_stops_on_sigterm(
    feed_server: FeedServer, webhook: Webhook, tmp_path: Path
) -> None:
    feed_server.feeds["wire.xml"] = []
    hook = {"url": f"json://127.0.0.1:{webhook.port}/hook", "topics": ["troop-deployment"]}
    config = daemon_config(tmp_path, feed_server.url("wire.xml"), apprise=[hook])
    async with running_daemon(config) as daemon:
        await until(lambda: feed_server.requests.get("wire.xml", 0) >= 2, "two polls")
        now = clock.now()
        feed_server.feeds["wire.xml"] = seed_items((now, now))
        polls = feed_server.requests["wire.xml"]
        await until(lambda: feed_server.requests["wire.xml"] >= polls + 2 and bool(webhook.received), "the alert")
    assert daemon.returncode == 0, "".join(daemon.logs)
    printed = "".join(daemon.out)
    assert printed.count("Troop deployment") == 1, printed
    assert "Wire" in printed
    # The Apprise channel following the topic got the story once, with the terminal.
    assert len(webhook.received) == 1
    assert "Troop deployment" in webhook.received[0]["title"] + webhook.received[0]["message"]
