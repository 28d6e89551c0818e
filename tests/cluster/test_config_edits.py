"""Edits of the feed list count at once on PostgreSQL too, where the processes claim due feeds from the
database: two `newsbot run` processes, a feed added to config.yaml is polled, a feed removed is polled no
more (by either)."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.starter import RULES
from tests.app.daemon import running_daemon, until
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e


def write(config: Path, database: str, server: FeedServer, *paths: str) -> None:
    feeds = [{"url": server.url(path), "name": path, "every": "1s", "fulltext": False} for path in paths]
    settings: dict[str, Any] = {
        "database": database, "rules": str(RULES), "feeds": feeds,
        "polling": {"min_interval": "1s"}, "cluster": {"heartbeat": "1s", "lease": "5s"},
    }  # fmt: skip
    config.write_text(yaml.safe_dump(settings, sort_keys=False))


async def test_a_feed_added_is_polled_and_a_feed_removed_is_not(
    pg_url: str, feed_server: FeedServer, tmp_path: Path
) -> None:
    for path in ("kept.xml", "added.xml", "dropped.xml"):
        feed_server.feeds[path] = []
    requests = feed_server.requests
    config = tmp_path / "config.yaml"
    write(config, pg_url, feed_server, "kept.xml", "dropped.xml")
    async with running_daemon(config), running_daemon(config) as second:
        await until(lambda: requests.get("dropped.xml", 0) >= 2, "polls of both feeds", seconds=60)
        assert "added.xml" not in requests
        write(config, pg_url, feed_server, "kept.xml", "added.xml")
        await until(lambda: requests.get("added.xml", 0) >= 2, "polls of the added feed", seconds=60)
        await asyncio.sleep(2)  # a poll of the dropped feed in flight at the edit ends
        dropped, kept = requests["dropped.xml"], requests["kept.xml"]
        await asyncio.sleep(3)
        assert requests["dropped.xml"] == dropped, "a removed feed was polled"
        assert requests["kept.xml"] > kept
        assert not any("Traceback" in line for line in second.logs), "".join(second.logs)
