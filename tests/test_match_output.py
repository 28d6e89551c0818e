"""`newsbot match` prints exactly what it printed before it was made fast: the JSON lines and the text of
tests/fixtures/match/expected.* were written by the code of 184c152 (before issue 22) on the seeds and four
short texts of our own (markup-like brackets, accents, no match), with the shipped rules."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.cli import main
from bot.starter import RULES

FIXTURES = Path(__file__).resolve().parent / "fixtures"
TEXTS = [
    "../seeds/000_3955c0ba8186baac.txt",
    "../seeds/001_b211070bd60f31df.txt",
    "brackets.txt",
    "cyber.txt",
    "election.txt",
    "nothing.txt",
]


@pytest.mark.parametrize(("options", "expected"), [(["--json"], "expected.jsonl"), ([], "expected.txt")])
def test_match_prints_what_it_printed_before(
    options: list[str],
    expected: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"rules: {RULES}\n")
    monkeypatch.chdir(FIXTURES / "match")
    assert main(["match", "-c", str(config), *options, *TEXTS]) == 0
    printed = capsys.readouterr().out.replace(FIXTURES.as_uri(), "FIXTURES")
    assert printed == (FIXTURES / "match" / expected).read_text(encoding="utf-8")
