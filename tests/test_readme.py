"""README's two set-up commands are the ones CI and users run: keep them in step with .ci/run."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

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


def test_config_example_documents_every_key() -> None:
    """Every key the config takes is in config.example.yaml (a feed's keys in the comment above `feeds:`); the
    keys there are the config's (the loader refuses unknown ones: tests/test_config.py)."""
    from pydantic import BaseModel

    from bot.config import Config, FeedConfig
    from bot.starter import EXAMPLE_CONFIG

    text = EXAMPLE_CONFIG.read_text(encoding="utf-8")
    example = yaml.safe_load(text)

    def missing(model: type[BaseModel], written: dict[str, object], where: str) -> list[str]:
        gaps = []
        for key, field in model.model_fields.items():
            if key in ("base_dir", "config_file", "from_env"):  # set by the loader
                continue
            if key not in written and f"\n# {key}:" not in text:
                gaps.append(f"{where}{key}")
            inner = field.annotation
            if isinstance(inner, type) and issubclass(inner, BaseModel) and isinstance(written.get(key), dict):
                gaps += missing(inner, written[key], f"{where}{key}.")  # type: ignore[arg-type]
        return gaps

    assert missing(Config, example, "") == []
    described = re.findall(r"^#   (\w+) ", text, re.MULTILINE)
    assert described == list(FeedConfig.model_fields)


def test_readme_says_where_the_corpus_comes_from_and_that_its_tests_skip_without_it() -> None:
    from tests.conftest import CORPUS

    readme = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert ROOT.parent / "shared" / "corpus" == CORPUS
    assert "find it in `../shared/corpus`, the folder beside the checkout; its `SOURCES.md` names" in readme
    assert 'Without it those tests skip with "corpus not present at ..."; under CI they fail instead' in readme
    assert "corpus not present at" in (ROOT / "tests" / "conftest.py").read_text(encoding="utf-8")
