"""The `newsbot` command as a user runs it, a separate process: where it finds its config, every config
problem at once with file:line and key, `-v` per-feed lines without the libraries' debug noise, JSON log
lines, ISO 8601 times, and counts that agree with their nouns."""

from __future__ import annotations

import asyncio
import json
import os
import re
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from bot import clock
from tests.feedserver import render_rss, seed_items

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
RULE = """id: kallas
title: Kaja Kallas
query: "@kaja-kallas"
examples:
  match: ["Kaja Kallas spoke in Tallinn."]
"""
ENTITY = "id: kaja-kallas\ntype: person\nnames: [Kaja Kallas]\nambiguous: [Kallas]\n"
TIME = r"(?P<ts>\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)"
NOTHING_NEW = "1 feed polled, 0 failed, 0 new stories alerted (0 topic alerts), 0 updated"


@dataclass(frozen=True)
class Done:
    status: int
    out: str
    err: str


async def newsbot(*arguments: str, cwd: Path, config_env: Path | None = None, columns: int = 250) -> Done:
    """Run `python -m bot ARGUMENTS` in `cwd`, with $NEWSBOT_CONFIG only when given, on a terminal `columns`
    wide."""
    environment = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("NEWSBOT_") and key not in ("TELEGRAM_BOT_TOKEN", "PYTHONPATH")
    }
    environment.update(PYTHONPATH=str(ROOT), COLUMNS=str(columns), NO_COLOR="1")
    if config_env is not None:
        environment["NEWSBOT_CONFIG"] = str(config_env)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", *arguments, cwd=cwd, env=environment,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), timeout=120)
    assert process.returncode is not None
    return Done(process.returncode, out.decode(), err.decode())


def feed_config(path: Path, feed_url: str, **extra: object) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump({"feeds": [{"url": feed_url, "fulltext": False}], **extra}))
    return path


async def test_config_from_the_flag_else_here_else_the_environment(tmp_path: Path) -> None:
    here = feed_config(tmp_path / "here" / "config.yaml", "http://127.0.0.1:9/here.xml")
    named = feed_config(tmp_path / "elsewhere" / "named.yaml", "http://127.0.0.1:9/named.xml")
    flag = feed_config(tmp_path / "flag.yaml", "http://127.0.0.1:9/flag.xml")
    empty = tmp_path / "empty"
    empty.mkdir()

    async def exported(cwd: Path, *flags: str, config_env: Path | None = None) -> list[str]:
        done = await newsbot("feeds", "export", *flags, cwd=cwd, config_env=config_env)
        assert done.status == 0, done.err
        return re.findall(r'xmlUrl="http://127.0.0.1:9/([a-z]+)\.xml"', done.out)

    assert await exported(here.parent, "-c", str(flag), config_env=named) == ["flag"]
    assert await exported(here.parent, config_env=named) == ["here"]
    assert await exported(empty, config_env=named) == ["named"]
    assert await exported(empty) == []

    missing = await newsbot("feeds", "export", cwd=empty, config_env=tmp_path / "nope.yaml")
    assert (missing.status, missing.err.strip()) == (
        2,
        f"newsbot: {tmp_path / 'nope.yaml'}: no such config file ($NEWSBOT_CONFIG names it)",
    )


async def test_rules_check_reads_the_rules_folder_of_the_config_it_finds(tmp_path: Path) -> None:
    """The rules folder of a config named by $NEWSBOT_CONFIG is resolved against that config's folder."""
    desk = tmp_path / "desk"
    (desk / "watch" / "entities").mkdir(parents=True)
    (desk / "watch" / "kallas.yaml").write_text(RULE)
    (desk / "watch" / "entities" / "kaja-kallas.yaml").write_text(ENTITY)
    feed_config(desk / "newsbot.yaml", "http://127.0.0.1:9/a.xml", rules="watch")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for flags, config_env in ((), desk / "newsbot.yaml"), (("-c", str(desk / "newsbot.yaml")), None):
        done = await newsbot("rules", "check", *flags, cwd=elsewhere, config_env=config_env)
        assert (done.status, done.out.strip()) == (0, "1 rule and 1 entity loaded, 0 problems")


