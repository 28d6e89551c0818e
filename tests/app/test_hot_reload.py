"""Live editing against a running daemon: a new rule file takes effect without a restart, and a bad edit
is reported as file:line while the rule's previous version keeps alerting."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot import clock
from tests.app.daemon import editable_rules_config, running_daemon, until
from tests.feedserver import FeedServer, Item

pytestmark = pytest.mark.e2e

WATER = 'id: water-supply\ntitle: Water supply attacks\nquery: >\n  ("water utility" OR reservoir*) NEAR/8 hack*\n'
BROKEN = 'id: water-supply\ntitle: Water supply attacks\nquery: >\n  ("water utility" OR reservoir* NEAR/8 hack*\n'


def _item(n: int, title: str) -> Item:
    return Item(
        f"w{n}", title, f"https://w.example/{n}", title + ". Officials said systems were restored.", clock.now()
    )


async def test_rule_edits_apply_live_and_bad_edits_keep_the_old_version(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.feeds["wire.xml"] = []
    config, rules = editable_rules_config(tmp_path, feed_server.url("wire.xml"))
    # two reports of water-utility hacks a moment apart are one event to the meaning signal; this test wants
    # two stories, one before and one after the bad edit
    settings = yaml.safe_load(config.read_text())
    config.write_text(yaml.safe_dump({**settings, "stories": {"meaning": False}}))
    async with running_daemon(config) as daemon:
        out, logs = daemon.out, daemon.logs
        await until(lambda: feed_server.requests.get("wire.xml", 0) >= 1, "the first poll")
        (rules / "water-supply.yaml").write_text(WATER)
        await until(lambda: any("rules reloaded: 7 in force" in line for line in logs), "the reload")
        feed_server.feeds["wire.xml"] = [_item(1, "Hackers break into city water utility")]
        await until(lambda: sum("Water supply attacks" in line for line in out) == 1, "the new rule's alert")

        (rules / "water-supply.yaml").write_text(BROKEN)
        error = "water-supply.yaml:4: query: this '(' is never closed"
        await until(lambda: any(error in line for line in logs), "the error")
        assert any("previous version keeps running" in line for line in logs)
        await until(lambda: any("A rule edit has problems" in line for line in out), "the operators' notice")
        feed_server.feeds["wire.xml"] = [
            _item(1, "Hackers break into city water utility"),
            _item(2, "Reservoirs hacked overnight"),
        ]
        await until(lambda: sum("Water supply attacks" in line for line in out) == 2, "the kept rule's alert")
    assert daemon.returncode == 0, "".join(logs)
