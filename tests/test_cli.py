"""The `newsbot` command line, run in-process: rule tools, match output, and one-sentence errors."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest

from bot import clock
from bot.cli import main
from bot.starter import RULES

ROOT = Path(__file__).resolve().parents[1]
BROKEN = ROOT / "tests" / "rulebook" / "testdata" / "broken"
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
    unclosed = "the '[' at line 3 column 8 is never closed (line 4 column 9 should hold ',' or ']')"
    assert f"{BROKEN}/yaml-syntax.yaml:3: {unclosed}" in lines


def test_shipped_rules_check_and_their_examples_pass(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "check", str(RULES)]) == 0
    assert main(["rules", "test", str(RULES)]) == 0
    assert "examples pass" in capsys.readouterr().out


def test_rules_test_names_the_failing_example(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["rules", "test", str(BROKEN)]) == 1
    assert f"{BROKEN}/failing-example.yaml:7: example should match but does not" in capsys.readouterr().err


def test_match_json_gives_spans_per_clause(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(f"rules: {RULES}\n")
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
        f"newsbot: {config}:2: feeds.0.url: 'gopher://old' must start with http://, https:// or file://"
    )


OPML = """<?xml version="1.0"?>
<opml version="2.0"><head><title>desk</title></head><body>
  <outline text="World"><outline text="ERR News" type="rss" xmlUrl="https://news.err.ee/rss"/>
  <outline text="Old" type="rss" xmlUrl="ftp://old.example/feed"/></outline>
  <outline text="Wire" type="rss" xmlUrl="http://127.0.0.1:9/wire.xml"/>
</body></opml>"""


def test_feeds_import_writes_feeds_yaml_once_and_export_round_trips(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = tmp_path / "config.yaml"
    config.write_text("feeds:\n  - url: http://127.0.0.1:9/wire.xml\n    name: Wire\n")
    (tmp_path / "desk.opml").write_text(OPML)
    assert main(["feeds", "import", "-c", str(config), str(tmp_path / "desk.opml")]) == 0
    captured = capsys.readouterr()
    assert "skipped ftp://old.example/feed" in captured.err
    assert f"1 feed added to {tmp_path / 'feeds.yaml'} (1 already there)" in captured.out
    assert main(["feeds", "import", "-c", str(config), str(tmp_path / "desk.opml")]) == 0
    assert "0 feeds added" in capsys.readouterr().out
    assert main(["feeds", "export", "-c", str(config)]) == 0
    exported = capsys.readouterr().out
    assert exported.count("<outline") == 2
    assert 'xmlUrl="https://news.err.ee/rss"' in exported and 'text="ERR News"' in exported


def test_status_shows_feed_health_and_latency(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    seed = SEEDS[1].read_text(encoding="utf-8")
    now = clock.now() - timedelta(minutes=30)
    (tmp_path / "feed.xml").write_text(
        "<?xml version='1.0'?><rss version='2.0'><channel><title>Local</title>"
        f"<item><guid>s1</guid><title>Kallas on troops</title><link>https://x.example/1</link>"
        f"<pubDate>{format_datetime(now)}</pubDate><description>{escape(seed)}</description></item>"
        "</channel></rss>"
    )
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'n.db'}\nrules: {RULES}\n"
        f"feeds:\n  - url: {(tmp_path / 'feed.xml').as_uri()}\n    name: Local\n    backlog: 1\n"
        f"  - url: {(tmp_path / 'missing.xml').as_uri()}\n    name: Missing\n"
    )
    assert main(["poll", "-c", str(config), "--once", "--json"]) == 1  # one feed failed
    assert "troop-deployment" in capsys.readouterr().out
    assert main(["status", "-c", str(config), "--wide"]) == 0
    shown = capsys.readouterr().out
    local = next(line for line in shown.splitlines() if "Local" in line)
    assert "ago" in local and "30 min" in local
    missing = next(line for line in shown.splitlines() if "Missing" in line)
    assert "never" in missing
    assert "troop-deployment" in shown


def test_backtest_shows_what_an_edited_rule_would_alert(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = ROOT / "bot" / "demo" / "feeds"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'n.db'}\nrules: {RULES}\nfeeds:\n"
        + "".join(f"  - url: {(demo / name).as_uri()}\n" for name in ("menafn.xml", "rewrite-desk.xml"))
    )
    assert main(["poll", "-c", str(config), "--once", "--json"]) == 0
    capsys.readouterr()
    assert main(["rules", "backtest", "-c", str(config)]) == 0
    live = capsys.readouterr().out
    assert re.search(r"troop-deployment\s*│\s*2\s*│", live)
    edited = tmp_path / "troops-in-tallinn.yaml"
    edited.write_text("id: troop-deployment\ntitle: Troops, Tallinn only\nquery: troops AND Tallinn\n")
    assert main(["rules", "backtest", "-c", str(config), str(edited)]) == 0
    tried = capsys.readouterr().out
    assert re.search(r"troop-deployment\s*│\s*1\s*│", tried)
    assert "kaja-kallas" not in tried
    assert "[troops, Tallinn]" in tried or "[Tallinn, troops]" in tried
    broken = tmp_path / "broken.yaml"
    broken.write_text("id: x\ntitle: X\nquery: (troops\n")
    assert main(["rules", "backtest", "-c", str(config), str(broken)]) == 1
    assert f"{broken}:3: query:" in capsys.readouterr().err


def test_stories_lists_members_outlets_credits_and_origin(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    demo = ROOT / "bot" / "demo" / "feeds"
    config = tmp_path / "config.yaml"
    config.write_text(
        f"database: sqlite:///{tmp_path / 'n.db'}\nrules: {RULES}\nfeeds:\n"
        f"  - url: {(demo / 'menafn.xml').as_uri()}\n    name: MENAFN\n    fulltext: false\n"
        f"  - url: {(demo / 'rewrite-desk.xml').as_uri()}\n    name: Rewrite Desk\n    fulltext: false\n"
    )
    assert main(["poll", "-c", str(config), "--once", "--json"]) == 0
    capsys.readouterr()
    assert main(["stories", "-c", str(config), "--since", "1h", "--json"]) == 0
    stories = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    kallas = [s for s in stories if len(s["members"]) > 1]
    assert len(kallas) == 1
    (story,) = kallas
    assert story["outlets"] == ["MENAFN", "Rewrite Desk"]
    assert story["origin"] == "RIA News"
    rewrite = next(m for m in story["members"] if m["outlet"] == "Rewrite Desk")
    assert any(c["source"] == "RIA News" for c in rewrite["credits"])
    assert len(stories) == 4  # the Kallas story and the three unrelated items, each its own story
    assert main(["stories", "-c", str(config), "--since", "1h"]) == 0
    shown = capsys.readouterr().out
    assert "2 outlets: MENAFN, Rewrite Desk; originally RIA News" in shown
    alone = [line for line in shown.splitlines() if line in ("  MENAFN", "  Rewrite Desk")]
    assert len(alone) == 3, shown  # a story one outlet told of its own: no "MENAFN; originally MENAFN"
    assert "; originally MENAFN" not in shown and "; originally Rewrite Desk" not in shown
