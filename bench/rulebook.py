"""Big rule books: loading, checking and reloading 10,000 rule files, against a baseline tree in the same run.

    .venv/bin/python bench/rulebook.py                          # baseline /work/wt/base (184c152)
    .venv/bin/python bench/rulebook.py --baseline PATH --rules 10000 --runs 3

The rule files are bench/pipeline.py's (bench/match.py's generator, one rule per file, with the entity files
they name). Every figure is measured in a fresh process for each tree (this checkout and the baseline, run by
the same interpreter with PYTHONPATH set to the tree), --runs times in turn, and the median is shown:
- load + compile: `RuleBook.load` (every file read and parsed, the rules compiled into the matcher), CPU
  seconds and wall seconds in the process;
- reload after one edit: one rule file among them edited (its title), then the reload the daemon's watcher
  runs for it (read, examples checked, compiled, put in force), the median of 5 edits per process; the
  baseline reads and compiles the whole folder, as it did for every edit;
- full reload: the same for /reload, which does not know what changed (every file read again);
- `newsbot rules check FOLDER`: the whole command's wall time, start-up included.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BASELINE = Path("/work/wt/base")


def _env(tree: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(tree), "NO_COLOR": "1"}
    env.pop("NEWSBOT_CONFIG", None)
    return env


def _worker(tree: Path, *args: str) -> dict[str, float]:
    done = subprocess.run(
        [sys.executable, __file__, "--worker", *args], env=_env(tree), capture_output=True, text=True, check=True
    )
    return dict(json.loads(done.stdout))


def load(folder: Path) -> dict[str, float]:
    """In a worker: RuleBook.load of the folder, as `run` starts."""
    from bot.rulebook.book import RuleBook

    cpu, wall = time.process_time(), time.perf_counter()
    book = RuleBook.load(folder)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    assert book.current.ruleset.rules and not book.current.ruleset.errors
    return {"cpu": cpu, "wall": wall}


def reload(folder: Path) -> dict[str, float]:
    """In a worker: after RuleBook.load, reloads as the daemon runs them after one edit and for /reload."""
    from bot.rulebook.book import RuleBook
    from bot.rulebook.watch import compile_reload

    book = RuleBook.load(folder)
    files = getattr(book, "files", None)  # this tree's book keeps what each file gave; the baseline's does not

    def run(changed: tuple[str, ...] | None) -> tuple[float, float]:
        cpu, wall = time.process_time(), time.perf_counter()
        if files is not None:
            done = compile_reload(files, book.current.matcher, changed)
        else:
            done = compile_reload(folder, book.current.ruleset, changed or ())
        book.install(done)
        assert not done.new_errors
        return time.process_time() - cpu, time.perf_counter() - wall

    path = folder / "topic-5000.yaml"
    original = path.read_text(encoding="utf-8")
    one = []
    for n in range(5):
        path.write_text(original.replace("title: Topic 5000", f"title: Topic 5000 edited {n}"), encoding="utf-8")
        one.append(run((str(path.resolve()),)))
    path.write_text(original, encoding="utf-8")
    full = run(None)
    return {
        "one_cpu": statistics.median(c for c, _ in one),
        "one_wall": statistics.median(w for _, w in one),
        "full_cpu": full[0],
        "full_wall": full[1],
    }


def rules_check(tree: Path, folder: Path) -> dict[str, float]:
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "bot", "rules", "check", str(folder)],
        cwd=tree,
        env=_env(tree),
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    assert done.returncode == 0, done.stderr
    return {"wall": wall}


def medians(runs: int, measure: Callable[[Path], dict[str, float]], trees: dict[str, Path]) -> dict[str, dict]:
    """Each tree measured `runs` times, the trees in turn, so a busy spell of the machine falls on both."""
    samples: dict[str, list[dict[str, float]]] = {name: [] for name in trees}
    for _ in range(runs):
        for name, tree in trees.items():
            samples[name].append(measure(tree))
    return {
        name: {key: statistics.median(s[key] for s in found) for key in found[0]} for name, found in samples.items()
    }


def row(what: str, key: str, figures: dict[str, dict], target: str) -> str:
    now, before = figures["newsbot"][key], figures["baseline"][key]
    return f"| {what} | {now:.3f} | {before:.3f} | {before / now:.1f}x | {target} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=10_000, help="rule files to generate (default 10,000)")
    parser.add_argument("--runs", type=int, default=3, help="runs per figure and tree (default 3)")
    parser.add_argument("--baseline", type=Path, default=BASELINE, help=f"baseline tree (default {BASELINE})")
    parser.add_argument("--worker", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        kind, folder = args.worker[0], Path(args.worker[1])
        print(json.dumps({"load": load, "reload": reload}[kind](folder)))
        return
    sys.path.insert(0, str(ROOT))
    from bench.pipeline import write_rules

    trees = {"newsbot": ROOT, "baseline": args.baseline}
    runs = max(1, args.runs)
    with tempfile.TemporaryDirectory(prefix="newsbot-rulebook-") as tmp:
        folder = Path(tmp) / "rules"
        write_rules(folder, args.rules)
        loaded = medians(runs, lambda tree: _worker(tree, "load", str(folder)), trees)
        reloaded = medians(runs, lambda tree: _worker(tree, "reload", str(folder)), trees)
        checked = medians(runs, lambda tree: rules_check(tree, folder), trees)
    print(
        f"{args.rules:,} rule files; median of {runs} runs per tree; baseline {args.baseline}; {os.cpu_count()} cores"
    )
    print()
    print("| figure | newsbot s | baseline s | speed-up | target |")
    print("|---|---:|---:|---:|---|")
    print(row("load + compile (CPU)", "cpu", loaded, "<= 2 s"))
    print(row("load + compile (wall)", "wall", loaded, "<= 2 s"))
    print(row("reload after one edit (CPU)", "one_cpu", reloaded, "<= 0.05 s"))
    print(row("reload after one edit (wall)", "one_wall", reloaded, "<= 0.05 s"))
    print(row("full reload, /reload (CPU)", "full_cpu", reloaded, ""))
    print(row("`newsbot rules check` (wall, whole command)", "wall", checked, "<= 3 s"))


if __name__ == "__main__":
    main()
