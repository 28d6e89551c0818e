"""Case 15: after kill -9 of a real `newsbot poll`, no parse worker, forkserver or resource tracker is left."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from bot.starter import RULES
from tests.fetch.servers import rss

pytestmark = pytest.mark.e2e


def _descendants(pid: int) -> set[int]:
    found: set[int] = set()
    todo = [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*"):
            try:
                children = {int(c) for c in (task / "children").read_text().split()}
            except OSError:
                continue
            todo.extend(children - found)
            found |= children
    return found


def _running(pid: int) -> bool:
    try:
        status = Path(f"/proc/{pid}/status").read_text()
    except OSError:
        return False
    return "\nState:\tZ" not in status


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to see the process tree")
def test_parse_workers_die_with_a_killed_newsbot(tmp_path: Path) -> None:
    feed = tmp_path / "feed.xml"
    feed.write_bytes(rss(*(f"Story {n}" for n in range(50))))
    config = tmp_path / "config.yaml"
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'n.db'}",
                "rules": str(RULES),
                "feeds": [{"url": feed.as_uri(), "every": "1s", "fulltext": False}],
                "polling": {"min_interval": "1s", "jitter": 0},
            }
        )
    )
    newsbot = subprocess.Popen(
        [sys.executable, "-m", "bot", "poll", "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 60
        children: set[int] = set()
        while time.monotonic() < deadline and len(children) < 3:  # resource tracker, forkserver, a worker
            time.sleep(0.2)
            children = _descendants(newsbot.pid)
        assert len(children) >= 3, f"the parse worker never started: {children}"
    finally:
        os.kill(newsbot.pid, signal.SIGKILL)
        newsbot.wait()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_running(pid) for pid in children):
        time.sleep(0.2)
    left = [pid for pid in children if _running(pid)]
    for pid in left:
        os.kill(pid, signal.SIGKILL)
    assert not left, f"{len(left)} processes outlived their newsbot"
