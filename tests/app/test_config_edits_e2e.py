"""Edits take effect, through `newsbot run` as a separate process and a feed server on 127.0.0.1 that counts
requests: a restart after changing `every` plans the next poll anew; while running, editing config.yaml
(changing `every`, adding and removing a feed) and feeds.yaml counts at once; a bad edit is logged as
file:line and polling goes on with the running config."""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot.starter import RULES
from tests.app.daemon import Daemon, running_daemon, until
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e


def feed(server: FeedServer, path: str, every: str) -> dict[str, Any]:
    return {"url": server.url(path), "name": path.removesuffix(".xml").title(), "every": every, "fulltext": False}


def write(config: Path, *feeds: dict[str, Any], **extra: Any) -> None:
    settings = {"database": f"sqlite:///{config.parent / 'n.db'}", "rules": str(RULES), "feeds": list(feeds), **extra}
    config.write_text(yaml.safe_dump(settings, sort_keys=False))


def logged(daemon: Daemon, text: str) -> bool:
    return any(text in line for line in daemon.logs)


def stored_plan(database: Path) -> list[tuple[str, str]]:
    """The feeds polled so far, with the reason of their stored next poll (none before the tables exist)."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        try:
            return list(conn.execute("SELECT name, next_poll_reason FROM feeds WHERE last_polled_at IS NOT NULL"))
        except sqlite3.OperationalError:
            return []


async def steady(server: FeedServer, path: str, seconds: float) -> int:
    """The count of requests for `path`, after checking it did not grow for `seconds`."""
    before = server.requests.get(path, 0)
    await asyncio.sleep(seconds)
    assert server.requests.get(path, 0) == before, f"{path} was polled again"
    return before


async def test_edits_of_every_and_the_feed_list_count_at_once(feed_server: FeedServer, tmp_path: Path) -> None:
    for path in ("wire.xml", "extra.xml", "third.xml"):
        feed_server.feeds[path] = []
    requests = feed_server.requests
    config = tmp_path / "config.yaml"
    write(config, feed(feed_server, "wire.xml", "1h"))
    async with running_daemon(config) as daemon:
        await until(lambda: stored_plan(tmp_path / "n.db") == [("Wire", "every")], "a poll")
        assert requests["wire.xml"] == 1
    assert daemon.returncode == 0

    # Stored: the next poll in an hour. After the edit and a restart, `every: 1s` counts at once.
    write(config, feed(feed_server, "wire.xml", "1s"))
    async with running_daemon(config) as daemon:
        await until(lambda: requests["wire.xml"] >= 3, "polls every second after the restart", seconds=20)
        assert logged(daemon, f"Wire: now: every 1s as configured ({feed_server.url('wire.xml')})")

        write(config, feed(feed_server, "wire.xml", "1h"), feed(feed_server, "extra.xml", "1s"))
        reloaded = "config.yaml reloaded; feeds polled: 2, added: 1, removed: 0, changed: 1"
        await until(lambda: logged(daemon, reloaded), "the reload")
        await until(lambda: requests.get("extra.xml", 0) >= 1, "the added feed's first poll", seconds=10)
        await steady(feed_server, "wire.xml", 2.5)  # a poll running at the edit plans under `every: 1h` as it ends

        write(config, feed(feed_server, "wire.xml", "1s"), feed(feed_server, "extra.xml", "1s"))
        wire = requests["wire.xml"]
        await until(lambda: requests["wire.xml"] > wire, "the next poll an hour away to give way", seconds=10)

        write(config, feed(feed_server, "extra.xml", "1s"))
        await until(lambda: logged(daemon, "feeds polled: 1, added: 0, removed: 1"), "the removal")
        await asyncio.sleep(1.5)
        await steady(feed_server, "wire.xml", 2.5)

        (tmp_path / "feeds.yaml").write_text(yaml.safe_dump([feed(feed_server, "third.xml", "1s")]))
        await until(lambda: requests.get("third.xml", 0) >= 2, "the feed added to feeds.yaml", seconds=10)

        config.write_text(config.read_text().replace("every: 1s", "every: soon"))
        await until(lambda: logged(daemon, "config.yaml:6: feeds.0.every: 'soon' is not a duration"), "the error")
        assert logged(daemon, "the running config stays")
        extra = requests["extra.xml"]
        await until(lambda: requests["extra.xml"] >= extra + 2, "polling to go on", seconds=10)
    assert daemon.returncode == 0
