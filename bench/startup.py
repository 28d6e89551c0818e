"""Start-up time of the `newsbot` command, against a baseline checkout measured in the same run.

    .venv/bin/python bench/startup.py                  # 10 runs per command, baseline 9f8da28
    .venv/bin/python bench/startup.py --runs 20 --baseline main

Each command runs as `python -m bot ...` in a fresh subprocess, once to warm the bytecode cache and
then --runs times; the table gives the median and the fastest wall time. The baseline is the tree of
a git commit (default: main before the CLI was made lazy), unpacked with `git archive` into a temporary
folder and run by the same interpreter and virtualenv, each tree checking its own shipped rules.
"Modules" counts the modules imported (`-X importtime`); "heavy" names the libraries of HEAVY among them.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tarfile
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = "9f8da28"
HEAVY = ("sqlalchemy", "telegram", "datasketch", "scipy", "apprise", "trafilatura", "httpx", "feedparser")
COMMANDS: dict[str, tuple[str, ...]] = {
    "newsbot --help": ("--help",),
    "newsbot --version": ("--version",),
    "newsbot rules check (shipped rules)": ("rules", "check", "bot/starter/rules"),
    "newsbot rules test (shipped rules)": ("rules", "test", "bot/starter/rules"),
}


@dataclass(frozen=True)
class Timing:
    median: float
    fastest: float
    modules: int
    heavy: tuple[str, ...]


def _run(tree: Path, args: Sequence[str], extra: Sequence[str] = ()) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}
    env.pop("NEWSBOT_CONFIG", None)
    return subprocess.run(
        [sys.executable, *extra, "-m", "bot", *args], cwd=tree, env=env, capture_output=True, text=True, check=False
    )


def measure(tree: Path, args: Sequence[str], runs: int) -> Timing:
    imported = _run(tree, args, ("-X", "importtime")).stderr.splitlines()
    names = {line.split("|")[-1].strip() for line in imported if line.startswith("import time:")}
    walls = []
    for _ in range(runs):
        start = time.perf_counter()
        _run(tree, args)
        walls.append(time.perf_counter() - start)
    heavy = tuple(name for name in HEAVY if name in names)
    return Timing(statistics.median(walls), min(walls), len(names) - 1, heavy)


def unpack(ref: str, into: Path) -> Path:
    archive = into / "baseline.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "-C", str(ROOT), "archive", ref], stdout=out, check=True)
    tree = into / "tree"
    with tarfile.open(archive) as tar:
        tar.extractall(tree, filter="data")
    return tree


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="timed runs per command and tree (default 10)")
    parser.add_argument("--baseline", default=BASELINE, help=f"git commit to compare with (default {BASELINE})")
    args = parser.parse_args()
    runs = max(1, min(args.runs, 1000))
    with tempfile.TemporaryDirectory(prefix="newsbot-startup-") as folder:
        baseline = unpack(args.baseline, Path(folder))
        python = sys.version.split()[0]
        print(f"{runs} runs per command; baseline {args.baseline}; {os.cpu_count()} cores; python {python}")
        print()
        print(
            "| command | median s | fastest s | modules | heavy | baseline median s | baseline fastest s | "
            "baseline modules | baseline heavy | speed-up (median) |"
        )
        print("|---|---:|---:|---:|---|---:|---:|---:|---|---:|")
        for name, command in COMMANDS.items():
            now = measure(ROOT, command, runs)
            before = measure(baseline, command, runs)
            print(
                f"| `{name}` | {now.median:.3f} | {now.fastest:.3f} | {now.modules} | {', '.join(now.heavy) or '-'} "
                f"| {before.median:.3f} | {before.fastest:.3f} | {before.modules} | {', '.join(before.heavy) or '-'} "
                f"| {before.median / now.median:.1f}x |"
            )


if __name__ == "__main__":
    main()
