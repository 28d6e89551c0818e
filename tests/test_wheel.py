"""The release path: build the sdist and the wheel from it, install the wheel in a fresh virtualenv outside the
checkout, and use newsbot from there: `demo`, `init`, and `run` on the config `init` wrote.

The install reaches the package registry for the dependencies (pip's cache serves the ones it has). Each
command runs with its working folder outside the checkout and without PYTHONPATH, as a user would run it.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tarfile
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from bot import __version__
from bot.demo.server import serve_demo_feeds
from bot.starter import RULES
from tests.app.daemon import running_daemon, until

ROOT = Path(__file__).resolve().parents[1]
SETUP_SECONDS = 900  # build, then install the dependencies: minutes on a cold cache and a busy machine
COMMAND_SECONDS = 180
pytestmark = [pytest.mark.e2e, pytest.mark.timeout(SETUP_SECONDS + 2 * COMMAND_SECONDS)]


@dataclass(frozen=True)
class Installed:
    """The built distributions, what building them printed, and the virtualenv the wheel is installed in."""

    wheel: Path
    sdist: Path
    venv: Path
    build_log: str

    @property
    def newsbot(self) -> str:
        return str(self.venv / "bin" / "newsbot")


def _environment() -> dict[str, str]:
    """This process's environment without what would let the checkout, a venv or our settings leak in."""
    leaks = {"PYTHONPATH", "PYTHONHOME", "PYTHONSTARTUP", "VIRTUAL_ENV", "TELEGRAM_BOT_TOKEN"}
    environment = {key: value for key, value in os.environ.items() if key not in leaks}
    environment = {key: value for key, value in environment.items() if not key.startswith("NEWSBOT_")}
    return {**environment, "COLUMNS": "200", "PYTHONUNBUFFERED": "1"}


def _run(command: list[str], cwd: Path, seconds: float = COMMAND_SECONDS) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=cwd, env=_environment(), capture_output=True, text=True, timeout=seconds)


def _ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{done.args} exited {done.returncode}:\n{done.stdout[-4000:]}\n{done.stderr[-4000:]}"
    return done


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> Installed:
    base = tmp_path_factory.mktemp("release")
    assert not base.resolve().is_relative_to(ROOT)
    dist = base / "dist"
    built = _ok(_run([sys.executable, "-m", "build", "--outdir", str(dist), str(ROOT)], base, SETUP_SECONDS))
    [wheel] = dist.glob("*.whl")
    [sdist] = dist.glob("*.tar.gz")
    venv = base / "venv"
    _ok(_run([sys.executable, "-m", "venv", str(venv)], base))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--no-compile"]  # byte-compiling: 1/4 of it
    _ok(_run([*pip, str(wheel)], base, SETUP_SECONDS))
    return Installed(wheel, sdist, venv, built.stdout + built.stderr)


def _package_files() -> set[str]:
    """Every file of the `bot` package in the checkout: code, grammar, migrations, starter files, demo feeds."""
    return {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "bot").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_sdist_and_the_wheel_carry_every_package_file(installed: Installed) -> None:
    files = _package_files()
    assert {"bot/starter/config.example.yaml", "bot/starter/rules/entities/kaja-kallas.yaml"} <= files
    assert {"bot/demo/feeds/menafn.xml", "bot/match/grammar.lark"} <= files
    with zipfile.ZipFile(installed.wheel) as wheel:
        names = set(wheel.namelist())
    assert files <= names
    assert {name.split("/")[0] for name in names} == {"bot", f"newsbot-{__version__}.dist-info"}
    with tarfile.open(installed.sdist) as sdist:
        members = {name.split("/", 1)[1] for name in sdist.getnames() if "/" in name}
    assert files <= members


def test_the_license_is_an_spdx_expression_with_its_file(installed: Installed) -> None:
    """setuptools warned (twice per build) about the deprecated `project.license` table; the SPDX string and
    `license-files` put the expression and the MIT text in the metadata."""
    assert "project.license" not in installed.build_log
    with zipfile.ZipFile(installed.wheel) as wheel:
        info = f"newsbot-{__version__}.dist-info"
        metadata = wheel.read(f"{info}/METADATA").decode()
        assert "License-Expression: MIT" in metadata.splitlines()
        assert "License-File: LICENSE" in metadata.splitlines()
        assert wheel.read(f"{info}/licenses/LICENSE") == (ROOT / "LICENSE").read_bytes()


def test_the_installed_newsbot_is_the_wheels_not_the_checkouts(installed: Installed, tmp_path: Path) -> None:
    python = str(installed.venv / "bin" / "python")
    code = "import bot, bot.starter; print(bot.__file__); print(bot.starter.RULES)"
    where = _ok(_run([python, "-c", code], tmp_path))
    package, rules = map(Path, where.stdout.split())
    assert package.is_relative_to(installed.venv) and rules.is_relative_to(installed.venv)
    assert sorted(p.relative_to(rules) for p in rules.rglob("*.yaml")) == sorted(
        p.relative_to(RULES) for p in RULES.rglob("*.yaml")
    )
    assert _ok(_run([installed.newsbot, "--version"], tmp_path)).stdout.strip() == f"newsbot {__version__}"


def test_demo_runs_from_the_installed_wheel(installed: Installed, tmp_path: Path) -> None:
    demo = _ok(_run([installed.newsbot, "demo"], tmp_path))
    assert "3 feeds polled, 0 failed, 4 new stories alerted (6 topic alerts)" in demo.stderr
    assert f"rules from {installed.venv}" in demo.stderr
    for title in ("Troop deployment", "Kaja Kallas", "Election results"):
        assert title in demo.stdout
    assert list(tmp_path.iterdir()) == []


async def test_init_then_run_from_the_installed_wheel(installed: Installed, tmp_path: Path) -> None:
    _ok(_run([installed.newsbot, "init", "site"], tmp_path))
    site = tmp_path / "site"
    assert (site / "config.yaml").is_file() and (site / "rules" / "entities" / "estonia.yaml").is_file()
    again = _run([installed.newsbot, "init", "site"], tmp_path)
    assert again.returncode == 2
    assert again.stderr.strip().splitlines() == [
        f"newsbot: site/config.yaml already exists (and {len(list(RULES.rglob('*.yaml')))} more starter files), "
        "so nothing was written; pass --force to overwrite"
    ]
    assert "examples pass" in _ok(_run([installed.newsbot, "rules", "test", "site/rules"], tmp_path)).stdout

    config_file = site / "config.yaml"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    with serve_demo_feeds() as base_url:
        config = yaml.safe_load(config_file.read_text(encoding="utf-8"))
        config["feeds"] = [{"url": f"{base_url}/menafn.xml", "name": "MENAFN", "backlog": 20, "fulltext": False}]
        config_file.write_text(yaml.safe_dump(config), encoding="utf-8")
        async with running_daemon(config_file, [installed.newsbot], cwd=elsewhere) as daemon:
            await until(lambda: "Troop deployment" in "".join(daemon.out), "the installed daemon's first alert", 90)
    assert daemon.returncode == 0, "".join(daemon.logs)
    assert (site / "data" / "newsbot.db").is_file()
    assert list(elsewhere.iterdir()) == []
