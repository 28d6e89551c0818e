"""`newsbot run` on SQLite whose disk fills up (a small tmpfs, filled by the test) for over a minute, then
gets its room back.

While the database refuses writes: one line a minute says so with the alerts waiting, the admins are told
once through the Bot API, polling pauses and no loop spins (the outbox's sender, with alerts in hand, backs
off: the whole log of the full minute is a few lines). Within 30 s of the room coming back the items
published meanwhile are filed and reach the reader, once each, as do the alerts queued before. Mounting a
tmpfs needs root; elsewhere the test skips.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import sqlite3
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import yaml

from bot import clock
from bot.starter import RULES
from tests.cluster.harness import TOKEN, links
from tests.e2e.botapi_process import BotApiProcess
from tests.e2e.burst import BURST_RULE, burst_items
from tests.e2e.daemon import DaemonProcess
from tests.feedserver import FeedServer, Item

FEEDS = 5
READER, ADMIN = 5001, 5002
FULL_FOR = 70.0
"""Seconds the disk stays full: more than a minute, so the once-a-minute line shows."""

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(400)]


@pytest.fixture
def small_disk() -> Iterator[Path]:
    """A 16 MB tmpfs of the test's own (mounting needs root: elsewhere the test skips)."""
    folder = Path(tempfile.mkdtemp(prefix="newsbot-full-"))
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "tmpfs", str(folder)], capture_output=True)
    if mounted.returncode:
        shutil.rmtree(folder, ignore_errors=True)
        pytest.skip(f"cannot mount a small file system here: {mounted.stderr.decode().strip()}")
    try:
        yield folder
    finally:
        subprocess.run(["umount", "-l", str(folder)], check=False)
        shutil.rmtree(folder, ignore_errors=True)


def pending(database: Path) -> int:
    """Outbox rows waiting to be sent, read beside the running process (SQLite's WAL lets a reader in)."""
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as conn:
        return int(conn.execute("SELECT count(*) FROM outbox WHERE status = 'pending'").fetchone()[0])


def fill(folder: Path) -> Path:
    """Write a file until the file system is full."""
    filler = folder / "filler"
    block = b"\0" * 65536
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(block)
            out.flush()
    return filler


@pytest.fixture
async def daemon(
    small_disk: Path, feed_server: FeedServer, tmp_path: Path
) -> AsyncIterator[tuple[DaemonProcess, BotApiProcess]]:
    now = clock.now()
    for n in range(FEEDS):
        feed_server.feeds[f"f{n}.xml"] = [Item(f"f{n}-0", f"Outlet {n} opens", f"https://o{n}.example/0", "", now)]
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    (rules / "zephyrine.yaml").write_text(BURST_RULE)
    async with BotApiProcess(TOKEN) as api:
        settings = {
            "database": f"sqlite:///{small_disk / 'newsbot.db'}",
            "rules": str(rules),
            "feeds": [{"url": feed_server.url(f"f{n}.xml"), "every": "2s", "fulltext": False} for n in range(FEEDS)],
            "polling": {"min_interval": "1s", "jitter": 0},
            "stories": {"meaning": False},  # the burst's invented-word items must stay stories of their own
            "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "base_url": api.base_url, "admins": [ADMIN]},
        }
        config = tmp_path / "config.yaml"
        config.write_text(yaml.safe_dump(settings))
        process = DaemonProcess(config, tmp_path / "newsbot.log", TOKEN)
        await process.start()
        try:
            yield process, api
        finally:
            await process.stop()


async def until(condition: object, what: str, process: DaemonProcess, timeout: float) -> float:
    started = time.monotonic()
    while not await condition():  # type: ignore[operator]
        if time.monotonic() - started > timeout:
            raise AssertionError(f"timed out waiting for {what}; log:\n{process.output()[-6000:]}")
        await asyncio.sleep(0.1)
    return time.monotonic() - started


async def test_a_full_disk_pauses_polling_says_so_and_resumes_within_30_s(
    daemon: tuple[DaemonProcess, BotApiProcess], small_disk: Path, feed_server: FeedServer, tmp_path: Path
) -> None:
    process, api = daemon
    await api.private_chat(READER)
    await api.private_chat(ADMIN)

    async def up() -> bool:
        return "Telegram front is up" in process.output() and len(feed_server.requests) == FEEDS

    await until(up, "the daemon up and every feed polled", process, 60)
    await api.user_says(READER, READER, "/subscribe zephyrine")
    await api.wait_for(READER, lambda messages: len(messages) == 1, "the reply to /subscribe")
    sent, queued, during = (burst_items(2, seed=n, prefix=f"p{n}") for n in range(3))
    for n, item in enumerate(sent):
        feed_server.feeds[f"f{n}.xml"].append(item)
    await api.wait_for(READER, lambda messages: len(links(messages)) == 2, "the alerts before the disk fills", 30)
    await api.hold_sends()
    for n, item in enumerate(queued):
        feed_server.feeds[f"f{n}.xml"].append(item)

    async def queued_in_outbox() -> bool:
        return pending(small_disk / "newsbot.db") == len(queued)

    await until(queued_in_outbox, "the alerts queued before the disk fills", process, 30)
    filler = await asyncio.to_thread(fill, small_disk)
    full_from = len(process.output().splitlines())
    await api.refuse_held()  # the send in flight was not accepted; its row stays pending
    for n, item in enumerate(during):
        feed_server.feeds[f"f{n}.xml"].append(item)

    async def said_full() -> bool:
        return "the database is full: polling paused" in process.output()

    await until(said_full, "the line saying the database is full", process, 30)
    await asyncio.sleep(FULL_FOR)
    full_log = process.output().splitlines()[full_from:]
    filler.unlink()
    freed = time.monotonic()

    expected = Counter(item.link for item in [*sent, *queued, *during])

    async def all_delivered() -> bool:
        return Counter(links(await api.sent(READER))) >= expected

    resumed = await until(all_delivered, "the items published while the disk was full", process, 60)
    await asyncio.sleep(3)
    received = await api.sent(READER)
    told = [message.text for message in await api.sent(ADMIN) if "database is full" in message.text]
    full_lines = [line for line in full_log if "the database is full: polling paused" in line]
    figures = {
        "full_s": FULL_FOR,
        "log_lines_while_full": len(full_log),
        "full_lines": len(full_lines),
        "admins_told": len(told),
        "alerts_after_room_back_s": round(time.monotonic() - freed - 3, 2),
        "resumed_s": round(resumed, 2),
    }
    (tmp_path / "full.json").write_text(json.dumps(figures))
    print("full disk:", json.dumps(figures), "\n", "\n".join(full_log[:40]))
    assert Counter(links(received)) == expected
    assert resumed < 30, figures
    assert 1 <= len(full_lines) <= 2, full_lines
    assert len(full_log) < 40, "\n".join(full_log)
    assert len(told) == 1, told
    assert f"{len(queued)} alerts waiting to be sent" in full_lines[0]
    assert "Traceback" not in process.output(), process.output()[-6000:]
    assert os.path.exists(small_disk / "newsbot.db")