@pytest.mark.parametrize("command", ["poll --once", "run"])
async def test_no_config_file_found_is_said_with_where_it_looked(tmp_path: Path, command: str) -> None:
    done = await newsbot(*command.split(), cwd=tmp_path)
    assert done.status == 2
    assert done.err.strip() == (
        f"newsbot: no feeds configured: no config file found (no -c FILE, no {tmp_path / 'config.yaml'}, and "
        "$NEWSBOT_CONFIG is not set); `newsbot init` writes one, or name yours with -c FILE"
    )


async def test_a_config_without_feeds_names_itself(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text("database: sqlite:///n.db\n")
    done = await newsbot("poll", "--once", cwd=tmp_path)
    assert (done.status, done.err.strip()) == (
        2,
        "newsbot: no feeds configured: add some under `feeds:` in config.yaml",
    )


async def test_every_config_problem_at_once_with_file_line_and_key(tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        "database: mysql://db\n"
        "feeds:\n"
        "  - url: http://127.0.0.1:9/a.xml\n"
        "    every: soon\n"
        "  - name: No URL\n"
        "  - url: ftp://old/feed\n"
        "    bogus: 1\n"
        "telegram:\n"
        "  tokn: x\n"
        "polling:\n"
        "  min_interval: 3h\n"
    )
    done = await newsbot("status", cwd=tmp_path)
    assert done.status == 2
    assert done.err.splitlines() == [
        "newsbot: config.yaml:1: database: 'mysql://db' is not a SQLite or PostgreSQL URL (sqlite:///path or "
        "postgresql://...)",
        "newsbot: config.yaml:4: feeds.0.every: 'soon' is not a duration; write it like 30s, 10m, 2h or 1d",
        "newsbot: config.yaml:5: feeds.1.url: this key is required",
        "newsbot: config.yaml:6: feeds.2.url: 'ftp://old/feed' must start with http://, https:// or file://",
        "newsbot: config.yaml:7: feeds.2.bogus: unknown key; the keys here are url, name, every, backlog, fulltext",
        "newsbot: config.yaml:9: telegram.tokn: unknown key; did you mean `token`?",
        "newsbot: config.yaml:10: polling: min_interval must not be longer than max_interval",
    ]


@pytest.fixture
async def static_feed(tmp_path: Path) -> AsyncIterator[str]:
    """wire.xml (the two seed articles) served from a folder by aiohttp, which answers conditional GETs
    with 304; yields its URL."""
    folder = tmp_path / "served"
    folder.mkdir()
    now = clock.now().replace(microsecond=0)
    (folder / "wire.xml").write_bytes(render_rss("Wire", seed_items((now - timedelta(minutes=5), now))))
    app = web.Application()
    app.router.add_static("/", folder)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    try:
        yield f"http://127.0.0.1:{runner.addresses[0][1]}/wire.xml"
    finally:
        await runner.cleanup()


def log_lines(err: str) -> list[re.Match[str]]:
    """The text log lines of stderr: ISO 8601 time with offset, level, message."""
    found = [re.match(rf"^{TIME} (?P<level>[A-Z]+) +(?P<message>.*)$", line) for line in err.splitlines()]
    return [match for match in found if match]


async def test_verbose_shows_each_feed_poll_and_json_logs_parse(static_feed: str, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "entities").mkdir(parents=True)
    (rules / "kallas.yaml").write_text(RULE)
    (rules / "entities" / "kaja-kallas.yaml").write_text(ENTITY)
    config = tmp_path / "desk" / "config.yaml"
    config.parent.mkdir()
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{tmp_path / 'n.db'}",
                "rules": str(rules),
                "feeds": [{"url": static_feed, "name": "Wire", "backlog": 5, "fulltext": False}],
            }
        )
    )

    first = await newsbot("poll", "--once", "-v", cwd=config.parent)
    assert first.status == 0, first.err
    lines = log_lines(first.err)
    assert [line["message"] for line in lines if line["message"].startswith("loaded ")] == [
        f"loaded 1 rule from {rules}"
    ]
    polled, filed = [line for line in lines if line["message"].startswith("Wire: ")]
    assert re.fullmatch(r"Wire: fetched in \d+ ms; parsed 2 entries in \d+ ms; 2 new", polled["message"]), polled
    assert re.fullmatch(r"Wire: 2 entries filed; 2 matches; [12] alerts?", filed["message"]), filed["message"]
    assert datetime.fromisoformat(polled["ts"]).tzinfo is not None
    assert "aiosqlite" not in first.err and "httpx" not in first.err and "alembic" not in first.err
    assert "1 feed polled, 0 failed, " in first.err

    quiet = await newsbot("poll", "--once", cwd=config.parent)
    assert quiet.status == 0 and "Wire:" not in quiet.err
    assert quiet.err.strip().endswith(NOTHING_NEW)

    again = await newsbot("-v", "poll", "--once", cwd=config.parent)
    [polled] = [line for line in log_lines(again.err) if line["message"].startswith("Wire: ")]
    assert polled["level"] == "DEBUG"
    assert re.fullmatch(r"Wire: 304 not modified in \d+ ms", polled["message"]), polled["message"]

    noisy = await newsbot("poll", "--once", "-vv", cwd=config.parent)
    assert "[aiosqlite]" in noisy.err  # -vv lets the libraries' debug lines through: the check above can fail

    as_json = await newsbot("poll", "--once", "-v", "--log-format", "json", cwd=config.parent)
    assert as_json.status == 0, as_json.err
    printed = [line for line in as_json.err.splitlines() if line.strip()]
    assert printed[-1] == NOTHING_NEW  # the command's own output
    records = [json.loads(line) for line in printed[:-1]]
    for record in records:
        assert {"ts", "level", "logger", "message"} <= set(record)
        assert datetime.fromisoformat(record["ts"]).tzinfo is not None
    [poll] = [record for record in records if record["message"].startswith("Wire: ")]
    assert (poll["logger"], poll["level"], poll["feed"], poll["url"], poll["status"]) == (
        "bot.ingest.pipeline",
        "DEBUG",
        "Wire",
        static_feed,
        "not_modified",
    )
    assert isinstance(poll["fetch_ms"], int)


