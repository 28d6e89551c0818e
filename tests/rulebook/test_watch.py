"""Hot reload with real files on disk: good edits go live, bad edits keep the last good version."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from bot.match.matcher import Matcher
from bot.model import Entry
from bot.rulebook.load import RuleFiles
from bot.rulebook.watch import Reload, watch_rules
from bot.starter import RULES

TROOPS = Entry(feed_url="", outlet="", url="", title="", summary="Estonia will send troops to the border.")
TANKS = Entry(feed_url="", outlet="", url="", title="", summary="Estonia will send tanks to the border.")


class Watcher:
    """Runs watch_rules in the background and hands over its reloads one by one."""

    def __init__(self, files: RuleFiles) -> None:
        self.stop = asyncio.Event()
        self.reloads: asyncio.Queue[Reload] = asyncio.Queue()
        matcher = Matcher(files.load())
        self.stream: AsyncIterator[Reload] = watch_rules(files, matcher, stop_event=self.stop, debounce_ms=50)
        self.task = asyncio.create_task(self._pump())

    async def _pump(self) -> None:
        async for reload in self.stream:
            await self.reloads.put(reload)

    async def next(self) -> Reload:
        return await asyncio.wait_for(self.reloads.get(), timeout=15)

    async def ready(self, folder: Path) -> None:
        """Touch a probe rule until a reload shows the watcher is live, then remove it again."""
        probe = folder / "zz-probe.yaml"
        for attempt in range(100):
            probe.write_text(f"id: probe\ntitle: Probe {attempt}\nquery: probe\n")
            try:
                await asyncio.wait_for(self.reloads.get(), timeout=0.2)
                break
            except TimeoutError:
                continue
        probe.unlink()
        while (await self.next()).ruleset.get("probe") is not None:
            pass

    async def close(self) -> None:
        self.stop.set()
        await asyncio.wait_for(self.task, timeout=15)


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    target = tmp_path / "rules"
    shutil.copytree(RULES, target)
    return target


@pytest.fixture
async def watcher(folder: Path) -> AsyncIterator[Watcher]:
    running = Watcher(RuleFiles(folder))
    await running.ready(folder)
    yield running
    await running.close()


def rule_ids(reload: Reload, entry: Entry) -> set[str]:
    return {m.rule_id for m in reload.matcher.match(entry)}


async def test_a_good_edit_goes_live(folder: Path, watcher: Watcher) -> None:
    path = folder / "troop-deployment.yaml"
    path.write_text(path.read_text().replace("(troops OR soldiers", "(tanks OR troops OR soldiers"))
    reload = await watcher.next()
    assert reload.changed == (str(path),)
    assert reload.new_errors == ()
    assert "troop-deployment" in rule_ids(reload, TANKS)


async def test_a_broken_edit_is_reported_and_the_previous_version_keeps_running(folder: Path, watcher: Watcher) -> None:
    path = folder / "troop-deployment.yaml"
    good = path.read_text()
    path.write_text(good.replace("NEAR/12 (deploy*", "NEAR/12 (deploy* OR)"))
    reload = await watcher.next()
    assert [str(e) for e in reload.new_errors] == [
        f"{path}:6: query: unexpected ')': parentheses do not balance (column 22); the previous version keeps running"
    ]
    assert "troop-deployment" in rule_ids(reload, TROOPS)

    path.write_text(good)
    fixed = await watcher.next()
    assert fixed.errors == ()
    assert "troop-deployment" in rule_ids(fixed, TROOPS)


async def test_an_edit_that_fails_its_own_examples_does_not_go_live(folder: Path, watcher: Watcher) -> None:
    path = folder / "troop-deployment.yaml"
    path.write_text(path.read_text().replace("NEAR/12", "NEAR/1"))
    reload = await watcher.next()
    assert [str(e) for e in reload.new_errors] == [
        f"{path}:10: example should match but does not: "
        "'Military personnel would not be deployed to Ukraine, the minister said.'; "
        "the previous version keeps running"
    ]
    rule = reload.ruleset.get("troop-deployment")
    assert rule is not None
    assert "NEAR/12" in rule.query_text


async def test_new_and_deleted_rule_files(folder: Path, watcher: Watcher) -> None:
    (folder / "tanks.yaml").write_text("id: tanks\ntitle: Tanks\nquery: tanks NEAR/3 send*\n")
    added = await watcher.next()
    assert "tanks" in rule_ids(added, TANKS)
    (folder / "tanks.yaml").unlink()
    removed = await watcher.next()
    assert removed.ruleset.get("tanks") is None
    assert "tanks" not in rule_ids(removed, TANKS)


async def test_an_entity_edit_reaches_the_rules_that_use_it(folder: Path, watcher: Watcher) -> None:
    entry = Entry(feed_url="", outlet="", url="", title="", summary="Reval harbour reopened.")
    path = folder / "entities" / "estonia.yaml"
    path.write_text(path.read_text() + "  - Reval\n")
    reload = await watcher.next()
    assert "estonia" in rule_ids(reload, entry)


async def test_a_likely_mistake_goes_live_with_a_warning_reported_once(folder: Path, watcher: Watcher) -> None:
    path = folder / "tanks.yaml"
    path.write_text("id: tanks\ntitle: Tanks\nquery: >\n  tanks near/3 send*\n")
    reload = await watcher.next()
    assert reload.new_errors == ()
    assert [str(w) for w in reload.new_warnings] == [
        f"{path}:4: warning: query: 'near/3' is read as the words \"near 3\", not as an operator; "
        "write NEAR/3 (operators are upper case) (column 9)"
    ]
    assert reload.ruleset.get("tanks") is not None
    (folder / "other.yaml").write_text("id: other\ntitle: Other\nquery: parade\n")
    later = await watcher.next()
    assert later.new_warnings == () and len(later.ruleset.warnings) == 1
