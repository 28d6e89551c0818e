"""`newsbot --help` and README say the same things: README's command table shows every option of every command
and no other, and both say alike what `poll --json` prints, `poll --once`'s exit status and `status --wide`.
The help comes from separate processes, as a user gets it."""

from __future__ import annotations

import itertools
import re
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


def _help(*command: str) -> str:
    """`newsbot COMMAND --help` as a user gets it, from a separate process."""
    done = subprocess.run(
        [sys.executable, "-m", "bot", *command, "--help"],
        capture_output=True, text=True, cwd=ROOT, env={"PATH": "/usr/bin:/bin", "COLUMNS": "400"}, check=True,
    )  # fmt: skip
    return done.stdout


def _table_commands() -> list[tuple[list[str], str]]:
    """README's command table: each `newsbot ...` of the first column with the options it shows."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    found = []
    for row in re.findall(r"^\| (`newsbot .+?) \| ", readme, re.MULTILINE):
        for shown in re.findall(r"`newsbot ([^`]+)`", row):
            words = list(itertools.takewhile(lambda word: re.fullmatch(r"[a-z]+", word), shown.split()))
            found.append((words, shown))
    return found


OWN = {"-h", "--help", "-v", "--verbose", "--log-format", "--config"}
"""Options every command takes (README says so once, above the table), and the long form of -c."""


def test_readme_table_shows_every_option_of_every_command_and_no_other() -> None:
    commands = _table_commands()
    assert {" ".join(words) for words, _ in commands} == {
        "init", "run", "poll", "demo", "match", "rules check", "rules test", "rules backtest", "stories", "trend",
        "status", "feeds import", "feeds export",
    }  # fmt: skip
    for words, shown in commands:
        usage = _help(*words).split("\n\n", 1)[0]
        in_help = set(re.findall(r"\[(--?[a-z][a-z-]*)", usage)) | set(re.findall(r" (-c) CONFIG", usage))
        assert set(re.findall(r"(?<![\w-])(--?[a-z][a-z-]*)", shown)) == in_help - OWN, shown


def test_help_and_readme_say_the_same_things() -> None:
    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    top = " ".join(_help().split())
    assert "RSS, Atom, RDF and JSON feeds" in top and "RSS, Atom, RDF and JSON feeds" in readme
    poll = " ".join(_help("poll").split())
    assert "one JSON object per topic and story (and per spike), a line each" in poll
    assert "`--json`: one object per topic and story (and per spike), a line each" in readme
    assert "0 when every feed was polled, 1 when any feed failed" in poll
    assert "0 when every feed was polled, 1 when any failed" in readme
    status = " ".join(_help("status").split())
    assert "processes sharing the database" in status and "the processes sharing the database" in readme
    assert "--wide" in status and "`--wide`: the reasons in full" in readme
