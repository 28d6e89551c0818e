"""Live editing against a running daemon: a new rule file takes effect without a restart, and a bad edit
is reported as file:line while the rule's previous version keeps alerting."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import yaml

from tests.feedserver import FeedServer, Item

RULES = Path(__file__).resolve().parents[2] / "rules"
WATER = 'id: water-supply\ntitle: Water supply attacks\nquery: >\n  ("water utility" OR reservoir*) NEAR/8 hack*\n'
BROKEN = 'id: water-supply\ntitle: Water supply attacks\nquery: >\n  ("water utility" OR reservoir* NEAR/8 hack*\n'


async def _until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode())


def _item(n: int, title: str) -> Item:
    return Item(
        f"w{n}", title, f"https://w.example/{n}", title + ". Officials said systems were restored.", datetime.now(UTC)
    )


async def test_rule_edits_apply_live_and_bad_edits_keep_the_old_version(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    feed_server.feeds["wire.xml"] = []
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'n.db'}",
                "rules": str(rules),
                "feeds": [{"url": feed_server.url("wire.xml"), "name": "Wire", "every": "1s", "fulltext": False}],
                "polling": {"min_interval": "1s", "jitter": 0},
            }
        )
    )
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        "run",
        "-c",
        str(config),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
    )
    assert process.stdout is not None and process.stderr is not None
    out: list[str] = []
    logs: list[str] = []
    readers = [asyncio.create_task(_collect(process.stdout, out)), asyncio.create_task(_collect(process.stderr, logs))]
    try:
        await _until(lambda: feed_server.requests.get("wire.xml", 0) >= 1, "the first poll")
        (rules / "water-supply.yaml").write_text(WATER)
        await _until(lambda: any("rules reloaded: 7 in force" in line for line in logs), "the reload")
        feed_server.feeds["wire.xml"] = [_item(1, "Hackers break into city water utility")]
        await _until(lambda: sum("Water supply attacks" in line for line in out) == 1, "the new rule's alert")

        (rules / "water-supply.yaml").write_text(BROKEN)
        await _until(lambda: any("water-supply.yaml:5: query:" in line for line in logs), "the error")
        assert any("previous version keeps running" in line for line in logs)
        feed_server.feeds["wire.xml"] = [
            _item(1, "Hackers break into city water utility"),
            _item(2, "Reservoirs hacked overnight"),
        ]
        await _until(lambda: sum("Water supply attacks" in line for line in out) == 2, "the kept rule's alert")
    except AssertionError as failure:
        raise AssertionError(f"{failure}; daemon log:\n{''.join(logs)}") from None
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
        await asyncio.gather(*readers)
    assert process.returncode == 0, "".join(logs)
