"""A newcomer's first hour (issue 21): every surprise they met, answered where it happens, with `newsbot` run as
a separate process the way they ran it. Each test names the point of the issue it holds."""

from __future__ import annotations

import asyncio
import json
import re
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
import yaml
from aiohttp import web

from bot import clock
from bot.starter import RULES
from tests.app.daemon import running_daemon, until
from tests.feedserver import Item, render_rss, seed_items
from tests.test_cli_process import newsbot

pytestmark = pytest.mark.e2e

AL_JAZEERA = "Al Jazeera – Breaking News, World News and Video from Al Jazeera"
NO_SUCH_HOST = "-no-such-host.example"
"""A name the C library refuses without asking a DNS server: no query leaves this machine, and the answer is
the one a mistyped host gets."""


def channel(title: str, link: str, items: list[Item]) -> bytes:
    """An RSS document with the channel's own title and link (what outlet names are made of)."""
    rss = render_rss(title, items).decode()
    return rss.replace("<link>https://feeds.example/</link>", f"<link>{escape(link)}</link>", 1).encode()


@dataclass(frozen=True)
class Site:
    """Feeds served on 127.0.0.1: two outlets' feeds on one host, an empty feed and a server that never
    answers; `refused` is a port where nothing listens."""

    base: str
    refused: str

    @property
    def host(self) -> str:
        return self.base.removeprefix("http://")


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    now = clock.now().replace(microsecond=0)
    kallas = seed_items((now - timedelta(minutes=20), now - timedelta(minutes=10)))
    other = Item("cbs-1", "Markets steady in Asia", "https://www.cbsnews.com/news/markets/", "Markets.", now)
    documents = {
        "/aljazeera.xml": channel(AL_JAZEERA, "https://www.aljazeera.com", kallas),
        "/cbs.xml": channel("World - CBSNews.com", "https://www.cbsnews.com/", [other]),
        "/empty.xml": channel("Quiet Desk", "https://quiet.example/", []),
    }

    async def feed(request: web.Request) -> web.Response:
        return web.Response(body=documents[request.path], content_type="application/rss+xml")

    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(60)
        return web.Response(body=b"late")

    app = web.Application()
    app.router.add_get("/silent.xml", silent)
    for path in documents:
        app.router.add_get(path, feed)
    runner = web.AppRunner(app, shutdown_timeout=0.1)
    await runner.setup()
    server = web.TCPSite(runner, "127.0.0.1", 0)
    await server.start()
    try:
        yield Site(f"http://127.0.0.1:{runner.addresses[0][1]}", f"http://127.0.0.1:{closed_port()}/feed.xml")
    finally:
        await runner.cleanup()


