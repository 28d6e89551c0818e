"""`newsbot trend` as a user runs it (a process of its own, a SQLite file): the counts on the terminal, a valid PNG
with --png, and one plain sentence for what cannot be done."""

from __future__ import annotations

import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from bot import clock
from bot.store.db import open_database
from tests.e2e.png import check_png
from tests.trends.items import store_stories, write_rules

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


def _newsbot(*arguments: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": "/usr/bin:/bin", "COLUMNS": "120"}
    return subprocess.run(
        [sys.executable, "-m", "bot", *arguments], cwd=cwd, env={**env, "PYTHONPATH": str(ROOT)},
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


UNTIL = clock.now().replace(minute=30, second=0, microsecond=0) - timedelta(days=1)
"""The end of the period shown: stories are placed around it, so no clock hour splits the burst."""


async def _config(folder: Path) -> Path:
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump({"database": "sqlite:///n.db", "rules": str(write_rules(folder))}))
    engine = await open_database(f"sqlite:///{folder / 'n.db'}")
    await store_stories(engine, "harbour", [UNTIL - timedelta(days=day, minutes=20) for day in range(1, 15)])
    await store_stories(engine, "harbour", [UNTIL - timedelta(minutes=minute) for minute in range(1, 9)], start=1)
    await engine.dispose()
    return config


async def test_trend_prints_counts_and_writes_a_png(tmp_path: Path) -> None:
    config = await _config(tmp_path)
    until = ["--until", UNTIL.isoformat()]
    shown = _newsbot("trend", "harbour", "-c", str(config), "--since", "2d", *until, cwd=tmp_path)
    assert shown.returncode == 0, shown.stderr
    lines = shown.stdout.splitlines()
    assert lines[0].startswith("Harbour $ traffic: stories per hour, ")
    assert "9 stories, 1 spike; usual: the same hours of the earlier days" in shown.stdout
    assert any("│       8 │" in line and "▲ spike" in line for line in lines), shown.stdout
    chart = tmp_path / "out" / "harbour.png"
    chart.parent.mkdir()
    written = _newsbot("trend", "Harbour $ traffic", "-c", str(config), "--png", str(chart), *until, cwd=tmp_path)
    assert written.returncode == 0, written.stderr
    before = f"{UNTIL:%Y-%m-%d %H:%M} UTC"
    assert written.stdout.strip() == f"Wrote {chart}: 21 stories in the 14d before {before}."
    size = check_png(chart.read_bytes())
    assert (size.width, size.height) == (800, 360)


async def test_trend_says_what_cannot_be_done_in_one_sentence(tmp_path: Path) -> None:
    config = await _config(tmp_path)
    unknown = _newsbot("trend", "harbor", "-c", str(config), cwd=tmp_path)
    assert unknown.returncode == 2
    assert unknown.stderr.strip() == "newsbot: no topic 'harbor' (topics by id or title; known: harbour)"
    before = _newsbot("trend", "harbour", "-c", str(config), "--until", "2020-01-01", cwd=tmp_path)
    assert before.returncode == 0 and before.stdout.strip() == (
        "Harbour $ traffic: no stories in the 14d before 2020-01-01 00:00 UTC."
    )
    nowhere = _newsbot("trend", "harbour", "-c", str(config), "--png", str(tmp_path / "no" / "x.png"), cwd=tmp_path)
    assert nowhere.returncode == 2 and "x.png: cannot write the chart (No such file or directory)" in nowhere.stderr
    bad = _newsbot("trend", "harbour", "-c", str(config), "--until", "yesterday", cwd=tmp_path)
    assert bad.returncode == 2 and "'yesterday' is not a date or time" in bad.stderr
