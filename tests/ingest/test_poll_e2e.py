"""Issue 1's acceptance run: `newsbot poll --once --json` as separate processes against a live feed
server and a real database: unrelated items never alert, the seeds alert once per rule, and neither
another poll nor a new process alerts again."""

from __future__ import annotations

import asyncio
import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import clock
from bot.starter import RULES
from tests.feedserver import FeedServer, Item, seed_items

pytestmark = pytest.mark.e2e

NOW = clock.now().replace(microsecond=0)
UNRELATED = [
    Item("u1", "Central bank keeps rates on hold", "https://w.example/rates", "Inflation eased in May.", NOW),
    Item("u2", "Marathon draws record field", "https://w.example/run", "Runners crossed the line.", NOW),
    Item("u3", "Storm warning for the coast", "https://w.example/storm", "Heavy rain is expected.", NOW),
]


def write_config(folder: Path, database_url: str, feed_url: str, backlog: int = 0) -> Path:
    config = {
        "database": database_url,
        "rules": str(RULES),
        "feeds": [{"url": feed_url, "name": "Test Wire", "backlog": backlog, "fulltext": False}],
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def poll_once(config: Path, expect_status: int = 0) -> list[dict[str, Any]]:
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "poll",
        "-c",
        str(config),
        "--once",
        "--json",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode == expect_status, stderr.decode()
    return [json.loads(line) for line in stdout.decode().splitlines()]


async def test_seeds_alert_once_across_polls_and_restarts(
    feed_server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    feed_server.feeds["wire.xml"] = list(UNRELATED)
    config = write_config(tmp_path, database_url, feed_server.url("wire.xml"))

    assert await poll_once(config) == []

    feed_server.feeds["wire.xml"] = seed_items((NOW + timedelta(minutes=1), NOW + timedelta(minutes=2))) + UNRELATED
    alerts = await poll_once(config)
    # Both seeds tell one event: one object per rule, all of one story (its id groups them), holding both.
    by_rule = {a["rule"]: a for a in alerts}
    assert len(by_rule) == len(alerts)
    assert len({a["story"]["id"] for a in alerts}) == 1
    assert {"troop-deployment", "kaja-kallas"} <= set(by_rule)
    seeds = {"https://rewrite.example/estonia-leader", "https://menafn.example/kallas-troops"}
    for alert in alerts:
        assert alert["url"] in seeds and not alert["update"]
        assert {member["url"] for member in alert["story"]["members"]} == seeds
        assert alert["story"]["origin"] == "RIA News"
    troops = by_rule["troop-deployment"]
    assert troops["outlet"] == "Test Wire"
    marked = {span["text"].lower() for clause in troops["clauses"] for span in clause["spans"]}
    assert marked & {"troops", "soldiers", "ground forces", "military personnel"}

    assert await poll_once(config) == []
    assert feed_server.requests["wire.xml"] == 3


async def test_first_poll_alerts_on_at_most_backlog_entries(
    feed_server: FeedServer, database_url: str, tmp_path: Path
) -> None:
    older, newer = NOW - timedelta(hours=2), NOW - timedelta(hours=1)
    # The backlog is the newest entries, so the seeds must be the newest items here.
    feed_server.feeds["wire.xml"] = seed_items((older, newer)) + [
        Item(i.guid, i.title, i.link, i.body, NOW - timedelta(days=1)) for i in UNRELATED
    ]
    config = write_config(tmp_path, database_url, feed_server.url("wire.xml"), backlog=1)
    first = await poll_once(config)
    assert {a["url"] for a in first} == {"https://menafn.example/kallas-troops"}
    assert {a["rule"] for a in first} >= {"troop-deployment", "kaja-kallas"}
    assert await poll_once(config) == []


async def test_two_outlets_one_story_one_alert_that_grows(feed_server: FeedServer, tmp_path: Path) -> None:
    rewrite, menafn = seed_items((NOW + timedelta(minutes=5), NOW))
    feed_server.feeds["menafn.xml"] = []
    feed_server.feeds["rewrite.xml"] = []
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'n.db'}",
                "rules": str(RULES),
                "feeds": [
                    {"url": feed_server.url("menafn.xml"), "name": "MENAFN", "fulltext": False},
                    {"url": feed_server.url("rewrite.xml"), "name": "Rewrite Desk", "fulltext": False},
                ],
            }
        )
    )
    assert await poll_once(config) == []
    feed_server.feeds["menafn.xml"] = [menafn]
    first = {a["rule"]: a for a in await poll_once(config)}
    assert first["troop-deployment"]["story"]["outlets"] == ["MENAFN"]
    assert not first["troop-deployment"]["update"]
    feed_server.feeds["rewrite.xml"] = [rewrite]
    grown = {a["rule"]: a for a in await poll_once(config)}
    troops = grown["troop-deployment"]
    assert troops["update"] and troops["alert"] == first["troop-deployment"]["alert"]
    assert troops["story"]["outlets"] == ["MENAFN", "Rewrite Desk"]
    assert troops["story"]["origin"] == "RIA News"
    assert {a["alert"] for a in grown.values()} == {a["alert"] for a in first.values()}
    assert await poll_once(config) == []


async def test_a_broken_feed_never_stops_the_others(feed_server: FeedServer, tmp_path: Path) -> None:
    feed_server.feeds["good.xml"] = seed_items((NOW, NOW))
    config = {
        "database": f"sqlite:///{tmp_path / 'n.db'}",
        "rules": str(RULES),
        "feeds": [
            {"url": feed_server.url("missing.xml"), "name": "Gone", "fulltext": False},
            {"url": feed_server.url("good.xml"), "name": "Good", "backlog": 5, "fulltext": False},
        ],
    }
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    alerts = await poll_once(path, expect_status=1)  # a feed failed: `poll --once` says so in its exit status
    assert alerts and {a["outlet"] for a in alerts} == {"Good"}


async def test_a_long_outage_is_announced_once(feed_server: FeedServer, tmp_path: Path) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'n.db'}",
                "rules": str(RULES),
                "feeds": [{"url": feed_server.url("gone.xml"), "name": "ERR News", "fulltext": False}],
                "polling": {"outage_notice_after": "0s"},
            }
        )
    )
    first = await poll_once(config, expect_status=1)
    assert first == [{"notice": "ERR News has failed for 0 s: HTTP 404"}]
    assert await poll_once(config, expect_status=1) == []
