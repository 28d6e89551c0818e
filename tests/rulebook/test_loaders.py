"""A rule book read with libyaml's C loader and with PyYAML's pure-Python one, through the real command: the same
problems at the same file:line, the same nesting and alias limits, the same rules loaded."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from bot.starter import RULES
from bot.yamlread import MAX_DEPTH
from tests.test_yaml_files_cli import BOMB, MISTAKES

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
WITHOUT_LIBYAML = "import sys, runpy; sys.modules['yaml._yaml'] = None; runpy.run_module('bot', run_name='__main__')"
"""`newsbot` as it runs where PyYAML was built without libyaml (its C module cannot be imported)."""


def newsbot(*args: str, libyaml: bool, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "COLUMNS": "250", "PYTHONPATH": str(ROOT)}
    start = ["-m", "bot"] if libyaml else ["-c", WITHOUT_LIBYAML]
    return subprocess.run(
        [sys.executable, *start, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_the_pure_python_run_really_goes_without_libyaml(tmp_path: Path) -> None:
    probe = "import sys; sys.modules['yaml._yaml'] = None; import bot.yamlread as r, yaml; print(r.LOADER.__name__)"
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.stdout.strip() == "SafeLoader", done.stderr


@pytest.mark.skipif(not yaml.__with_libyaml__, reason="PyYAML here has no libyaml to compare with")
def test_both_loaders_report_the_same_problems_at_the_same_lines(tmp_path: Path) -> None:
    rules = tmp_path / "rules"
    shutil.copytree(RULES, rules)
    for n, (text, _, _) in enumerate(MISTAKES.values()):
        (rules / f"mistake-{n}.yaml").write_text(text.replace("sanctions", f"mistake-{n}"))
    (rules / "bomb.yaml").write_text(f"id: bomb\ntitle: Bomb\nquery: bomb\ndescription: x\n{BOMB}\n")
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    (rules / "deep.yaml").write_text(f"id: deep\ntitle: Deep\nquery: deep\nexamples:\n  match: {deep}\n")
    (rules / "entities" / "broken.yaml").write_text("id: broken\ntype: place\nnames: ['Broken]\n")
    for n in range(200):  # good files among the broken ones: every one loads on both
        (rules / f"topic-{n}.yaml").write_text(f"id: topic-{n}\ntitle: Topic {n}\nquery: troops NEAR/5 topic{n}\n")

    c_loader = newsbot("rules", "check", str(rules), libyaml=True, cwd=tmp_path)
    pure = newsbot("rules", "check", str(rules), libyaml=False, cwd=tmp_path)

    assert (pure.returncode, pure.stdout, pure.stderr) == (c_loader.returncode, c_loader.stdout, c_loader.stderr)
    said = c_loader.stderr.splitlines()
    for n, (_, line, message) in enumerate(MISTAKES.values()):
        assert f"{rules / f'mistake-{n}.yaml'}:{line}: {message.replace('sanctions', f'mistake-{n}')}" in said
    assert any(s.startswith(f"{rules / 'bomb.yaml'}:10: ") and "billion laughs" in s for s in said), said
    assert f"{rules / 'deep.yaml'}:5: lists and mappings nest more than {MAX_DEPTH} levels deep" in said
    assert f"{rules / 'entities' / 'broken.yaml'}:3: the single quote opened on line 3 column 9 is never closed" in said
    assert "Traceback" not in c_loader.stderr
    shipped = len(list(RULES.glob("*.yaml")))
    assert said[-1].startswith(f"{shipped + 200} rules and ")
