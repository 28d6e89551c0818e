"""The schedule as written, through `newsbot run` as a separate process, a feed server on 127.0.0.1 that
counts and times requests, and the fake Bot API: a fixed `every` is kept (below polling.min_interval, without
jitter, whatever the feed's <ttl> or the server's max-age say); <ttl> lengthens adaptive polling only;
Retry-After wins over `every` and the backoff; `newsbot status` and /status say why each next poll is when it
is, and `run` says so at start."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import sqlite3
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import yaml

from bot.starter import RULES
from tests.app.daemon import running_daemon, until
from tests.e2e.botapi_process import BotApiProcess
from tests.feedserver import FeedServer
from tests.fetch.servers import rss

pytestmark = pytest.mark.e2e

TOKEN = "424242:SCHEDULE-token"
ADMIN = 777


@pytest.fixture
async def api() -> AsyncIterator[BotApiProcess]:
    """The fake Telegram in a process of its own: newsbot, Telegram and the test talk only HTTP."""
    async with BotApiProcess(TOKEN) as server:
        yield server


def gaps(times: list[float]) -> list[float]:
    return [round(later - earlier, 2) for earlier, later in itertools.pairwise(times)]


def polled(database: Path) -> int:
    """How many feeds have been polled and their next poll stored (0 before the tables exist)."""
    with contextlib.closing(sqlite3.connect(database)) as conn:
        try:
            return int(conn.execute("SELECT count(*) FROM feeds WHERE last_polled_at IS NOT NULL").fetchone()[0])
        except sqlite3.OperationalError:
            return 0


async def newsbot_status(config: Path) -> str:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "status", "--wide", "-c", str(config), stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT, env={"COLUMNS": "300", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    out, _ = await process.communicate()
    assert process.returncode == 0, out.decode()
    return out.decode()


async def test_every_ttl_and_retry_after_as_written_and_status_says_why(
    feed_server: FeedServer, api: BotApiProcess, tmp_path: Path
) -> None:
    ttl = rss("Quiet day", ttl=90)
    feed_server.raw["fixed.xml"] = ttl
    feed_server.headers["fixed.xml"] = {"Cache-Control": "max-age=3600"}
    feed_server.raw["adaptive.xml"] = ttl
    feed_server.raw["plain.xml"] = rss("Quiet day")
    feed_server.statuses["busy.xml"] = 503
    feed_server.headers["busy.xml"] = {"Retry-After": "3"}
    feeds = [
        {"url": feed_server.url("fixed.xml"), "name": "Fixed", "every": "2s"},
        {"url": feed_server.url("adaptive.xml"), "name": "Adaptive"},
        {"url": feed_server.url("plain.xml"), "name": "Plain"},
        {"url": feed_server.url("busy.xml"), "name": "Busy", "every": "1s"},
    ]
    config = tmp_path / "config.yaml"
    settings = {
        "database": f"sqlite:///{tmp_path / 'n.db'}",
        "feeds": [{**feed, "fulltext": False} for feed in feeds],
        "rules": str(RULES),
        "polling": {"max_interval": "30m"},  # min_interval as by default (2m), and jitter (0.1)
        "telegram": {"token": TOKEN, "base_url": api.base_url, "admins": [ADMIN]},
    }
    config.write_text(yaml.safe_dump(settings))
    await api.private_chat(ADMIN)
    async with running_daemon(config) as daemon:
        times = feed_server.times
        await until(lambda: polled(tmp_path / "n.db") == 4, "every feed's first poll")
        status = asyncio.create_task(newsbot_status(config))  # meanwhile, the polls go on
        while "getupdates" not in await api.calls():  # the Telegram front is up
            await asyncio.sleep(0.1)
        await api.user_says(ADMIN, ADMIN, "/status")
        reply = (await api.wait_for(ADMIN, bool, "the /status reply"))[-1].text
        assert "next poll in 1 h: the feed's ttl" in reply.split("• Adaptive: ")[1].splitlines()[0], reply
        assert ": the server's Retry-After" in reply.split("• Busy: ")[1].splitlines()[0], reply
        assert ": every 2s as configured" in reply.split("• Fixed: ")[1].splitlines()[0], reply
        for expected in (
            "every 2s as configured",
            "in 1 h: the feed's ttl",
            "min: adaptive, from how often the feed publishes",
            "the server's Retry-After",
        ):
            assert expected in await status, await status

        await until(lambda: len(times["fixed.xml"]) >= 4 and len(times["busy.xml"]) >= 3, "more polls")
        starts = [times[path][0] for path in ("fixed.xml", "adaptive.xml", "plain.xml", "busy.xml")]
        assert max(starts) - min(starts) < 1.5, "a handful of feeds start at once"
        # The first poll's parse waits for the parse workers to start (about 3 s on a busy machine): the second
        # poll follows it at once, the others 2 s apart, without jitter.
        # Never sooner than configured; typically on time, though a loaded machine may start one poll late.
        fixed, busy = gaps(times["fixed.xml"])[1:], gaps(times["busy.xml"])
        assert min(fixed) >= 1.9 and sorted(fixed)[len(fixed) // 2] <= 2.5 and max(fixed) <= 4.5, fixed
        assert min(busy) >= 2.9 and sorted(busy)[len(busy) // 2] <= 3.8 and max(busy) <= 5.5, busy
        assert len(times["adaptive.xml"]) == len(times["plain.xml"]) == 1

        logs = "".join(daemon.logs)
        assert "polling 4 feeds; edits of config.yaml, feeds.yaml, rules/ take effect at once" in logs
        for name in ("Fixed", "Adaptive", "Plain", "Busy"):
            assert f"{name}: now: first poll ({feed_server.url(name.lower() + '.xml')})" in logs, logs
    assert daemon.returncode == 0
