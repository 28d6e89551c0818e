"""Running `newsbot run` as a separate process for the pipeline's end-to-end tests."""

from __future__ import annotations

import asyncio
import shutil
import signal
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from bot.starter import RULES


def daemon_config(folder: Path, feed_url: str, rules: Path = RULES, **extra: Any) -> Path:
    """A config polling one feed every second, without full text, into a SQLite file in `folder`."""
    config = {
        "database": f"sqlite:///{folder / 'n.db'}",
        "rules": str(rules),
        "feeds": [{"url": feed_url, "name": "Wire", "every": "1s", "fulltext": False}],
        "polling": {"min_interval": "1s", "jitter": 0},
        **extra,
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    return path



def editable_rules_config(folder: Path, feed_url: str) -> tuple[Path, Path]:
    """A config polling one feed with a copy of the starter rules in `folder`, to edit while it runs; returns
    the config and the rules folder."""
    rules = folder / "rules"
    shutil.copytree(RULES, rules)
    return daemon_config(folder, feed_url, rules), rules

@dataclass
class Daemon:
    """What the running daemon printed: alerts on stdout, logs on stderr, line by line as they come."""

    out: list[str] = field(default_factory=list)
    logs: list[str] = field(default_factory=list)
    returncode: int | None = None


async def until(condition: Callable[[], bool], what: str, seconds: float = 30) -> None:
    for _ in range(int(seconds * 10)):
        if condition():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode())


@asynccontextmanager
async def running_daemon(
    config: Path, newsbot: Sequence[str] = (sys.executable, "-m", "bot"), cwd: Path | None = None
) -> AsyncIterator[Daemon]:
    """`newsbot run -c config` until the block ends, then SIGTERM; a failure inside shows the daemon's log.

    `newsbot` is the command that starts it: this checkout's by default, an installed one's in the wheel test.
    """
    process = await asyncio.create_subprocess_exec(
        *newsbot, "run", "-c", str(config), cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env={"COLUMNS": "250", "PATH": "/usr/bin:/bin"},
    )  # fmt: skip
    assert process.stdout is not None and process.stderr is not None
    daemon = Daemon()
    readers = [
        asyncio.create_task(_collect(process.stdout, daemon.out)),
        asyncio.create_task(_collect(process.stderr, daemon.logs)),
    ]
    try:
        yield daemon
    except AssertionError as failure:
        raise AssertionError(f"{failure}; daemon log:\n{''.join(daemon.logs)}") from None
    finally:
        process.send_signal(signal.SIGTERM)
        await asyncio.wait_for(process.wait(), timeout=30)
        await asyncio.gather(*readers)
        daemon.returncode = process.returncode
