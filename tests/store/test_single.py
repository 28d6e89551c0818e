"""Case 11: on SQLite newsbot is one process. A second `run` or `poll` refuses to start in one sentence, and a
database file locked by another program is one sentence too, not a traceback."""

from __future__ import annotations

import asyncio
import re
import sqlite3
import sys
from pathlib import Path

import pytest

from bot.cli import main
from tests.app.daemon import daemon_config, running_daemon, until
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e


async def test_a_second_newsbot_on_one_sqlite_file_refuses_to_start(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    feed_server.feeds["wire.xml"] = []
    config = daemon_config(tmp_path, feed_server.url("wire.xml"))
    async with running_daemon(config) as daemon:
        await until(lambda: feed_server.requests.get("wire.xml", 0) >= 1, "the first poll")
        second = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "poll", "-c", str(config), "--once", stderr=asyncio.subprocess.PIPE
        )
        _, stderr = await asyncio.wait_for(second.communicate(), timeout=60)
        assert second.returncode == 2
        err = stderr.decode().strip()
        assert re.fullmatch(
            rf"newsbot: another newsbot \(pid \d+\) is already using {tmp_path / 'n.db'}; stop it first, "
            r"or give this one its own database",
            err,
        ), err
        polls = feed_server.requests["wire.xml"]
        await until(lambda: feed_server.requests["wire.xml"] > polls, "the first daemon polling on")
    assert daemon.returncode == 0


def test_a_database_locked_by_another_program_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = daemon_config(tmp_path, "http://127.0.0.1:9/wire.xml")
    other = sqlite3.connect(tmp_path / "n.db", isolation_level=None)
    try:
        other.execute("CREATE TABLE theirs (x)")
        other.execute("BEGIN EXCLUSIVE")
        other.execute("INSERT INTO theirs VALUES (1)")
        assert main(["poll", "-c", str(config), "--once"]) == 2
    finally:
        other.close()
    err = capsys.readouterr().err.strip()
    assert err.startswith("newsbot: ") and "locked by another program" in err, err
    assert len(err.splitlines()) == 1
