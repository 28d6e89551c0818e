"""A process that can no longer work exits with status 70 (cluster/unworkable.py), in a process of its own:
its event loop stuck in one piece of work, a needed job ended by MemoryError, MemoryError in a thread. A
process that works is left alone; `newsbot run` under systemd says it runs and feeds the watchdog."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml

from bot.cluster.unworkable import EXIT_UNWORKABLE
from bot.starter import RULES

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

PROLOGUE = """
import asyncio, logging, threading, time
from bot.cluster.unworkable import Lifeline
logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")

async def main():
    async with Lifeline(stuck_after=2.0) as lifeline:
"""

CASES = {
    "stuck": "time.sleep(8)  # a CPU-bound piece of work on the loop",
    "needed job": (
        "async def job():\n    await asyncio.sleep(0.2)\n    raise MemoryError()\n"
        "task = asyncio.create_task(job())\nlifeline.needed(task, 'following the config')\n"
        "await asyncio.sleep(8)"
    ),
    "thread": (
        "def work():\n    raise MemoryError()\n"
        "threading.Thread(target=work).start()\nawait asyncio.sleep(8)"
    ),
}
SAYS = {
    "stuck": "the event loop has not run for",
    "needed job": "following the config failed (MemoryError",
    "thread": "out of memory",
}


def run(body: str) -> tuple[int, str, float]:
    script = PROLOGUE + textwrap.indent(body, " " * 8) + "\n    print('still working')\n\nasyncio.run(main())\n"
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    return done.returncode, done.stdout + done.stderr, time.monotonic() - started


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_process_that_cannot_work_exits_70(case: str) -> None:
    status, output, seconds = run(CASES[case])
    assert status == EXIT_UNWORKABLE, output
    assert SAYS[case] in output and "exiting with status 70" in output, output
    assert "still working" not in output
    assert seconds < 7, seconds


def test_a_process_that_works_is_left_alone() -> None:
    status, output, _ = run("for _ in range(30):\n    await asyncio.sleep(0.1)\n    time.sleep(0.5)")
    assert status == 0, output
    assert "still working" in output


def test_newsbot_run_tells_systemd_it_runs_and_feeds_the_watchdog(tmp_path: Path) -> None:
    """What deploy/systemd/ units (Type=notify, WatchdogSec) need: READY=1 once running, WATCHDOG=1 after."""
    shutil.copytree(RULES, tmp_path / "rules")
    config = tmp_path / "config.yaml"
    config.write_text(yaml.safe_dump({"database": f"sqlite:///{tmp_path / 'newsbot.db'}", "rules": "rules"}))
    address = tmp_path / "notify"
    states: list[str] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(address))
        sock.settimeout(1)
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "NOTIFY_SOCKET": str(address)}
        env["WATCHDOG_USEC"] = "2000000"
        process = subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "-c", str(config)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline and not ("READY=1" in states and states.count("WATCHDOG=1") >= 3):
                with contextlib.suppress(TimeoutError):
                    states.append(sock.recv(100).decode())
        finally:
            process.terminate()
            process.wait(30)
    assert "READY=1" in states and states.count("WATCHDOG=1") >= 3, states
