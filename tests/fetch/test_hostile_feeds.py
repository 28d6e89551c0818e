"""The issue's hostile feeds through the real `newsbot poll --once`, on SQLite and PostgreSQL: each bad feed
or item costs only itself (cases 3, 4, 6, 7, 10, 14), nothing printed carries control characters, and the
next poll times stay within a day (plus jitter)."""

from __future__ import annotations

import asyncio
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from bot import clock
from bot.store.db import open_database
from bot.store.tables import entries, feeds
from tests.fetch.servers import Serve, hostile_app, hostile_routes
from tests.ingest.test_poll_e2e import RULES, poll_once

pytestmark = pytest.mark.e2e

CONTROL = {chr(c) for c in [*range(0x00, 0x09), *range(0x0B, 0x20), *range(0x7F, 0xA0)]}


def _config(folder: Path, database_url: str, urls: list[str], **feed: object) -> Path:
    config = {
        "database": database_url,
        "rules": str(RULES),
        "feeds": [{"url": url, "backlog": 5, "fulltext": False, **feed} for url in urls],
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def test_hostile_feeds_cost_only_themselves(serve: Serve, database_url: str, tmp_path: Path) -> None:
    base = await serve(hostile_app())
    names = list(hostile_routes())
    config = _config(tmp_path, database_url, [f"{base}/{name}" for name in names])
    alerts = await poll_once(config, expect_status=1)  # two feeds fail (503, refused redirect), the rest are stored
    engine = await open_database(database_url)
    try:
        async with engine.connect() as conn:
            stored = dict((await conn.execute(
                sa.select(feeds.c.url, sa.func.count(entries.c.id))
                .join(entries, entries.c.feed_id == feeds.c.id, isouter=True)
                .group_by(feeds.c.url)
            )).all())  # fmt: skip
            polls = dict((await conn.execute(sa.select(feeds.c.url, feeds.c.next_poll_at))).all())
            errors = dict((await conn.execute(sa.select(feeds.c.url, feeds.c.last_error))).all())
            titles = list(await conn.scalars(sa.select(entries.c.title)))
            links = set(await conn.scalars(sa.select(entries.c.url)))
    finally:
        await engine.dispose()
    failing = {"retry-after.xml", "metadata-redirect.xml"}
    two_items = {"bad-link.xml", "deep.json"}  # the bad link's item is kept without its link; the deep value is null
    for name in names:
        url = f"{base}/{name}"
        assert stored[url] == (0 if name in failing else 2 if name in two_items else 1), name
        assert polls[url] - clock.now() < timedelta(hours=27), name  # 24 h cap + jitter
    assert errors[f"{base}/metadata-redirect.xml"] == (
        "redirect refused to go to 169.254.169.254: a link-local, metadata or reserved address"
    )
    assert errors[f"{base}/retry-after.xml"] == "HTTP 503"
    assert not any(CONTROL & set(title) for title in titles)
    assert any("\ufffd" in title for title in titles)  # the lone surrogate, replaced
    assert alerts
    for alert in alerts:
        assert not CONTROL & set(alert["title"] + alert["outlet"]), alert["title"]
    assert "http://127.0.0.1/a%20b%20c" in links  # case 14: Telegram refused the URL with spaces
    assert not any(" " in link for link in links)


async def test_terminal_output_takes_no_markup_or_escapes_from_names(serve: Serve, tmp_path: Path) -> None:
    """Case 10: `[/x]` in a feed name was a rich MarkupError after the alerts were stored, so they were
    never printed; `\\x1b]0;` and `\\x1b[2J` in titles reached the terminal."""
    base = await serve(hostile_app())
    config = _config(tmp_path, f"sqlite:///{tmp_path / 'n.db'}", [f"{base}/escapes.xml"], name="Wire [/x]")
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "poll", "-c", str(config), "--once",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={"COLUMNS": "200", "PATH": "/usr/bin"},
    )  # fmt: skip
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    shown = stdout.decode()
    assert "Wire [/x]" in shown and "Cyber attack on critical infrastructure" in shown
    assert "\x1b" not in shown and "\x07" not in shown
    assert "pwned" in shown and "Desert grid" in shown  # the text around the escapes is kept
