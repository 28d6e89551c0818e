"""Files one entry crosses from the fetch to a sent Telegram message, and lines in bot/, per newsbot checkout.

Run: .venv/bin/python bench/path_files.py [--tree DIR ...] [--database sqlite postgresql] [--list]

Each checkout (this one, then every --tree: the baselines, in the same run) runs `newsbot run` as a user
does, in a subprocess with its own code (cwd and PYTHONPATH the checkout, this virtualenv's interpreter), on
a fresh database it migrated itself (SQLite in a temporary folder; PostgreSQL: a throwaway database per run,
dropped after). Its config has one feed on 127.0.0.1 (bench/tree_daemon.py's server; `every: 1s`, no full
text) and Telegram at the fake Bot API of tests/e2e, where one chat follows the starter rule
troop-deployment. Once the daemon has polled the empty feed and settled (SETTLE), one matching entry is
published; the run ends one second after the fake Bot API accepted its message. `run`, not `poll --once`:
in every tree `poll --once` only queues the message in the outbox for `run` to send.

Which files: a profile hook (bench/path_watch.py) in every process of the daemon (threads and parse workers
included) looks, at each call of a function in bot/ made from a bot/ module of another package, at the whole
stack; a stack is on the entry's way when it holds a frame of bot/fetch/, bot/parse/, bot/ingest/ or
bot/deliver/ (the fetch and poll, the parse, the orchestration with filing and telling, the sinks, the
outbox and its sender): every tree does the entry's work in these four packages. Every bot/ file on such a
stack counts, from the entry's publication until one second after the fake Bot API accepted its message
(the sender then records Telegram's answer); start-up and stopping do not count, the loops that wait for
the entry (the next poll, the filer's and the sender's looks for work) do. The same definition applies to
every tree. Asynchronous tasks and threads start stacks of their own, so a file counts only when it is on a
stack at a call across packages (the CLI's entry files are at the bottom of every stack of the main thread,
in every tree). A tree that fails (no message within the timeout, a schema it cannot migrate) is reported as
failed with its last log lines.

Lines in bot/: every *.py file; total lines, and non-blank lines that are not comments (docstrings count as
lines; the code without them is shown too).
"""

from __future__ import annotations

import argparse
import ast
import asyncio
import io
import os
import sys
import tempfile
import time
import tokenize
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench.path_watch import SITECUSTOMIZE  # noqa: E402
from bench.pipeline import fresh_database  # noqa: E402
from bench.tree_daemon import (  # noqa: E402
    READER,
    TOKEN,
    FeedServer,
    TimedBotApi,
    feed_settings,
    log_tail,
    rss_item,
    start_run,
    stop,
    subscribe_in,
    write_config,
)

SETTLE = 3.0
"""Seconds the daemon runs, after its first polls of the empty feed, before the entry is published."""
AFTER_SENT = 1.0
"""Seconds after the message was accepted that still count (the sender records Telegram's answer)."""


@dataclass
class Crossed:
    tree: Path
    database: str
    files: set[str] = field(default_factory=set)
    seconds: float = 0.0
    error: str = ""


@dataclass(frozen=True)
class Lines:
    modules: int
    total: int
    code: int
    without_docstrings: int


def count_lines(tree: Path) -> Lines:
    """Lines of every bot/**/*.py: all, non-blank non-comment, and those less the docstrings' lines."""
    modules = total = code = docs = 0
    for path in sorted((tree / "bot").rglob("*.py")):
        text = path.read_text(encoding="utf-8")
        modules += 1
        lines = text.splitlines()
        total += len(lines)
        code_lines = {n for n, line in enumerate(lines, 1) if line.strip() and not line.lstrip().startswith("#")}
        code += len(code_lines)
        doc_lines: set[int] = set()
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef) and node.body:
                first = node.body[0]
                if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant) and isinstance(
                    first.value.value, str
                ):
                    doc_lines.update(range(first.lineno, (first.end_lineno or first.lineno) + 1))
        # attribute docstrings (a string statement after an assignment) are docstrings too
        for token in tokenize.generate_tokens(io.StringIO(text).readline):
            if token.type == tokenize.STRING and token.line.lstrip().startswith(('"""', "'''")):
                doc_lines.update(range(token.start[0], token.end[0] + 1))
        docs += len(doc_lines & code_lines)
    return Lines(modules, total, code, code - docs)


