"""The `newsbot` command line, run in-process: rule tools, match output, and one-sentence errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.cli import main

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "match" / "testdata" / "broken"
SEEDS = sorted((ROOT / "tests" / "fixtures" / "seeds").glob("*.txt"))


def test_help_lists_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for command in ("run", "poll", "demo", "match", "rules"):
        assert command in text


def test_rules_check_reports_file_line_and_fails(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(BROKEN)]) == 1
    lines = capsys.readouterr().err.splitlines()
    assert f"{BROKEN}/bad-query.yaml:7: query: unexpected ')': parentheses do not balance (column 14)" in lines
    assert any(line.startswith(f"{BROKEN}/yaml-syntax.yaml:4: YAML syntax error") for line in lines)


def test_shipped_rules_check_and_their_examples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(ROOT / "rules")]) == 0
    assert main(["rules", "test", str(ROOT / "rules")]) == 0
    assert "examples pass" in capsys.readouterr().out


def test_rules_test_names_the_failing_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test", str(BROKEN)]) == 1
    assert f"{BROKEN}/failing-example.yaml:7: example should match but does not" in capsys.readouterr().err


def test_match_json_gives_spans_per_clause(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"rules: {ROOT / 'rules'}\n")
    assert main(["match", "-c", str(config), "--json", *map(str, SEEDS)]) == 0
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    for seed in SEEDS:
        rules = {r["rule"] for r in records if r["file"] == str(seed)}
        assert {"troop-deployment", "kaja-kallas", "estonia"} <= rules
    kallas = next(r for r in records if r["rule"] == "kaja-kallas")
    span = kallas["clauses"][0]["spans"][0]
    assert "Kallas" in span["text"] and span["end"] > span["start"]


def test_config_error_is_one_sentence_and_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("feeds:\n  - url: gopher://old\n")
    assert main(["poll", "-c", str(config), "--once"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"newsbot: {config}: feeds.0.url: 'gopher://old' must start with http://, https:// or file://"
    )
