"""The systemd units in deploy/systemd/: they start a command newsbot has, read the variables the documented
config reads, stay alike, and README's service section names the paths they use."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from bot.cli import build_parser
from bot.config_file import load_config
from bot.starter import EXAMPLE_CONFIG

ROOT = Path(__file__).resolve().parents[1]
UNITS = ROOT / "deploy" / "systemd"
SINGLE, TEMPLATE = UNITS / "newsbot.service", UNITS / "newsbot@.service"


def _unit(path: Path) -> dict[str, list[tuple[str, str]]]:
    """A unit file as its sections' settings, in order (a key may repeat, as systemd allows)."""
    sections: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip() or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            current = sections.setdefault(line[1:-1], [])
            continue
        key, equals, value = line.partition("=")
        assert equals and current is not None, f"{path.name}:{number}: not a setting: {line!r}"
        current.append((key.strip(), value.strip()))
    return sections


def _setting(path: Path, section: str, key: str) -> list[str]:
    return [value for name, value in _unit(path)[section] if name == key]


@pytest.mark.parametrize("path", [SINGLE, TEMPLATE], ids=lambda path: path.name)
def test_units_run_the_daemon_on_the_etc_config(path: Path) -> None:
    [command] = _setting(path, "Service", "ExecStart")
    program, *arguments = shlex.split(command)
    assert program == "/opt/newsbot/bin/newsbot"
    args = build_parser().parse_args(arguments)
    assert args.command == "run"
    assert args.config == "/etc/newsbot/config.yaml"
    assert _setting(path, "Service", "EnvironmentFile") == ["/etc/newsbot/newsbot.env"]
    assert _setting(path, "Service", "StateDirectory") == ["newsbot"]
    assert _setting(path, "Install", "WantedBy") == ["multi-user.target"]


@pytest.mark.parametrize("path", [SINGLE, TEMPLATE], ids=lambda path: path.name)
def test_units_default_database_is_sqlite_in_the_state_directory(
    path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The documented config takes the unit's NEWSBOT_DATABASE_URL (which the environment file may override)."""
    [default] = _setting(path, "Service", "Environment")
    name, _, url = default.partition("=")
    assert name == "NEWSBOT_DATABASE_URL"
    monkeypatch.setenv(name, url)
    assert load_config(EXAMPLE_CONFIG).database_url == "sqlite:////var/lib/newsbot/newsbot.db"


def test_the_template_is_the_single_unit_per_instance() -> None:
    """The two units differ only in naming the instance, so a fix to one cannot miss the other."""
    single, template = _unit(SINGLE), _unit(TEMPLATE)
    assert [setting for setting in template["Service"] if setting[0] != "SyslogIdentifier"] == single["Service"]
    assert _setting(TEMPLATE, "Service", "SyslogIdentifier") == ["newsbot-%i"]
    assert "%i" in dict(template["Unit"])["Description"]
    assert {key: value for key, value in template["Unit"] if key != "Description"} == {
        key: value for key, value in single["Unit"] if key != "Description"
    }
    assert template["Install"] == single["Install"]


def test_readme_documents_the_units_and_their_paths() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for needle in (
        "cp deploy/systemd/newsbot.service /etc/systemd/system/",
        "cp deploy/systemd/newsbot@.service /etc/systemd/system/",
        "systemctl enable --now newsbot@{1..3}",
        "python3 -m venv /opt/newsbot",
        "newsbot init /etc/newsbot",
        "/etc/newsbot/newsbot.env",
        "TELEGRAM_BOT_TOKEN=",
        "NEWSBOT_DATABASE_URL=postgresql://",
        'CREATE DATABASE newsbot OWNER newsbot"',
        "useradd --system",
    ):
        assert needle in readme, needle
    [user] = _setting(SINGLE, "Service", "User")
    assert f"--shell /usr/sbin/nologin {user}" in readme