async def crossed(tree: Path, database: str, pg_url: str, timeout: float) -> Crossed:
    """One `newsbot run` of `tree` until the entry's message is sent: the bot/ files on the entry's way."""
    result = Crossed(tree, database)
    folder = Path(tempfile.mkdtemp(prefix=f"newsbot-path-{tree.name}-{database}-"))
    hooks, out = folder / "hooks", folder / "watch"
    hooks.mkdir()
    out.mkdir()
    (hooks / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    log = folder / "run.log"
    made: str  # fresh_database's URL
    async with fresh_database(database, pg_url, folder) as made, FeedServer() as feed, TimedBotApi(TOKEN) as api:
        url = str(made)
        try:
            subscribe_in(tree, url)
        except Exception as error:  # an older tree's failure is a result
            stderr = getattr(error, "stderr", "") or str(error)
            result.error = "could not migrate or subscribe: " + " | ".join(stderr.strip().splitlines()[-3:])
            return result
        api.private_chat(READER)
        config = write_config(folder, tree, url, [feed_settings(feed.url, "Wire", "1s", 0)], api.base_url)
        watch = {"NEWSBOT_PATH_WATCH_OUT": str(out), "NEWSBOT_PATH_WATCH_TREE": str(tree),
                 "NEWSBOT_PATH_WATCH_MODULE": str(ROOT / "bench" / "path_watch.py")}
        started = time.monotonic()
        process = await start_run(tree, config, log, pythonpath=[str(hooks)], env=watch)
        published = until = 0.0
        try:
            while not (feed.requests >= 2 and any(method == "getupdates" for method, _ in api.calls)):
                if process.returncode is not None or time.monotonic() - started > timeout:
                    break
                await asyncio.sleep(0.05)
            await asyncio.sleep(SETTLE)  # the first polls (of an empty feed) are filed, the front is up
            published = time.time()
            (out / "published").touch()
            feed.publish("a1", rss_item("a1", "Estonia weighs sending troops to Ukraine",
                                        "Estonia's prime minister did not rule out sending soldiers to Ukraine.",
                                        published))
            while not api.accepted and process.returncode is None and time.monotonic() - started < timeout:
                await asyncio.sleep(0.05)
            if api.accepted:
                result.seconds = api.accepted[0][0] - published
                await asyncio.sleep(AFTER_SENT)
        finally:
            until = time.time()
            status = await stop(process)
        if not api.accepted:
            why = f"exited {status}" if process.returncode is not None else f"no message within {timeout:.0f} s"
            result.error = f"{why}: {log_tail(log)}"
        result.files = read_watch(out, published, until)
    return result


def read_watch(out: Path, since: float, until: float) -> set[str]:
    """The files every process of the daemon recorded (`time file` lines) from `since` to `until`."""
    files = set()
    for part in out.iterdir():
        if part.name == "published":
            continue
        for line in part.read_text(encoding="utf-8").splitlines():
            when, name = line.split(" ", 1)
            if since <= float(when) <= until:
                files.add(name)
    return files


def package(name: str) -> str:
    parts = name.split("/")
    return "bot/*.py" if len(parts) == 2 else parts[1]


def ratio(ours: float, theirs: float) -> str:
    return f"{ours / theirs:.2f}x" if theirs else ""


def report(args: argparse.Namespace, runs: list[Crossed], lines: dict[Path, Lines]) -> None:
    here = ROOT
    print("Files one entry crosses from the fetch to a sent message (`newsbot run`, one feed, one entry, "
          "one subscribed chat)")
    print("| tree | database | files | this tree against it | message after (profiled) | note |")
    print("|---|---|---:|---:|---:|---|")
    ours = {run.database: run for run in runs if run.tree == here}
    for run in runs:
        mine = ours.get(run.database)
        against = ratio(len(mine.files), len(run.files)) if mine and run.tree != here and not mine.error else ""
        files = "failed" if run.error else str(len(run.files))
        after = f"{run.seconds:.1f} s" if run.seconds else ""
        print(f"| {run.tree.name} | {run.database} | {files} | {against if not run.error else ''} | {after} | "
              f"{run.error[:300]} |")
    print()
    print("| tree | files on every database run (union) | this tree against it |")
    print("|---|---:|---:|")
    unions: dict[Path, set[str] | None] = {}
    for tree in lines:
        good = [run for run in runs if run.tree == tree and not run.error]
        unions[tree] = set().union(*(run.files for run in good)) if good else None
    for tree, union in unions.items():
        our_union = unions[here]
        against = ratio(len(our_union), len(union)) if union and our_union and tree != here else ""
        print(f"| {tree.name} | {len(union) if union is not None else 'failed'} | {against} |")
    print()
    packages = sorted({package(name) for union in unions.values() if union for name in union})
    print("Of those, per package (bot/*.py: the top-level modules)")
    print(f"| tree | {' | '.join(packages)} |")
    print(f"|---|{'---:|' * len(packages)}")
    for tree, union in unions.items():
        if union is not None:
            counts = [sum(1 for name in union if package(name) == each) for each in packages]
            print(f"| {tree.name} | {' | '.join(map(str, counts))} |")
    print()
    print("Lines in bot/ (*.py)")
    print("| tree | modules | lines | non-blank, non-comment | of those, not docstrings | this tree against it |")
    print("|---|---:|---:|---:|---:|---:|")
    ours_counted = lines[here]
    for tree, counted in lines.items():
        against = "" if tree == here else (
            f"{ratio(ours_counted.total, counted.total)} / {ratio(ours_counted.code, counted.code)}"
            f" / {ratio(ours_counted.without_docstrings, counted.without_docstrings)}"
        )
        print(f"| {tree.name} | {counted.modules} | {counted.total:,} | {counted.code:,} | "
              f"{counted.without_docstrings:,} | {against} |")
    if args.list:
        for tree, union in unions.items():
            if union is not None:
                print(f"\n{tree.name}: {len(union)} files")
                for name in sorted(union):
                    where = [run.database for run in runs if run.tree == tree and name in run.files]
                    print(f"  {name}{'' if len(where) == len(args.database) else '  (' + ', '.join(where) + ' only)'}")


async def run(args: argparse.Namespace) -> list[Crossed]:
    runs = []
    for database in args.database:
        for tree in [ROOT, *args.tree]:
            result = await crossed(tree, database, args.pg_url, args.timeout)
            print(f"  {tree.name} {database}: {len(result.files)} files {result.error[:200]}", file=sys.stderr,
                  flush=True)
            runs.append(result)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", nargs="*", type=Path, default=[], help="other newsbot checkouts (baselines)")
    parser.add_argument("--database", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--timeout", type=float, default=90.0, help="seconds to wait for the message, per run")
    parser.add_argument("--list", action="store_true", help="list the files of each tree")
    parser.add_argument("--pg-url", default=os.environ.get("NEWSBOT_TEST_PG_URL",
                                                          "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    args.tree = [tree.resolve() for tree in args.tree]
    lines = {tree: count_lines(tree) for tree in [ROOT, *args.tree]}
    report(args, asyncio.run(run(args)), lines)


if __name__ == "__main__":
    main()
