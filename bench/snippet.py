"""Rendering a story message for an item whose body is one matched word repeated (issue 20, item 1), in the
pre-session tree and this one.

    .venv/bin/python bench/snippet.py                              # 10,000 / 20,000 / 100,000 marks
    .venv/bin/python bench/snippet.py --marks 100000 --timeout 240 --baseline-tree /work/wt/base

Each (tree, marks) pair runs `render_story` (bot/deliver/format.py: the snippet window and the HTML) once in
a child process with that tree alone on PYTHONPATH (the virtualenv's editable-install hook is taken out), under
a wall-time cap; the child prints its seconds, the parent prints the table and the ratio.
"""

from __future__ import annotations

import argparse
import importlib
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE_TREE = Path("/work/wt/base")


def child(marks: int) -> None:
    """Render one message for an item of `marks` matched words and print the seconds it took."""
    sys.meta_path[:] = [finder for finder in sys.meta_path if "Editable" not in getattr(finder, "__name__", "")]
    tree = Path(os.environ["PYTHONPATH"]).resolve()
    bot = importlib.import_module("bot")
    if not Path(bot.__file__ or "").resolve().is_relative_to(tree):
        raise SystemExit(f"bot comes from {bot.__file__}, not from {tree}")
    from bot.deliver.format import render_story
    from bot.model import Alert, ClauseHit, Entry, Match, Span

    word = "troops"
    body = " ".join([word] * marks)
    spans = tuple(Span("body", i * (len(word) + 1), i * (len(word) + 1) + len(word), word) for i in range(marks))
    entry = Entry("https://feed.test/rss", "Outlet", "https://outlet.test/1", "Troops", summary=body)
    alert = Alert("troops", "Troops", entry, Match("troops", "Troops", (ClauseHit(word, spans),)), id=1)
    began = time.perf_counter()
    render_story(None, [alert])
    print(f"{time.perf_counter() - began:.4f}")


def measure(tree: Path, marks: int, timeout: float) -> str:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    command = [sys.executable, str(Path(__file__).resolve()), "--child", str(marks)]
    try:
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=timeout, check=True)
    except subprocess.TimeoutExpired:
        return f"> {timeout:.0f}"
    return f"{float(done.stdout.strip()):.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--marks", type=int, nargs="+", default=[10_000, 20_000, 100_000])
    parser.add_argument("--timeout", type=float, default=240.0, help="seconds per render before giving up")
    parser.add_argument("--baseline-tree", type=Path, default=BASELINE_TREE)
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(args.child)
        return
    print("| marks | baseline s | this tree s | ratio |")
    print("|---:|---:|---:|---:|")
    for marks in args.marks:
        before = measure(args.baseline_tree, marks, args.timeout)
        after = measure(ROOT, marks, args.timeout)
        ratio = f"{float(before) / float(after):,.0f}x" if not before.startswith(">") else "-"
        print(f"| {marks:,} | {before} | {after} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
