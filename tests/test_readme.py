"""README's two set-up commands are the ones CI and users run: keep them in step with .ci/run."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _commands() -> list[str]:
    return re.findall(r"```sh\n(python3 -m venv .+?)\n```", (ROOT / "README.md").read_text(encoding="utf-8"))


def test_readme_has_a_demo_and_a_test_command() -> None:
    demo, test = _commands()
    assert demo.endswith("newsbot demo")
    assert test.endswith("pytest")


def test_ci_runs_exactly_the_readme_test_command() -> None:
    _, test = _commands()
    assert test in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()


def test_how_it_works_lists_every_package() -> None:
    """README's table of packages is the tree: every package of bot/ in it, and nothing that is not there."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    table = readme.split("## How it works", 1)[1].split("\n\n", 3)[2]
    listed = set(re.findall(r"`bot/(\w+)/`", table))
    packages = {path.parent.name for path in (ROOT / "bot").glob("*/__init__.py")} - {"demo"}
    assert listed == packages
    assert all((ROOT / "bot" / f"{name}.py").exists() for name in re.findall(r"`bot/(\w+)\.py`", table))
