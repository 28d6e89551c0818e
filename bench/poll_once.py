"""The real `newsbot poll --once` over FEEDS local news-like feeds, as a user would run it: a first cycle that
stores every entry, then cycles over the same feeds unchanged (304s), which is what a desk's poller does
most of its life.

Run: .venv/bin/python bench/poll_once.py [--feeds 2000] [--items 10] [--rules 1000] [--cycles 2]
         [--database sqlite postgresql] [--tree DIR ...] [--profile FILE]

Starts bench/pipeline.py's feed server (its own process, 50 ports as 50 hosts; ETags, so an unchanged feed
answers 304), writes a config with the feeds, 1,000 generated rules and 20 chats following 50 topics each,
then runs `newsbot poll --once` as a subprocess CYCLES times per database, sampling every few seconds how
many entries the database holds and the poller's resident memory. CPU is the poll process's and its parse
workers' (the feed server is not counted). With --tree, each cycle also runs with the newsbot of another
checkout (the baseline, in the same run, on a database of its own).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.pipeline import HOSTS, fresh_database, serve, write_rules  # noqa: E402


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (parse workers), from /proc."""
    total = 0.0
    for task in [pid, *children(pid)]:
        try:
            for line in Path(f"/proc/{task}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) / 1024
        except OSError:
            continue
    return total


def children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    return [int(child) for n in found for child in [n, *map(str, children(int(n)))]]


async def entries_stored(url: str) -> int:
    """Entries in the database, read without migrating it (a baseline tree may know an older schema)."""
    import sqlalchemy as sa
    from sqlalchemy.ext.asyncio import create_async_engine

    from bot.store.db import async_url

    engine = create_async_engine(async_url(url))
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(sa.text("SELECT count(*) FROM entries"))).scalar_one())
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class Cycle:
    tree: str
    database: str
    cycle: int
    wall: float
    cpu: float
    entries: int
    peak_mb: float
    status: int


def subscribe_in(tree: Path, url: str, topics: list[str]) -> None:
    """Migrate the database and subscribe the chats with `tree`'s own code, so each tree polls a schema it knows."""
    script = ("import asyncio, json, sys; from bench.pipeline import subscribe_chats; "
              "asyncio.run(subscribe_chats(sys.argv[1], json.loads(sys.argv[2])))")
    subprocess.run([sys.executable, "-c", script, url, json.dumps(topics)], cwd=tree, check=True,
                   env={**os.environ, "PYTHONPATH": str(tree)})


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


async def one_cycle(
    args: argparse.Namespace, tree: Path, config: Path, url: str, log: Path, profile: Path | None
) -> tuple[float, float, float, int]:
    """One `newsbot poll --once` of `tree`: wall, CPU (the process tree), sampled peak RSS, exit status."""
    env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
    cpu, started, peak = children_cpu(), time.perf_counter(), 0.0
    profiler = ["-m", "cProfile", "-o", str(profile)] if profile else []
    with log.open("a") as out:
        process = subprocess.Popen([sys.executable, *profiler, "-m", "bot", "poll", "-c", str(config), "--once"],
                                   stdout=subprocess.DEVNULL, stderr=out, env={**env, "PYTHONPATH": str(tree)},
                                   cwd=tree)
    while process.poll() is None:
        await asyncio.sleep(args.every)
        peak = max(peak, rss_mb(process.pid))
        if args.verbose:
            stored, elapsed = await entries_stored(url), time.perf_counter() - started
            print(f"    {elapsed:>6.0f} s {stored:>9,} entries {stored / elapsed:>6.0f}/s {peak:>6.0f} MB", flush=True)
    return time.perf_counter() - started, children_cpu() - cpu, peak, int(process.returncode or 0)


async def run(args: argparse.Namespace) -> list[Cycle]:
    folder = Path(tempfile.mkdtemp(prefix="newsbot-poll-once-"))
    topics = write_rules(folder / "rules", args.rules)
    spawn = multiprocessing.get_context("spawn")
    ports_queue: multiprocessing.Queue[list[int]] = spawn.Queue()
    server = spawn.Process(target=serve, args=(args.feeds, args.items, 11, ports_queue), daemon=True)
    server.start()
    ports = ports_queue.get(timeout=300)
    feeds = [{"url": f"http://127.0.0.1:{ports[n % HOSTS]}/feed/{n}", "name": f"Outlet {n}",
              "fulltext": False, "backlog": args.items} for n in range(args.feeds)]
    cycles: list[Cycle] = []
    try:
        for database in args.database:
            for tree in [ROOT, *args.tree]:
                place = folder / f"{database}-{tree.name}"
                place.mkdir()
                async with fresh_database(database, args.pg_url, place) as made:
                    url = str(made)
                    subscribe_in(tree, url, topics)
                    config = place / "config.yaml"
                    settings = {"database": url, "rules": str(folder / "rules"), "feeds": feeds,
                                "polling": {"concurrency": 100, "per_host": 4}}
                    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
                    for n in range(1, args.cycles + 1):
                        profile = args.profile and n == args.cycles and tree == ROOT
                        wall, cpu, peak, status = await one_cycle(args, tree, config, url, place / "poll.log",
                                                                  args.profile if profile else None)
                        cycles.append(Cycle(str(tree), database, n, wall, cpu, await entries_stored(url), peak, status))
                        print(f"  {tree.name} {database} cycle {n}: {wall:.1f} s, {cpu:.1f} s CPU", file=sys.stderr,
                              flush=True)
    finally:
        server.kill()
    return cycles


def report(args: argparse.Namespace, cycles: list[Cycle]) -> None:
    print(f"`newsbot poll --once` over {args.feeds:,} feeds x {args.items} items, {args.rules:,} rules "
          f"(load average at the end: {os.getloadavg()[0]:.1f})")
    print("| tree | database | cycle | wall s | CPU s | entries | CPU vs cycle 1 | ms CPU per feed | peak MB | exit |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    first: dict[tuple[str, str], Cycle] = {}
    for cycle in cycles:
        key = (cycle.tree, cycle.database)
        base = first.setdefault(key, cycle)
        ratio = f"{cycle.cpu / base.cpu:.3f}x" if cycle is not base and base.cpu else ""
        per_feed = 1000 * cycle.cpu / args.feeds
        print(f"| {Path(cycle.tree).name} | {cycle.database} | {cycle.cycle} | {cycle.wall:.1f} | {cycle.cpu:.1f} | "
              f"{cycle.entries:,} | {ratio} | {per_feed:.2f} | {cycle.peak_mb:.0f} | {cycle.status} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--cycles", type=int, default=2, help="the first stores every entry, the rest are 304s")
    parser.add_argument("--every", type=float, default=2.0, help="seconds between samples")
    parser.add_argument("--database", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite"])
    parser.add_argument("--tree", nargs="*", type=Path, default=[], help="other newsbot checkouts (baselines)")
    parser.add_argument("--profile", type=Path, help="write a cProfile of this tree's last cycle to this file")
    parser.add_argument("--verbose", action="store_true", help="print the samples of each cycle")
    parser.add_argument("--pg-url", default=os.environ.get("NEWSBOT_TEST_PG_URL",
                                                          "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    args.tree = [tree.resolve() for tree in args.tree]
    report(args, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
