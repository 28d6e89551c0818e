"""`newsbot` answers at once: the command line and the rule tools never import the heavy libraries.

Checked on the modules a fresh interpreter imports (`python -X importtime`), not on timings, so the test
fails the day someone imports SQLAlchemy or telegram at the top of a module on these paths.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.starter import RULES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]
HEAVY = (
    "sqlalchemy", "telegram", "datasketch", "scipy", "apprise", "trafilatura", "httpx", "feedparser", "matplotlib",
)  # fmt: skip


def imported_modules(*arguments: str, cwd: Path) -> set[str]:
    """The modules a fresh `python -X importtime ARGUMENTS` imports."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith("NEWSBOT_")}
    done = subprocess.run(
        [sys.executable, "-X", "importtime", *arguments],
        cwd=cwd,
        env={**environment, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    lines = [line for line in done.stderr.splitlines() if line.startswith("import time:")]
    return {line.rsplit("|", 1)[1].strip() for line in lines}


def heavy_among(modules: set[str]) -> list[str]:
    return sorted(name for name in modules if name.split(".")[0] in HEAVY)


@pytest.mark.parametrize(
    "arguments",
    [
        ("-c", "import bot.cli"),
        ("-m", "bot", "--help"),
        ("-m", "bot", "rules", "--help"),
        ("-m", "bot", "trend", "--help"),
        ("-m", "bot", "rules", "check", str(RULES)),
        ("-m", "bot", "rules", "test", str(RULES)),
    ],
    ids=["import bot.cli", "--help", "rules --help", "trend --help", "rules check", "rules test"],
)
def test_the_command_line_imports_no_heavy_library(arguments: tuple[str, ...], tmp_path: Path) -> None:
    modules = imported_modules(*arguments, cwd=tmp_path)
    assert "bot.cli" in modules
    assert heavy_among(modules) == []


def test_the_check_itself_sees_heavy_imports(tmp_path: Path) -> None:
    """The same check on a command that does open the database: it must find them."""
    config = tmp_path / "config.yaml"
    config.write_text(f"database: sqlite:///{tmp_path / 'n.db'}\n")
    modules = imported_modules("-m", "bot", "stories", "-c", str(config), cwd=tmp_path)
    assert "sqlalchemy" in heavy_among(modules)
