"""bench/hardening.py's harness: what it reports for a child is what the child did (the figures of issue 13's
closing note rest on it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from bench.hardening import Plan, run_child

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[1]


def _run(tmp_path: Path, code: str, timeout: float = 20, memory_gb: float = 1) -> tuple[str, str, float]:
    finished = run_child(Plan([sys.executable, "-c", code]), ROOT, tmp_path, timeout, int(memory_gb * 2**30))
    return finished.kind, finished.outcome, finished.mb


def test_each_outcome_is_named_as_it_happened(tmp_path: Path) -> None:
    assert _run(tmp_path, "print('fine')")[:2] == ("ok", "ok")
    kind, outcome, _ = _run(tmp_path, "import sys; print('log line', file=sys.stderr); sys.exit('newsbot: bad value')")
    assert (kind, outcome) == ("exit", "exit 1: newsbot: bad value")
    kind, outcome, _ = _run(tmp_path, "def f():\n    raise OverflowError('date value out of range\\nmore')\nf()")
    assert (kind, outcome) == ("traceback", "traceback: OverflowError: date value out of range")
    raised_in_a_group = (
        "def f():\n    raise ValueError('Port out of range 0-65535')\ntry:\n    f()\nexcept ValueError as e:\n"
        "    raise ExceptionGroup('unhandled errors in a TaskGroup', [e])"
    )
    kind, outcome, _ = _run(tmp_path, raised_in_a_group)
    assert (kind, outcome) == ("traceback", "traceback: ValueError: Port out of range 0-65535")
    kind, outcome, _ = _run(tmp_path, "import time; time.sleep(30)", timeout=1)
    assert (kind, outcome) == ("timeout", "killed at the 1 s cap")


def test_the_memory_cap_holds_and_the_peak_is_the_childs(tmp_path: Path) -> None:
    kind, _, mb = _run(tmp_path, "b = bytearray(400 * 2**20); b[::4096] = b'x' * len(b[::4096])", memory_gb=1)
    assert kind == "ok" and 400 <= mb < 600
    kind, outcome, mb = _run(tmp_path, "b = bytearray(2 * 2**30)", memory_gb=1)
    assert kind == "oom" and "out of memory" in outcome and mb < 1024


def test_a_child_never_imports_bot_from_the_checkout_when_the_tree_lacks_it(tmp_path: Path) -> None:
    """The virtualenv's editable install would serve `bot` (or a module the baseline lacks) from this checkout."""
    empty = tmp_path / "tree"
    empty.mkdir()
    args = [sys.executable, str(ROOT / "bench" / "hardening.py"), "--child", "call", "bot.parse.urls:canonical_url"]
    env = {"PYTHONPATH": str(empty), "HARDENING_RESULT": str(tmp_path / "figures.jsonl")}
    missing = subprocess.run([*args, json.dumps("http://127.0.0.1/a b")], env=env, capture_output=True, text=True)
    assert missing.returncode == 1 and "No module named 'bot'" in missing.stderr
    env["PYTHONPATH"] = str(ROOT)
    found = subprocess.run([*args, json.dumps("http://127.0.0.1/a b")], env=env, capture_output=True, text=True)
    assert found.returncode == 0, found.stderr
    assert json.loads((tmp_path / "figures.jsonl").read_text())["result"] == "'http://127.0.0.1/a%20b'"
