"""Hand-written YAML through the real command line, as a user meets it: mistakes in rule, entity, config and
feeds files said in plain words at the line (and column) of their cause; a "billion laughs" refused at once
wherever YAML is read; links out of the rules folder refused in one sentence, with nothing of the linked file
shown; keys quoted from a file cut short."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.starter import RULES
from tests.app.daemon import daemon_config, running_daemon, until
from tests.feedserver import FeedServer

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
BOMB = "\n".join(
    [
        'a: &a ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]',
        *(f"{k}: &{k} [{', '.join([f'*{p}'] * 9)}]" for p, k in zip("abcdefgh", "bcdefghi", strict=True)),
    ]
)
"""Nine levels of nine aliases: 9**9 (387 million) strings when expanded."""


def newsbot(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "250", "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "bot", *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def rules(tmp_path: Path) -> Path:
    folder = tmp_path / "rules"
    shutil.copytree(RULES, folder)
    return folder


MISTAKES = {
    "unclosed quote": (
        'id: sanctions\ntitle: "Sanctions\nquery: sanction*\ndescription: new measures\n',
        2,
        "the double quote opened on line 2 column 8 is never closed",
    ),
    "quote closed only lines below": (
        'id: sanctions\ntitle: "Sanctions\nquery: sanction*\nexamples:\n  match: ["new sanctions"]\n',
        2,
        'the double quote opened on line 2 column 8 is not closed on its line: the value runs on to the next " at '
        "line 5 column 11; close it on line 2",
    ),
    "key short of its list item's first key": (
        "id: sanctions\ntitle: Sanctions\nquery: sanction*\nexamples:\n  match:\n    - title: UK widens sanctions\n"
        "     body: The UK announced sanctions.\n",
        7,
        "'body' on line 7 is indented 5 spaces, short of 'title' on line 6 (6 spaces), the first key of its list item: "
        "indent it like 'title'",
    ),
    "key indented under a value": (
        "id: sanctions\ntitle: Sanctions\n  query: sanction*\n",
        3,
        "'query' on line 3 is indented 2 spaces, deeper than 'title' on line 2 (0 spaces), whose value it becomes "
        "part of; indent it like the keys it belongs with",
    ),
    "key indented to no level": (
        "id: sanctions\ntitle: Sanctions\nquery: sanction*\nexamples:\n  match:\n    - new sanctions\n"
        " no_match:\n    - a football sanction\n",
        7,
        "'no_match' on line 7 is indented 1 space, which lines up with nothing above it: indent it like line 6 "
        "(4 spaces) or the mapping that starts on line 1 (0 spaces)",
    ),
    "first line of a block indented unlike the next": (
        "id: sanctions\ntitle: Sanctions\nquery: sanction*\nexamples:\n   match: [new sanctions]\n"
        "  no_match: [a football sanction]\n  # a comment\n",
        5,
        "'match' on line 5 is indented 3 spaces but 'no_match' on line 6 below it 2 spaces: the lines of one "
        "block start in the same column",
    ),
    "unclosed bracket": (
        "id: sanctions\ntitle: Sanctions\nquery: sanction*\nexamples:\n  match: [new sanctions\n",
        5,
        "the '[' at line 5 column 10 is never closed",
    ),
    "a tab": ("id: sanctions\n\ttitle: Sanctions\n", 2, "a tab at line 2 column 1: YAML indents with spaces only"),
}


@pytest.mark.parametrize("mistake", list(MISTAKES))
def test_yaml_mistakes_in_a_rule_file_point_at_their_cause(rules: Path, mistake: str) -> None:
    text, line, message = MISTAKES[mistake]
    (rules / "sanctions.yaml").write_text(text)
    done = newsbot("rules", "check", str(rules), cwd=rules.parent)
    assert done.returncode == 1
    assert f"{rules / 'sanctions.yaml'}:{line}: {message}" in done.stderr.splitlines(), done.stderr
    assert "Traceback" not in done.stderr


def test_a_query_mistake_points_at_its_cause(rules: Path) -> None:
    """Well-formed YAML, a query with a '(' never closed: named at that '(' (line 5 column 7 of the file), not
    at the end of the query."""
    query = "id: sanctions\ntitle: Sanctions\nquery: >\n  (sanction* OR embargo)\n  AND (impose* OR (adopt* AND new)\n"
    (rules / "sanctions.yaml").write_text(query)
    done = newsbot("rules", "check", str(rules), cwd=rules.parent)
    assert done.returncode == 1
    expected = f"{rules / 'sanctions.yaml'}:5: query: this '(' is never closed: a ')' is missing (column 7)"
    assert expected in done.stderr.splitlines(), done.stderr


def test_yaml_mistakes_in_an_entity_file_point_at_their_cause(rules: Path) -> None:
    (rules / "entities" / "estonia.yaml").write_text("id: estonia\ntype: place\nnames: ['Estonia]\n")
    done = newsbot("rules", "check", str(rules), cwd=rules.parent)
    expected = f"{rules / 'entities' / 'estonia.yaml'}:3: the single quote opened on line 3 column 9 is never closed"
    assert expected in done.stderr.splitlines(), done.stderr


def test_yaml_mistakes_in_config_and_feeds_files_point_at_their_cause(rules: Path) -> None:
    config = rules.parent / "config.yaml"
    config.write_text(f"rules: {rules}\npolling:\n  min_interval: 1m\n   max_interval: 1d\n")
    done = newsbot("rules", "check", "-c", str(config), cwd=rules.parent)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"newsbot: {config}:4: 'max_interval' on line 4 is indented 3 spaces, deeper than 'min_interval' on line 3 "
        "(2 spaces), whose value it becomes part of; indent it like the keys it belongs with"
    )

    # A feed's second key one space short of its first: the line of that key, not the list item above it.
    config.write_text(f"rules: {rules}\nfeeds:\n  - url: http://127.0.0.1:9/feed.xml\n   every: 10m\n")
    done = newsbot("status", "-c", str(config), cwd=rules.parent)
    assert done.returncode == 2
    assert done.stderr.strip() == (
        f"newsbot: {config}:4: 'every' on line 4 is indented 3 spaces, short of 'url' on line 3 (4 spaces), the first "
        "key of its list item: indent it like 'url'"
    )

    config.write_text(f"rules: {rules}\n")
    feeds = rules.parent / "feeds.yaml"
    feeds.write_text('- url: http://127.0.0.1:9/feed.xml\n  name: "Wire\n  every: 5m\n')
    done = newsbot("poll", "--once", "-c", str(config), cwd=rules.parent)
    assert done.returncode == 2
    assert done.stderr.strip() == f"newsbot: {feeds}:2: the double quote opened on line 2 column 9 is never closed"


def test_a_billion_laughs_is_refused_at_once_everywhere_yaml_is_read(rules: Path) -> None:
    """Issue 20 case 10: `rules check -c` on such a config ran over 60 s at 2.4 GB; here every file is refused
    at the line of the aliases in well under the time it takes to expand one level."""
    def refusal(line: int) -> str:
        """The bomb's list `f` (9**6 strings) is the first to pass the limit alone."""
        return f"{line}: the aliases in the list on line {line} expand it to more than 100,000 values"

    config = rules.parent / "config.yaml"
    config.write_text(f"rules: {rules}\n{BOMB}\n")
    for command in (("rules", "check", "-c", str(config)), ("run", "-c", str(config))):
        started = time.monotonic()
        done = newsbot(*command, cwd=rules.parent)
        assert time.monotonic() - started < 20
        assert done.returncode == 2
        assert done.stderr.startswith(f"newsbot: {config}:{refusal(7)}"), done.stderr
        assert len(done.stderr.strip().splitlines()) == 1

    config.write_text(f"rules: {rules}\n")
    (rules.parent / "feeds.yaml").write_text(f"{BOMB}\n")
    done = newsbot("poll", "--once", "-c", str(config), cwd=rules.parent)
    assert done.returncode == 2 and f"feeds.yaml:{refusal(6)}" in done.stderr

    (rules.parent / "feeds.yaml").unlink()
    (rules / "bomb.yaml").write_text(f"id: bomb\ntitle: B\nquery: b\n{BOMB}\n")
    (rules / "entities" / "bomb.yaml").write_text(f"id: bomb\ntype: place\nnames: [B]\n{BOMB}\n")
    done = newsbot("rules", "check", str(rules), cwd=rules.parent)
    assert f"{rules / 'bomb.yaml'}:{refusal(9)}" in done.stderr
    assert f"{rules / 'entities' / 'bomb.yaml'}:{refusal(9)}" in done.stderr


