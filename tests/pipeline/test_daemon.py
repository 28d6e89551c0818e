"""`newsbot run` without a token: the daemon polls on schedule, prints alerts in the terminal, sends them
to Apprise channels that follow the topic, and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import sys
from datetime import UTC, datetime
from pathlib import Path

import yaml

from tests.conftest import Webhook
from tests.feedserver import FeedServer, seed_items

RULES = Path(__file__).resolve().parents[2] / "rules"


async def test_daemon_polls_repeatedly_prints_alerts_and_stops_on_sigterm(
    feed_server: FeedServer, webhook: Webhook, tmp_path: Path
) -> None:
    feed_server.feeds["wire.xml"] = []
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'n.db'}",
                "rules": str(RULES),
                "feeds": [{"url": feed_server.url("wire.xml"), "name": "Wire", "every": "1s", "fulltext": False}],
                "polling": {"min_interval": "1s", "jitter": 0},
                "apprise": [{"url": f"json://127.0.0.1:{webhook.port}/hook", "topics": ["troop-deployment"]}],
            }
        )
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "-c",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )
    try:
        for _ in range(200):
            if feed_server.requests.get("wire.xml", 0) >= 2:
                break
            await asyncio.sleep(0.1)
        assert feed_server.requests.get("wire.xml", 0) >= 2, "the daemon did not poll twice"
        now = datetime.now(UTC)
        feed_server.feeds["wire.xml"] = seed_items((now, now))
        polls = feed_server.requests["wire.xml"]
        for _ in range(100):
            if feed_server.requests["wire.xml"] >= polls + 2 and webhook.received:
                break
            await asyncio.sleep(0.1)
    finally:
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=30)
    assert process.returncode == 0, stderr.decode()
    printed = stdout.decode()
    assert printed.count("Troop deployment") == 1, printed
    assert "Wire" in printed
    # The Apprise channel following the topic got the story once, with the terminal.
    assert len(webhook.received) == 1
    assert "Troop deployment" in webhook.received[0]["title"] + webhook.received[0]["message"]
