"""Hostile rule and config files through the real command line: every problem is one line naming the file
(and line) at fault, never a traceback, and the other files' problems are still reported."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.cli import main
from bot.starter import RULES

ROOT = Path(__file__).resolve().parents[1]
DEEP_RULES = {
    "parens.yaml": "id: parens\ntitle: P\nquery: " + "(" * 5000 + "a" + ")" * 5000 + "\n",
    "chain.yaml": "id: chain\ntitle: C\nquery: a" + " NEAR/3 a" * 3000 + "\n",
    "nots.yaml": "id: nots\ntitle: N\nquery: " + "NOT " * 5000 + "a\n",
    "brackets.yaml": "id: brackets\ntitle: B\nquery: a\nexamples: " + "[" * 20000 + "]" * 20000 + "\n",
}


def test_deeply_nested_rule_files_are_file_line_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Case 5: 5,000 nested `(`, 3,000 chained NEAR/3, 5,000 NOT and 20,000 nested `[` were RecursionErrors."""
    for name, text in DEEP_RULES.items():
        (tmp_path / name).write_text(text)
    (tmp_path / "unclosed.yaml").write_text("id: other\ntitle: O\nquery: (a\n")
    shutil.copy(RULES / "estonia.yaml", tmp_path)
    shutil.copytree(RULES / "entities", tmp_path / "entities")
    assert main(["rules", "check", str(tmp_path)]) == 1
    captured = capsys.readouterr()
    lines = captured.err.splitlines()
    assert "Traceback" not in captured.err + captured.out
    for name in ("parens.yaml", "chain.yaml", "nots.yaml"):
        assert any(line.startswith(f"{tmp_path / name}:3: query: the query nests more than 100") for line in lines)
    assert f"{tmp_path / 'brackets.yaml'}:4: lists and mappings nest more than 64 levels deep" in lines
    assert any(line.startswith(f"{tmp_path / 'unclosed.yaml'}:3: query:") for line in lines)
    assert lines[-1] == "1 rule and 4 entities loaded, 5 problems"


def test_a_second_file_with_a_known_id_never_takes_the_topic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Case 13: files load alphabetically, so `aaa.yaml` with the shipped id used to win."""
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    newcomer = rules / "aaa-hijack.yaml"
    newcomer.write_text("id: troop-deployment\ntitle: Hijacked\nquery: parade\n")
    assert main(["rules", "check", str(rules)]) == 1
    err = capsys.readouterr().err
    assert f"{newcomer}:1: duplicate rule id 'troop-deployment': {rules / 'troop-deployment.yaml'}:1 has it" in err
    config = tmp_path / "config.yaml"
    config.write_text(f"rules: {rules}\n")
    text = tmp_path / "story.txt"
    text.write_text("Troops sent\nEstonia sent troops to the border.\n")
    assert main(["match", "-c", str(config), "--json", str(text)]) == 0
    out = capsys.readouterr().out
    assert '"rule_title": "Troop deployment"' in out and "Hijacked" not in out


BROKEN_CONFIGS = {
    "feeds:\n  - url: http://127.0.0.1:9/feed\n    every: 99999999999w\n": "feeds.0.every: '99999999999w' is too long",
    "polling:\n  total_timeout: .inf\n": "polling.total_timeout: inf is not a duration",
    "polling:\n  read_timeout: 0\n": "polling.read_timeout: must be longer than 0 s",
    "polling:\n  connect_timeout: -5\n": "polling.connect_timeout: -5 is not a duration",
    "polling:\n  min_interval: 1.0e+308\n": "polling.min_interval: 1e+308 is too long",
    "polling:\n  max_items_per_poll: 0\n": "polling.max_items_per_poll: Input should be greater than or equal to 1",
    "feeds:\n  - url: 'http://[::1/'\n": "feeds.0.url: 'http://[::1/' is not a valid URL (Invalid IPv6 URL)",
    "feeds:\n  - url: http://127.0.0.1:99999/\n": "feeds.0.url: 'http://127.0.0.1:99999/' is not a valid URL",
    "feeds:\n  - url: http:///feed\n": "feeds.0.url: 'http:///feed' has no host name",
    "feeds: " + "[" * 20000 + "]" * 20000 + "\n": ":1: lists and mappings nest more than 64 levels deep",
}


@pytest.mark.parametrize("text", list(BROKEN_CONFIGS))
def test_broken_config_values_are_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], text: str
) -> None:
    """Case 8: these were OverflowError, RecursionError and ValueError tracebacks, or (read_timeout: 0) a
    config that failed every fetch."""
    config = tmp_path / "config.yaml"
    config.write_text(text)
    assert main(["poll", "-c", str(config), "--once"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"newsbot: {config}") and BROKEN_CONFIGS[text] in err
    assert len(err.splitlines()) == 1


def test_non_utf8_config_and_feeds_file_are_one_sentence(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_bytes(b"feeds:\n  - url: http://127.0.0.1:9/feed\n    name: Caf\xe9\n")
    assert main(["poll", "-c", str(config), "--once"]) == 2
    expected = f"newsbot: {config}: not UTF-8 text (byte 53); save the config file as UTF-8"
    assert capsys.readouterr().err.strip() == expected
    config.write_text("rules: rules\n")
    (tmp_path / "feeds.yaml").write_bytes(b"- url: http://127.0.0.1:9/\xff\n")
    assert main(["poll", "-c", str(config), "--once"]) == 2
    assert capsys.readouterr().err.strip() == f"newsbot: {tmp_path / 'feeds.yaml'}: not UTF-8 text (byte 26)"
