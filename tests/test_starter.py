"""`newsbot init` writes the documented config and the starter rules; `newsbot demo` needs no checkout."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.cli import main
from bot.config_file import load_config
from bot.demo.server import FEEDS
from bot.starter import EXAMPLE_CONFIG, RULES

pytestmark = pytest.mark.e2e

STARTER_RULES = sorted(path.relative_to(RULES) for path in RULES.rglob("*.yaml"))


def _one_sentence(text: str) -> str:
    lines = text.strip().splitlines()
    assert len(lines) == 1, text
    assert "Traceback" not in text
    return lines[0]


def test_init_writes_the_documented_config_and_every_starter_rule(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NEWSBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    site = tmp_path / "not" / "yet" / "there"
    assert main(["init", str(site)]) == 0
    assert f"Wrote {site / 'config.yaml'} and {len(STARTER_RULES)} rule and entity files" in capsys.readouterr().out
    written = (site / "config.yaml").read_text(encoding="utf-8")
    assert written.startswith("# Written by `newsbot init` (newsbot ")
    assert written.endswith(EXAMPLE_CONFIG.read_text(encoding="utf-8"))
    assert sorted(path.relative_to(site / "rules") for path in (site / "rules").rglob("*.yaml")) == STARTER_RULES
    for name in STARTER_RULES:
        assert (site / "rules" / name).read_bytes() == (RULES / name).read_bytes()
    assert not list(site.rglob(".*.partial"))
    config = load_config(site / "config.yaml")
    assert config.rules_dir == site / "rules"
    assert config.database_url == f"sqlite:///{site.resolve() / 'data' / 'newsbot.db'}"
    assert main(["rules", "check", str(site / "rules")]) == 0
    assert main(["rules", "test", str(site / "rules")]) == 0


def test_the_written_config_polls_from_its_own_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Relative paths in the written config resolve against its folder, wherever the command runs."""
    monkeypatch.delenv("NEWSBOT_DATABASE_URL", raising=False)
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    site = tmp_path / "site"
    assert main(["init", str(site)]) == 0
    config_file = site / "config.yaml"
    config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    config["feeds"] = [{"url": (FEEDS / "menafn.xml").as_uri(), "name": "MENAFN", "backlog": 20, "fulltext": False}]
    config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    capsys.readouterr()
    assert main(["poll", "-c", str(config_file), "--once", "--json"]) == 0
    alerts = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert {"troop-deployment", "kaja-kallas", "estonia"} <= {alert["rule"] for alert in alerts}
    assert (site / "data" / "newsbot.db").is_file()
    assert list(elsewhere.iterdir()) == []


def test_init_refuses_to_overwrite_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "config.yaml").write_text("database: sqlite:///mine.db\n")
    assert main(["init", str(tmp_path)]) == 2
    message = _one_sentence(capsys.readouterr().err)
    assert message == (
        f"newsbot: {tmp_path / 'config.yaml'} already exists, so nothing was written; pass --force to overwrite"
    )
    assert (tmp_path / "config.yaml").read_text() == "database: sqlite:///mine.db\n"
    assert not (tmp_path / "rules").exists()


def test_init_counts_every_file_in_the_way(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["init", str(tmp_path)]) == 0
    capsys.readouterr()
    assert main(["init", str(tmp_path)]) == 2
    message = _one_sentence(capsys.readouterr().err)
    assert f"already exists (and {len(STARTER_RULES)} more starter files), so nothing was written" in message


def test_init_force_restores_starter_files_and_keeps_the_users_own(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["init", str(tmp_path)]) == 0
    edited = tmp_path / "rules" / "estonia.yaml"
    edited.write_text("id: estonia\ntitle: Mine\nquery: tallinn\n")
    own = tmp_path / "rules" / "my-topic.yaml"
    own.write_text("id: my-topic\ntitle: Mine\nquery: riga\n")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "newsbot.db").write_bytes(b"stored")
    assert main(["init", "--force", str(tmp_path)]) == 0
    assert edited.read_bytes() == (RULES / "estonia.yaml").read_bytes()
    assert own.read_text() == "id: my-topic\ntitle: Mine\nquery: riga\n"
    assert (tmp_path / "data" / "newsbot.db").read_bytes() == b"stored"


@pytest.mark.parametrize("in_the_way", ["site", "site/rules", "site/rules/entities"])
def test_init_names_a_file_where_a_folder_belongs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], in_the_way: str
) -> None:
    blocker = tmp_path / in_the_way
    blocker.parent.mkdir(parents=True, exist_ok=True)
    blocker.write_text("not a folder\n")
    assert main(["init", "--force", str(tmp_path / "site")]) == 2
    message = _one_sentence(capsys.readouterr().err)
    assert message == f"newsbot: {blocker} is a file, not a folder, so nothing was written"
    assert not (tmp_path / "site" / "config.yaml").exists()


def test_init_defaults_to_the_current_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["init"]) == 0
    assert (tmp_path / "config.yaml").is_file()
    assert (tmp_path / "rules" / "entities" / "kaja-kallas.yaml").is_file()


def test_demo_needs_no_rules_folder_where_it_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["demo"]) == 0
    captured = capsys.readouterr()
    assert "3 feeds polled, 0 failed, 4 new stories alerted (6 topic alerts)" in captured.err
    assert f"rules from {RULES}/" in captured.err
    for title in ("Troop deployment", "Kaja Kallas", "Election results"):
        assert title in captured.out
    assert list(tmp_path.iterdir()) == []


def test_demo_prints_one_panel_per_story_naming_its_topics(tmp_path: Path) -> None:
    """`newsbot demo` as a user runs it: the seed story (MENAFN's article, and Rewrite Desk's rewrite crediting
    RIA News) matched three topics and is one panel naming them, not one panel per topic."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "120", "NO_COLOR": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "bot", "demo"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    panels = [line for line in done.stdout.splitlines() if line.startswith("╭─ ")]
    assert [p.split(" ─")[0].removeprefix("╭─ ") for p in panels] == [
        "Topic: Election results",
        "Topic: Cyber attack on critical infrastructure",
        "Topics: Estonia, Kaja Kallas, Troop deployment",
        "Topic: Sanctions and export controls",
    ]
    assert done.stdout.count("Estonian PM Kallas declines to rule out sending troops to Ukraine") == 1
    assert "2 outlets: MENAFN, Rewrite Desk; originally RIA News" in done.stdout
    assert "3 feeds polled, 0 failed, 4 new stories alerted (6 topic alerts), 0 updated" in done.stderr


def test_demo_with_a_missing_rules_folder_is_one_sentence(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo", "--rules", str(tmp_path / "nowhere")]) == 2
    assert _one_sentence(capsys.readouterr().err) == f"newsbot: {tmp_path / 'nowhere'}: no such rules folder"
