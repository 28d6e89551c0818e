"""A small desk through the real command line, each command a separate process: three local feeds polled
into a SQLite file, then `stories --topic/--min-outlets`, `rules backtest` (alerts, drafts against live),
the outlet names in alerts, stories, status and `feeds export`, and `rules check` warnings."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import yaml

from bot import clock
from bot.starter import RULES
from tests.feedserver import Item, render_rss, seed_items

pytestmark = pytest.mark.e2e

KALLAS = "Estonian PM Kallas declines to rule out sending troops to Ukraine"
NARVA = "Dutch soldiers sent to Narva"
PORT = "Ransomware hits the port's cargo systems"


def newsbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """`python -m bot ARGS` as a user runs it, in a wide terminal so tables are not cut."""
    environment = {**os.environ, "COLUMNS": "250", "NO_COLOR": "1"}
    environment.pop("TELEGRAM_BOT_TOKEN", None)
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=environment, capture_output=True, text=True, timeout=180
    )


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """Keep the test output for the test."""


@dataclass(frozen=True)
class Desk:
    folder: Path
    config: Path
    alerts: list[dict[str, Any]]

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return newsbot(*args, cwd=self.folder)


def _feeds(site: Path) -> None:
    """Wire A carries MENAFN's Kallas report and a Narva story; Baltic Rewrite (no configured name) rewrites
    the Kallas report; Harbour Times (no name either) reprints it behind a tracking link, and has port news."""
    now = clock.now()
    menafn, rewrite = reversed(seed_items((now - timedelta(hours=2, minutes=40), now - timedelta(hours=3))))
    narva = Item(
        "narva",
        NARVA,
        "https://wire.example/narva?campaign_id=7&id=1",
        "The Netherlands sent 200 soldiers to Narva on Tuesday to reinforce the eastern flank, the ministry said.",
        now - timedelta(hours=2),
    )
    reprint = Item(
        "harbour-kallas",
        menafn.title,
        "https://harbour.example/kallas?utm_source=rss&maca=en-rss&icid=rss#publisher=newsstand",
        menafn.body,
        now - timedelta(hours=2, minutes=30),
    )
    port = Item(
        "port",
        PORT,
        "https://harbour.example/port",
        "A ransomware attack on the port disrupted its cargo systems overnight, the port authority said.",
        now - timedelta(hours=1),
    )
    (site / "wire.xml").write_bytes(render_rss("Wire A feed title", [menafn, narva]))
    (site / "rewrite.xml").write_bytes(render_rss("Baltic Rewrite", [rewrite]))
    (site / "harbour.xml").write_bytes(render_rss("Harbour Times", [reprint, port]))


@pytest.fixture(scope="module")
def desk(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Desk]:
    """The feeds served on 127.0.0.1, polled once by `newsbot poll --once --json` into a SQLite file."""
    folder = tmp_path_factory.mktemp("desk")
    site = folder / "site"
    site.mkdir()
    _feeds(site)
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(site)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    config = folder / "config.yaml"
    feeds = [
        {"url": f"{base}/wire.xml", "name": "Wire A"},
        {"url": f"{base}/rewrite.xml"},
        {"url": f"{base}/harbour.xml"},
    ]
    config.write_text(
        yaml.safe_dump(
            {
                "database": f"sqlite:///{folder / 'desk.db'}",
                "rules": str(RULES),
                "feeds": [{**feed, "backlog": 10, "fulltext": False} for feed in feeds],
                "links": {"drop_params": ["Campaign_*"]},
            }
        )
    )
    try:
        polled = newsbot("poll", "-c", str(config), "--once", "--json", cwd=folder)
        assert polled.returncode == 0, polled.stderr
        yield Desk(folder, config, [json.loads(line) for line in polled.stdout.splitlines()])
    finally:
        server.shutdown()
        server.server_close()


def _stories(desk: Desk, *args: str) -> list[dict[str, Any]]:
    found = desk.run("stories", "-c", str(desk.config), "--since", "2d", "--json", *args)
    assert found.returncode == 0, found.stderr
    return [json.loads(line) for line in found.stdout.splitlines()]


def test_stories_by_topic_and_by_number_of_outlets(desk: Desk) -> None:
    every = _stories(desk)
    assert sorted(story["title"] for story in every) == sorted([KALLAS, NARVA, PORT])

    (kallas,) = _stories(desk, "--min-outlets", "2")
    assert kallas["title"] == KALLAS
    assert kallas["outlets"] == ["Wire A", "Baltic Rewrite", "Harbour Times"]

    troops = _stories(desk, "--topic", "troop-deployment")
    assert sorted(story["title"] for story in troops) == sorted([KALLAS, NARVA])
    assert [s["title"] for s in _stories(desk, "--topic", "TROOP DEPLOYMENT", "--min-outlets", "3")] == [KALLAS]
    assert _stories(desk, "--topic", "sanctions") == []

    shown = desk.run(
        "stories", "-c", str(desk.config), "--since", "2d", "--topic", "Troop deployment", "--min-outlets", "2"
    )
    assert shown.returncode == 0
    assert "3 outlets: Wire A, Baltic Rewrite, Harbour Times; originally " in shown.stdout
    assert shown.stderr.strip() == "1 story on Troop deployment told by 2+ outlets in the last 2d"


def test_stories_refuses_an_unknown_topic_and_a_count_below_one(desk: Desk) -> None:
    unknown = desk.run("stories", "-c", str(desk.config), "--topic", "troop")
    assert unknown.returncode == 2
    assert unknown.stderr.startswith("newsbot: no topic 'troop' (topics by id or title; known: ")
    assert "troop-deployment" in unknown.stderr and "Traceback" not in unknown.stderr
    zero = desk.run("stories", "-c", str(desk.config), "--min-outlets", "0")
    assert zero.returncode == 2 and "--min-outlets: '0': give 1 or more" in zero.stderr


def test_one_outlet_name_in_alerts_stories_status_and_export(desk: Desk) -> None:
    """A feed without `name:` goes by its own title everywhere, never by "127.0.0.1:PORT"; links lose the
    built-in trackers and the parameters the config drops."""
    by_title = {alert["title"]: alert for alert in desk.alerts}
    assert by_title[PORT]["outlet"] == "Harbour Times"
    assert by_title[NARVA]["outlet"] == "Wire A"
    members = [m for story in _stories(desk) for m in story["members"]]
    assert {m["outlet"] for m in members} == {"Wire A", "Baltic Rewrite", "Harbour Times"}
    for alert in desk.alerts:
        assert {m["outlet"] for m in alert["story"]["members"]} <= {"Wire A", "Baltic Rewrite", "Harbour Times"}
    urls = {m["url"] for m in members}
    assert {"https://harbour.example/kallas", "https://wire.example/narva?id=1"} <= urls  # built-in and configured
    assert by_title[NARVA]["url"] == "https://wire.example/narva?id=1"

    status = desk.run("status", "-c", str(desk.config), "--wide")
    assert status.returncode == 0, status.stderr
    feed_rows = [line for line in status.stdout.splitlines() if "ago" in line]
    assert [row.split("│")[1].strip() for row in feed_rows] == ["Baltic Rewrite", "Harbour Times", "Wire A"]
    assert "127.0.0.1" not in status.stdout

    exported = desk.run("feeds", "export", "-c", str(desk.config))
    assert exported.returncode == 0, exported.stderr
    titles = re.findall(r'title="([^"]*)" xmlUrl="', exported.stdout)
    assert titles == ["Wire A", "Baltic Rewrite", "Harbour Times"]


def _table_row(text: str, rule_id: str) -> list[str]:
    line = next(line for line in text.splitlines() if re.match(rf"│ {re.escape(rule_id)} +│", line))
    return [cell.strip() for cell in line.split("│")[1:-1]]


def test_backtest_counts_alerts_per_story_and_shows_what_a_draft_changes(desk: Desk) -> None:
    live = desk.run("rules", "backtest", "-c", str(desk.config), "--since", "2d")
    assert live.returncode == 0, live.stderr
    # Three outlets carry the Kallas story and one the Narva story: four matches, two alerts.
    assert _table_row(live.stdout, "troop-deployment")[:3] == ["troop-deployment", "4", "2"]
    assert _table_row(live.stdout, "kaja-kallas")[:3] == ["kaja-kallas", "3", "1"]
    sent = [a for a in desk.alerts if a["rule"] == "troop-deployment" and not a["update"]]
    assert len(sent) == 2  # what the live pipeline sent for the same entries

    draft = desk.folder / "narrower.yaml"
    draft.write_text("id: troop-deployment\ntitle: Troop deployment\nquery: (troops OR soldiers) NEAR/5 Narva\n")
    new = desk.folder / "harbour.yaml"
    new.write_text("id: harbour\ntitle: Harbour\nquery: harbour* OR port\n")
    tried = desk.run("rules", "backtest", "-c", str(desk.config), "--since", "2d", str(draft), str(new))
    assert tried.returncode == 0, tried.stderr
    assert _table_row(tried.stdout, "troop-deployment")[:3] == ["troop-deployment", "1", "1"]
    assert "kaja-kallas" not in tried.stdout
    lines = tried.stdout.splitlines()
    change = lines.index("troop-deployment: live: 2 alerts, draft: 1 alert; 1 fewer: 1 dropped, 0 added")
    assert lines[change + 1].startswith(f"  - {KALLAS}  (Wire A, ")
    assert "harbour: draft: 1 alert (no live rule has this id)" in lines
    (added,) = [line for line in lines if line.startswith("  + ")]
    assert added.startswith(f"  + {PORT}  (Harbour Times, ") and added.endswith("https://harbour.example/port")


def test_rules_check_warns_at_file_and_line_and_fails_only_when_strict(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    iran = rules / "iran-talks.yaml"
    iran.write_text("id: iran-talks\ntitle: Iran talks\nquery: >\n  Iran near/5 talks\n  OR (sanctions or embargo)\n")
    checked = newsbot("rules", "check", str(rules), cwd=tmp_path)
    assert checked.returncode == 0
    assert checked.stderr.splitlines() == [
        f"{iran}:4: warning: query: 'near/5' is read as the words \"near 5\", not as an operator; "
        "write NEAR/5 (operators are upper case) (column 8)",
        f"{iran}:5: warning: query: 'or' is the ordinary word 'or' here, which must appear in the story; "
        "write OR for either side (column 17)",
        "7 rules and 4 entities loaded, 0 problems, 2 warnings",
    ]
    strict = newsbot("rules", "check", "--strict", str(rules), cwd=tmp_path)
    assert strict.returncode == 1 and strict.stderr == checked.stderr

    iran.write_text("id: iran-talks\ntitle: Iran talks\nquery: Iran NEAR/5 talks\n")
    clean = newsbot("rules", "check", "--strict", str(rules), cwd=tmp_path)
    assert clean.returncode == 0 and clean.stderr == ""
    assert clean.stdout.strip() == "7 rules and 4 entities loaded, 0 problems"