async def test_counts_agree_with_their_nouns(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    (rules / "entities").mkdir(parents=True)
    (rules / "kallas.yaml").write_text(RULE)
    (rules / "entities" / "kaja-kallas.yaml").write_text(ENTITY)
    checked = await newsbot("rules", "check", str(rules), cwd=tmp_path)
    assert checked.out.strip() == "1 rule and 1 entity loaded, 0 problems"
    tested = await newsbot("rules", "test", str(rules), cwd=tmp_path)
    assert tested.out.strip() == "1/1 example passes in 1 rule"

    (rules / "broken.yaml").write_text("id: broken\ntitle: B\nquery: (a\n")
    broken = await newsbot("rules", "check", str(rules), cwd=tmp_path)
    assert broken.status == 1 and broken.err.splitlines()[-1] == "1 rule and 1 entity loaded, 1 problem"
    (rules / "broken.yaml").unlink()

    config = feed_config(tmp_path / "config.yaml", "http://127.0.0.1:9/wire.xml", rules="rules")
    (tmp_path / "story.txt").write_text("Kaja Kallas visits Kyiv\nKaja Kallas met the president.\n")
    matched = await newsbot("match", "-c", str(config), "story.txt", cwd=tmp_path)
    assert matched.out.splitlines()[0] == "story.txt: 1 rule matches"

    (tmp_path / "desk.opml").write_text(
        '<?xml version="1.0"?><opml version="2.0"><head><title>d</title></head><body>'
        '<outline text="ERR" type="rss" xmlUrl="https://news.err.ee/rss"/></body></opml>'
    )
    imported = await newsbot("feeds", "import", "desk.opml", cwd=tmp_path)
    assert imported.out.strip() == f"1 feed added to {tmp_path / 'feeds.yaml'} (0 already there)"
