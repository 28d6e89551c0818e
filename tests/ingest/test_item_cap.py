"""Case 9: a huge feed is taken in slices of polling.max_items_per_poll, newest first; a sliced poll keeps
nothing that would hide the rest (validators, body hash, item memory) and polls again soon; a first poll
taken in slices alerts on at most `backlog` entries in all."""

from __future__ import annotations

import sqlite3
from contextlib import closing
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import yaml

from bot import clock
from bot.cli import main
from tests.feedserver import Item, render_rss
from tests.ingest.test_poll_e2e import RULES


def test_a_huge_feed_is_taken_in_slices(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    now = clock.now().replace(microsecond=0)
    items = [
        Item(f"g{n}", f"Hackers hit grid number {n}", f"https://w.example/{n}", "Hackers hit the grid.",
             now - timedelta(minutes=n))
        for n in range(120)
    ]  # fmt: skip
    feed = tmp_path / "huge.xml"
    feed.write_bytes(render_rss("Huge", items))
    config = tmp_path / "config.yaml"
    database = tmp_path / "n.db"
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{database}",
                "rules": str(RULES),
                "polling": {"max_items_per_poll": 50},
                "feeds": [{"url": feed.as_uri(), "backlog": 2, "fulltext": False}],
            }
        )
    )

    def stored() -> tuple[int, set[str], str | None, str | None]:
        with closing(sqlite3.connect(database)) as conn:
            count = conn.execute("SELECT count(*) FROM entries").fetchone()[0]
            guids = {row[0] for row in conn.execute("SELECT guid FROM entries")}
            content_hash, next_poll = conn.execute("SELECT content_hash, next_poll_at FROM feeds").fetchone()
        return count, guids, content_hash, next_poll

    alerts = 0
    for expected in (50, 100, 120, 120):
        assert main(["poll", "-c", str(config), "--once", "--json"]) == 0
        alerts += sum('"alert"' in line for line in capsys.readouterr().out.splitlines())
        count, guids, content_hash, next_poll = stored()
        assert count == expected
        if expected == 50:
            assert guids == {f"g{n}" for n in range(50)}, "the newest first"
        if expected < 120:
            assert content_hash is None, "a sliced poll must not mark the body as handled"
            assert next_poll is not None and datetime.fromisoformat(next_poll).replace(tzinfo=UTC) - now < timedelta(
                minutes=2
            )
    assert alerts <= 2, "a new feed taken in slices still alerts on at most its backlog"
