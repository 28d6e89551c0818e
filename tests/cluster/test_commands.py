"""The commands beside the running processes on PostgreSQL, as subprocesses: `newsbot status` shows the
processes with their roles, the feeds each polls and a stale heartbeat; `poll --once`, which files what it
fetches itself, refuses to start while a running process holds the ingest role."""

from __future__ import annotations

import asyncio
import re
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.config import FeedConfig
from bot.feeds.register import register_feeds
from bot.fetch.poll_policy import PollPolicy
from bot.starter import RULES
from bot.store.claims import claim_due
from bot.store.locks import Lock, RoleSession
from bot.store.processes import ProcessRow, beat

pytestmark = pytest.mark.e2e


async def newsbot(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *args,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={"COLUMNS": "200", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 120)
    assert process.returncode is not None
    return process.returncode, out.decode(), err.decode()


def write_config(folder: Path, url: str, feeds: list[FeedConfig]) -> Path:
    config = folder / "config.yaml"
    listed = "".join(f"  - url: {feed.url}\n    name: {feed.name}\n" for feed in feeds)
    config.write_text(f"database: {url}\nrules: {RULES}\nfeeds:\n{listed}cluster:\n  heartbeat: 2s\n  lease: 10s\n")
    return config


async def test_status_shows_processes_roles_claims_and_stale_heartbeats(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    feeds = [FeedConfig(url=f"http://127.0.0.1:9/{n}.xml", name=f"Outlet {n}") for n in range(3)]
    now = clock.now()
    await register_feeds(pg_engine, feeds, PollPolicy(), now)
    async with pg_engine.begin() as conn:
        await beat(conn, ProcessRow("live0000aaaa", "desk-1", 4242, ("ingest",), now - timedelta(hours=2), now))
        await beat(conn, ProcessRow("dead0000bbbb", "desk-2", 4343, ("delivery",), now, now - timedelta(seconds=30)))
    await claim_due(pg_engine, "live0000aaaa", now, timedelta(minutes=1), 2)
    code, out, err = await newsbot("status", "--wide", "-c", str(write_config(tmp_path, pg_url, feeds)))
    assert code == 0, err
    live = next(line for line in out.splitlines() if "live0000aaaa" in line)
    assert "desk-1" in live and "4242" in live and "ingest" in live and "2 feeds" in live and "s ago" in live
    assert "stale" not in live
    dead = next(line for line in out.splitlines() if "dead0000bbbb" in line)
    assert "delivery" in dead and re.search(r"\b\d\d s ago \(stale\)", dead)


async def test_poll_once_refuses_while_a_process_holds_the_ingest_role(
    pg_url: str, pg_engine: AsyncEngine, tmp_path: Path
) -> None:
    config = write_config(tmp_path, pg_url, [FeedConfig(url="http://127.0.0.1:9/feed.xml", name="Outlet")])
    holder = await RoleSession.open(pg_engine, None)
    try:
        assert await holder.try_take(Lock.INGEST)
        code, _, err = await newsbot("poll", "-c", str(config), "--once")
    finally:
        await holder.close()
    assert code == 2
    assert "holds the ingest role on this database" in err and "Traceback" not in err
    code, _, err = await newsbot("poll", "-c", str(config), "--once")
    assert "1 feed polled" in err, err  # the role is free again: the poll ran (its one feed is unreachable)
