"""Stories do not depend on the order in which feeds answer: the real 24-outlet snapshot, served on
127.0.0.1 with its feeds answering in three different orders, polled by `newsbot poll --once` into three
databases, gives the same stories three times."""

from __future__ import annotations

import asyncio
import json
import random
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import corpus_path
from tests.feedserver import FeedServer
from tests.ingest.test_poll_e2e import RULES, poll_once

pytestmark = pytest.mark.e2e

STAGGER = 0.05
"""Seconds between two feeds' answers: each order is the order the feeds really answer in."""


def _config(folder: Path, server: FeedServer, files: list[Path]) -> Path:
    folder.mkdir()
    feeds = [
        {"url": server.url(path.name), "name": path.stem.split("__")[0], "fulltext": False, "backlog": 0}
        for path in files
    ]
    config = {"database": f"sqlite:///{folder / 'newsbot.db'}", "rules": str(RULES), "feeds": feeds}
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


async def _stories(config: Path) -> set[frozenset[tuple[str, str]]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "stories", "-c", str(config), "--since", "365d", "--json",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == 0, stderr.decode()
    records = [json.loads(line) for line in stdout.decode().splitlines()]
    return {frozenset((m["outlet"], m["url"]) for m in record["members"]) for record in records}


async def test_the_snapshot_gives_the_same_stories_whatever_order_its_feeds_answer_in(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    files = sorted(corpus_path("feeds", "news_snapshot_2026-02-17").glob("*.xml"))
    for path in files:
        feed_server.raw[path.name] = path.read_bytes()
    orders = {"by-name": files, "reversed": files[::-1], "shuffled": random.Random(7).sample(files, len(files))}
    found = []
    for name, order in orders.items():
        feed_server.delays = {path.name: rank * STAGGER for rank, path in enumerate(order)}
        config = _config(tmp_path / name, feed_server, order)
        await poll_once(config)
        found.append(await _stories(config))
    by_name, backwards, shuffled = found
    assert sum(len(story) for story in by_name) > 1000
    assert sum(len({outlet for outlet, _ in story}) > 1 for story in by_name) >= 30
    assert by_name == backwards == shuffled