def desk(folder: Path, *feeds: dict[str, object], **extra: object) -> Path:
    """A config.yaml in `folder` with these feeds (no full text) and the starter rules."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "config.yaml"
    entries = [{"fulltext": False, **feed} for feed in feeds]
    config.write_text(yaml.safe_dump({"rules": str(RULES), "feeds": entries, **extra}, allow_unicode=True))
    return config


def lines_of(text: str) -> list[str]:
    """Lines without the log prefix (time and level), for log output and plain output alike."""
    prefix = re.compile(r"^\d{4}-\d\d-\d\dT[\d:.]+[+-]\d\d:\d\d [A-Z]+ +")
    return [prefix.sub("", line).strip() for line in text.splitlines()]


async def test_1_9_run_says_where_alerts_go_names_feeds_apart_and_says_it_stopped(site: Site, tmp_path: Path) -> None:
    config = desk(
        tmp_path,
        {"url": f"{site.base}/aljazeera.xml"},
        {"url": f"{site.base}/cbs.xml"},
        apprise=[{"url": "json://127.0.0.1:9/"}],
    )
    async with running_daemon(config) as daemon:
        await until(lambda: sum("fetched in" in line for line in daemon.logs) == 2, "both feeds polled")
    logs = lines_of("".join(daemon.logs))
    assert daemon.returncode == 0
    assert logs[0] == (
        f"alerts are printed here: no Telegram token is set (telegram.token in {config}; the starter config reads "
        "it from $TELEGRAM_BOT_TOKEN), and to 1 Apprise channel"
    )
    # Before their first poll, two feeds on one host are told apart by their addresses ...
    assert f"{site.host}/aljazeera.xml: now: first poll" in logs, "\n".join(logs)
    assert f"{site.host}/cbs.xml: now: first poll" in logs
    # ... and after it, each goes by the short name it gives itself.
    [jazeera] = [line for line in logs if line.startswith("Al Jazeera: fetched in")]
    assert jazeera.endswith("; 2 new; 2 held back: a first poll alerts at most backlog (0)")
    assert any(line.startswith("CBSNews.com: fetched in") for line in logs)
    assert logs[-1] == "stopped" and logs.count("stopped") == 1
    assert "Traceback" not in "".join(daemon.logs)


async def test_2_a_first_poll_that_alerts_nothing_says_why(site: Site, tmp_path: Path) -> None:
    config = desk(tmp_path, {"url": f"{site.base}/aljazeera.xml"})
    first = await newsbot("poll", "--once", cwd=tmp_path)
    assert first.status == 0, first.err
    assert lines_of(first.err)[-2:] == [
        "1 feed polled, 0 failed, 0 new stories alerted (0 topic alerts), 0 updated",
        "2 entries stored without alerts (Al Jazeera's first poll): a feed's first poll alerts at most `backlog` "
        "(0) of its entries, so a new feed never floods you with old news; `newsbot rules backtest` shows what they "
        "match, and `backlog: N` on a new feed in config.yaml alerts on its N newest at its first poll; later polls "
        "alert on every new entry",
    ]
    again = await newsbot("poll", "--once", cwd=tmp_path)
    assert "stored without alerts" not in again.err

    desk(tmp_path / "backlog", {"url": f"{site.base}/aljazeera.xml", "backlog": 2})
    alerted = await newsbot("poll", "--once", "--json", cwd=tmp_path / "backlog")
    assert alerted.status == 0 and "stored without alerts" not in alerted.err
    assert {json.loads(line)["outlet"] for line in alerted.out.splitlines()} == {"Al Jazeera"}
    assert config.exists()


async def test_3_read_only_commands_create_no_database(tmp_path: Path) -> None:
    for command in ("status", "stories", "rules backtest"):
        done = await newsbot(*command.split(), cwd=tmp_path)
        assert (done.status, done.err.strip()) == (
            2,
            f"newsbot: no feeds configured: no config file found (no -c FILE, no {tmp_path / 'config.yaml'}, and "
            "$NEWSBOT_CONFIG is not set); `newsbot init` writes one, or name yours with -c FILE",
        ), command
    for action in ("check", "test"):
        done = await newsbot("rules", action, cwd=tmp_path)
        assert (done.status, done.err.strip()) == (
            2,
            f"newsbot: {tmp_path / 'rules'}: no such rules folder (no config file was found); name the folder "
            f"(`newsbot rules {action} DIR`) or a config with -c FILE; `newsbot init` writes both",
        )

    initialised = await newsbot("init", "desk", cwd=tmp_path)
    assert initialised.status == 0
    for command in ("status", "stories --json", "rules backtest"):
        done = await newsbot(*command.split(), "-c", "desk/config.yaml", cwd=tmp_path)
        assert (done.status, done.out, done.err.strip()) == (
            0,
            "",
            f"nothing polled yet: there is no database at {tmp_path / 'desk' / 'data' / 'newsbot.db'}; "
            "`newsbot poll -c desk/config.yaml --once` or `newsbot run -c desk/config.yaml` makes it",
        ), command
    assert sorted(path.name for path in tmp_path.iterdir()) == ["desk"]
    assert not (tmp_path / "desk" / "data").exists()


async def test_4_7_poll_once_fails_when_a_feed_fails_and_says_why_in_plain_words(site: Site, tmp_path: Path) -> None:
    desk(
        tmp_path,
        {"url": f"{site.base}/cbs.xml"},
        {"url": site.refused},
        {"url": f"http://{NO_SUCH_HOST}/feed.xml"},
        {"url": f"{site.base}/silent.xml"},
        polling={"read_timeout": "2s"},
    )
    done = await newsbot("poll", "--once", cwd=tmp_path)
    assert done.status == 1
    refused = site.refused.removeprefix("http://").split("/")[0]
    said = lines_of(done.err)
    # A feed not read yet is logged by its address, once.
    address = site.refused.removeprefix("http://")
    assert f"feed {address}: connection refused by {refused} (no server listens there)" in said
    assert f"feed {NO_SUCH_HOST}/feed.xml: no such host: {NO_SUCH_HOST}" in said
    # While it waits for the silent server, newsbot says so, before the 2 s pass.
    assert f"{site.host}/silent.xml: no answer from {site.host} in 0.5 s; waiting up to 2 s" in said
    assert said[-5:] == [
        f"feed {site.refused}: connection refused by {refused} (no server listens there)",
        f"feed http://{NO_SUCH_HOST}/feed.xml: no such host: {NO_SUCH_HOST}",
        f"feed {site.base}/silent.xml: no answer in 2 s from {site.host}",
        "4 feeds polled, 3 failed, 0 new stories alerted (0 topic alerts), 0 updated",
        "1 entry stored without alerts (CBSNews.com's first poll): a feed's first poll alerts at most `backlog` "
        "(0) of its entries, so a new feed never floods you with old news; `newsbot rules backtest` shows what they "
        "match, and `backlog: N` on a new feed in config.yaml alerts on its N newest at its first poll; later polls "
        "alert on every new entry",
    ]

    desk(tmp_path / "fine", {"url": f"{site.base}/cbs.xml"})
    fine = await newsbot("poll", "--once", cwd=tmp_path / "fine")
    assert fine.status == 0, fine.err


async def test_6_10_near_misses_get_the_nearest_name_and_nothing_is_abbreviated(site: Site, tmp_path: Path) -> None:
    (tmp_path / "config.yaml").write_text(
        f"feeds:\n  - url: {site.base}/cbs.xml\n    evry: 10m\ntoken: x\ntelegram:\n  tokn: x\n"
    )
    config = await newsbot("status", cwd=tmp_path)
    assert (config.status, config.err.splitlines()) == (
        2,
        [
            "newsbot: config.yaml:3: feeds.0.evry: unknown key; did you mean `every`?",
            "newsbot: config.yaml:4: token: unknown key here; `token` belongs under `telegram`",
            "newsbot: config.yaml:6: telegram.tokn: unknown key; did you mean `token`?",
        ],
    )
    command = await newsbot("stauts", cwd=tmp_path)
    assert command.status == 2
    assert "invalid choice: 'stauts'; did you mean 'status'?" in command.err
    action = await newsbot("rules", "chek", cwd=tmp_path)
    assert "invalid choice: 'chek'; did you mean 'check'?" in action.err

    desk(tmp_path / "abbreviated", {"url": f"{site.base}/cbs.xml"})
    abbreviated = await newsbot("poll", "--onc", cwd=tmp_path / "abbreviated")
    assert abbreviated.status == 2
    assert abbreviated.err.splitlines()[-1] == (
        "newsbot poll: error: unrecognized arguments: --onc (did you mean --once?)"
    )
    assert not (tmp_path / "abbreviated" / "data").exists()  # nothing was polled


async def test_8_status_fits_80_columns_and_wide_shows_the_rest(site: Site, tmp_path: Path) -> None:
    desk(
        tmp_path,
        {"url": f"{site.base}/aljazeera.xml"},
        {"url": f"{site.base}/cbs.xml", "every": "10m"},
        {"url": site.refused},
    )
    await newsbot("poll", "--once", cwd=tmp_path)
    narrow = await newsbot("status", cwd=tmp_path, columns=80)
    assert narrow.status == 0, narrow.err
    lines = narrow.out.splitlines()
    failing = f"{site.refused.removeprefix('http://')}: connection refused by "
    table = [line for line in lines if not line.startswith(failing)]
    assert all(len(line) <= 80 for line in table), "\n".join(table)
    rows = {name: [line for line in table if line.startswith(f" {name} ")] for name in ("Al Jazeera", "CBSNews.com")}
    assert [len(found) for found in rows.values()] == [1, 1], lines  # a line per feed
    assert re.search(r"  in \d+ (h|min): adaptive  ", rows["Al Jazeera"][0])
    assert re.search(r"  in \d+ min: every 10m  ", rows["CBSNews.com"][0])
    [error] = [line for line in lines if line.startswith(failing)]
    assert re.fullmatch(r".* \(no server listens there\); failing since \d+ s ago", error), error
    assert lines[-1] == "Topics: no alerts in the last 7d"  # a first poll alerts on none: no empty table
    assert narrow.err.strip() == "`newsbot status --wide`: the reasons in full, items per day, latency per feed"

    wide = await newsbot("status", "--wide", cwd=tmp_path, columns=250)
    assert "adaptive, from how often the feed publishes" in wide.out and "latency" in wide.out


async def test_11_backtest_before_any_entry_hints_and_shows_whole_file_names(site: Site, tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    rules.mkdir()
    for source in RULES.glob("*.yaml"):
        (rules / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    (rules / "entities").mkdir()
    for source in (RULES / "entities").glob("*.yaml"):
        (rules / "entities" / source.name).write_text(source.read_text(encoding="utf-8"), encoding="utf-8")
    config = desk(tmp_path, {"url": f"{site.base}/empty.xml"})
    config.write_text(config.read_text().replace(str(RULES), "rules"))
    await newsbot("poll", "--once", cwd=tmp_path)
    empty = await newsbot("rules", "backtest", cwd=tmp_path, columns=80)
    assert (empty.status, empty.out, empty.err.strip()) == (
        0,
        "",
        "no entries stored in the last 7d: the backtest runs the rules over stored entries, and `newsbot poll "
        "--once` or `newsbot run` stores them (or try a longer --since)",
    )

    desk(tmp_path, {"url": f"{site.base}/aljazeera.xml"})
    config.write_text(config.read_text().replace(str(RULES), "rules"))
    await newsbot("poll", "--once", cwd=tmp_path)
    tested = await newsbot("rules", "backtest", cwd=tmp_path, columns=80)
    assert tested.status == 0, tested.err
    # Rules named after their files in one folder: the title names the folder, every row fits on one line.
    shown = [line.strip() for line in tested.out.splitlines()]
    assert shown[0] == "Backtest over 2 entries stored in the last 7d, rules in rules/", tested.out
    assert shown[shown.index("alerts: one per story") - 1].startswith("└"), tested.out  # below the table
    assert re.search(r"^│ troop-deployment +│ +2 │ +1 │$", tested.out, re.MULTILINE), tested.out
    table = [line for line in tested.out.splitlines() if line[:1] in "┏┃┡│└"]
    assert table and all("…" not in line and len(line) <= 80 for line in table), tested.out
    draft = tmp_path / "drafts" / "troops-near-tallinn.yaml"
    draft.parent.mkdir()
    draft.write_text("id: troop-deployment\ntitle: Troops\nquery: troops NEAR/20 Tallinn\n")
    drafted = await newsbot("rules", "backtest", "drafts/troops-near-tallinn.yaml", cwd=tmp_path, columns=80)
    assert drafted.status == 0, drafted.err
    row = r"│ troop-deployment +│ +\d+ │ +\d+ │ drafts/troops-near-tallinn\.yaml +│"
    assert re.search(row, drafted.out), drafted.out
