"""A process that can no longer work exits with status 70 (cluster/unworkable.py), in a process of its own:
its event loop stuck in one piece of work, a needed job ended by MemoryError, MemoryError in a thread. A
process that works is left alone."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time

import pytest

from bot.cluster.unworkable import EXIT_UNWORKABLE

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