def test_links_out_of_the_rules_folder_are_refused_and_nothing_of_them_is_shown(rules: Path, tmp_path: Path) -> None:
    """Issue 20 case 11: entities/x.yaml linking to /etc/shadow printed its first line in an error, and a rule
    file linked from elsewhere loaded as a rule."""
    secret = tmp_path / "secret.txt"
    secret.write_text("db-password: hunter2-very-secret\n")
    elsewhere = tmp_path / "elsewhere.yaml"
    elsewhere.write_text("id: smuggled\ntitle: Smuggled\nquery: hunter2\n")
    (rules / "entities" / "x.yaml").symlink_to(secret)
    (rules / "smuggled.yaml").symlink_to(elsewhere)
    (rules / "shared").mkdir()
    (rules / "shared" / "nato.yaml").write_text("id: nato\ntitle: NATO\nquery: NATO\n")
    (rules / "nato.yaml").symlink_to(rules / "shared" / "nato.yaml")  # a link inside the folder is fine
    done = newsbot("rules", "check", str(rules), cwd=tmp_path)
    assert done.returncode == 1
    lines = done.stderr.splitlines()
    refused = "outside the rules folder: rule and entity files are read only from inside it"
    assert f"{rules / 'entities' / 'x.yaml'}: a link to {secret}, {refused}" in lines
    assert f"{rules / 'smuggled.yaml'}: a link to {elsewhere}, {refused}" in lines
    assert lines[-1] == "7 rules and 4 entities loaded, 2 problems"
    assert "hunter2" not in done.stdout + done.stderr


