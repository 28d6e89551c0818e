"""Issue 21, point 12: a test run without the corpus says why tests skipped, as a newcomer's run on a fresh
clone shows it: each skip names the missing path, and one line above the counts says what is missing and where
README tells about it. Run in a separate pytest process, with this suite's conftest as its plugin."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CORPUS

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
READER = """
from tests.conftest import corpus_path


def test_reads_the_corpus() -> None:
    corpus_path("feeds", "absent-for-this-test.xml")


def test_reads_nothing() -> None:
    pass
"""


def _pytest(folder: Path, **env: str) -> subprocess.CompletedProcess[str]:
    (folder / "test_reader.py").write_text(READER)
    environment = {key: value for key, value in os.environ.items() if key not in ("CI", "PYTEST_ADDOPTS")}
    environment.update(PYTHONPATH=str(ROOT), **env)
    command = ["-m", "pytest", "-p", "tests.conftest", "-p", "no:cacheprovider", "-c", str(ROOT / "pyproject.toml")]
    return subprocess.run(
        [sys.executable, *command, "--rootdir", str(folder), "test_reader.py"],
        cwd=folder, env=environment, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


def test_a_run_without_the_corpus_says_why_its_tests_skipped(tmp_path: Path) -> None:
    done = _pytest(tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    missing = CORPUS / "feeds" / "absent-for-this-test.xml"
    assert any(line.endswith(f": corpus not present at {missing}") for line in lines), done.stdout
    what = "files missing from the corpus" if CORPUS.exists() else "no corpus"  # a fresh clone: no corpus
    said = (
        f'1 skipped: {what} at {CORPUS}, the folder beside the checkout (README, "Try it", says what it holds '
        "and where it comes from)"
    )
    assert lines[-2:-1] == [said], done.stdout  # just above the counts
    assert "1 passed, 1 skipped" in lines[-1]


def test_under_ci_a_missing_corpus_fails_instead(tmp_path: Path) -> None:
    done = _pytest(tmp_path, CI="1")
    assert done.returncode == 1
    assert f"corpus not present at {CORPUS / 'feeds' / 'absent-for-this-test.xml'}, and CI must run this test" in (
        done.stdout
    )
    assert f" at {CORPUS}, the folder beside" not in done.stdout


def test_every_skip_for_want_of_the_corpus_says_it_alike() -> None:
    """README promises "corpus not present at ..." and the closing line counts those skips: a test that skips
    for a missing corpus folder in words of its own would be left out of both."""
    own_words = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            said_alike = "CORPUS_ABSENT" in line or "corpus_path(" in line  # corpus_path skips in those words
            if re.search(r"missing\(f?[\"'][^\"']*(corpus|snapshot)", line, re.IGNORECASE) and not said_alike:
                own_words.append(f"{path.relative_to(ROOT)}:{number}: {line.strip()}")
    assert own_words == []