def test_an_error_quotes_at_most_a_short_key_of_a_file(rules: Path) -> None:
    (rules / "entities" / "notes.yaml").write_text("the-first-line-of-a-long-private-note-that-goes-on: and on\n")
    done = newsbot("rules", "check", str(rules), cwd=rules.parent)
    expected = (
        f"{rules / 'entities' / 'notes.yaml'}:1: unknown key 'the-first-line-of-a-long-private-note...' in the "
        "entity (known: id, type, names, aliases, ambiguous, description)"
    )
    assert expected in done.stderr.splitlines()
    assert "goes-on" not in done.stderr and "and on" not in done.stderr


async def test_the_running_daemon_keeps_its_config_when_it_is_edited_into_a_billion_laughs(
    feed_server: FeedServer, tmp_path: Path
) -> None:
    """Issue 20 case 10: the daemon grew to 2 GB, hit MemoryError and stayed alive doing nothing. Now the edit is
    refused at once, in one line, and polling goes on with the running config."""
    feed_server.feeds["wire.xml"] = []
    config = daemon_config(tmp_path, feed_server.url("wire.xml"))
    async with running_daemon(config) as daemon:
        await until(lambda: feed_server.requests.get("wire.xml", 0) >= 1, "the first poll")
        config.write_text(config.read_text() + BOMB + "\n")
        refused = f"{config}:{len(config.read_text().splitlines()) - 3}: the aliases in the list on line"
        await until(lambda: any(refused in line for line in daemon.logs), "the refusal", seconds=10)
        assert any("the running config stays" in line for line in daemon.logs)
        polls = feed_server.requests["wire.xml"]
        await until(lambda: feed_server.requests["wire.xml"] >= polls + 2, "polling to go on", seconds=10)
    assert daemon.returncode == 0
