"""Fetch throughput of 1, 2 and 3 `newsbot run` processes sharing one PostgreSQL database, against one server.

Run: .venv/bin/python bench/cluster.py [--feeds 1000] [--hosts 50] [--processes 1 2 3] [--window 30]
     [--quiet] [--tree DIR ...] [--pg-url postgresql://postgres@127.0.0.1:5432/test]

The feed server is bench/poll.py's, in a process of its own (aiohttp on 127.0.0.1, one port per virtual
host, the same mix of feeds: 70% answer 304 to a conditional GET, 15% send the same body without
validators, 10% change on every request, 5% are slow or failing). Every feed asks to be polled every second,
so the processes are always saturated: what they fetch per second is their throughput. For each number of
processes: a fresh database, the processes started as separate `newsbot run` commands from one config
(polling.concurrency 100, per_host 4, no Telegram token, alerts to /dev/null), a first cycle to learn the
validators, the ingest holder's filing of that first cycle's entries and 5 s more, then the feed requests
the server answered over `--window` seconds.

With --quiet every feed answers 304 once its validators are known, so the CPU per 1,000 fetches is the
cost of 1,000 unchanged feeds' polls (the claim, the conditional request, the state saved). With --tree
the same rows are measured again with the newsbot of another checkout (a baseline, in the same run).

Printed per row: tree, processes, feed fetches per second and the ratio to one process (the baseline, measured in
the same run), the CPU seconds of the newsbot processes and their parse workers per 1,000 fetches, and how
many fetched entries still waited for the ingest holder at the end (the filing keeping up, or not).
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import shutil
import subprocess
import sys
import tempfile
import time
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bench.poll import CLOCK_TICKS, descendants, serve  # noqa: E402
from bot.store.db import async_url  # noqa: E402
from bot.store.unfiled import unfiled_count  # noqa: E402


@dataclass
class Row:
    tree: str
    processes: int
    fetches_per_second: float
    cpu_per_1000: float
    unfiled: int


@asynccontextmanager
async def fresh_database(admin_url: str):  # type: ignore[no-untyped-def]
    name = f"newsbot_bench_{os.getpid()}_{int(time.time())}"
    admin = create_async_engine(async_url(admin_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = admin_url.rsplit("/", 1)[0] + f"/{name}"
    try:
        yield url
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


def write_config(folder: Path, url: str, args: argparse.Namespace, ports: list[int]) -> Path:
    feeds = [
        {"url": f"http://127.0.0.1:{ports[n % args.hosts]}/feed/{n}", "name": f"Outlet {n}", "every": "1s",
         "fulltext": False}
        for n in range(args.feeds)
    ]  # fmt: skip
    settings = {
        "database": url,
        "rules": str(ROOT / "bot" / "starter" / "rules"),
        "feeds": feeds,
        "polling": {"min_interval": "1s", "read_timeout": "5s", "total_timeout": "10s", "concurrency": 100},
        "telegram": {"token": ""},
    }
    path = folder / "config.yaml"
    path.write_text(yaml.safe_dump(settings))
    return path


def cpu_seconds(pids: list[int]) -> float:
    """CPU of the newsbot processes and their descendants (parse workers), as /proc has it now."""
    total = 0.0
    for pid in pids:
        for each in (pid, *descendants(pid, -1)):
            try:
                fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def start(tree: Path, config: Path, log: Path) -> subprocess.Popen[bytes]:
    """One `newsbot run` of `tree`; its alerts are dropped, its log kept beside the config for a failed run."""
    with log.open("wb") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "run", "-c", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=out,
            cwd=tree,
            env={"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "PYTHONPATH": str(tree)},
        )


async def served(control: str) -> int:
    async with httpx.AsyncClient() as client:
        return int((await client.get(f"{control}/_stats")).json()["requests"])


async def measure(args: argparse.Namespace, ports: list[int], tree: Path, count: int) -> Row:
    control = f"http://127.0.0.1:{ports[-1]}"
    folder = Path(tempfile.mkdtemp(prefix="newsbot-cluster-bench-"))
    async with fresh_database(args.pg_url) as url:
        config = write_config(folder, url, args, ports)
        processes = [start(tree, config, folder / f"node{n}.log") for n in range(count)]
        engine = create_async_engine(async_url(url))
        try:
            first = await served(control)
            while await served(control) - first < args.feeds:
                await asyncio.sleep(1)
            # The first cycle hands every entry of every feed over at once: measure once that is filed.
            for _ in range(300):
                if await unfiled_count(engine) <= args.feeds // 20:
                    break
                await asyncio.sleep(1)
            await asyncio.sleep(5)
            pids = [process.pid for process in processes]
            before, cpu_before, started = await served(control), cpu_seconds(pids), time.monotonic()
            await asyncio.sleep(args.window)
            after, cpu_after, ended = await served(control), cpu_seconds(pids), time.monotonic()
            waiting = await unfiled_count(engine)
        finally:
            await engine.dispose()
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(60)
    if args.keep:
        print(f"  config and logs in {folder}", file=sys.stderr)
    else:
        shutil.rmtree(folder)
    fetches = after - before
    rate = fetches / (ended - started)
    print(f"  {tree.name}, {count} processes: {rate:.0f} fetches/s", file=sys.stderr, flush=True)
    return Row(tree.name, count, rate, (cpu_after - cpu_before) / fetches * 1000, waiting)


def report(args: argparse.Namespace, rows: list[Row]) -> None:
    mix = "every feed answering 304" if args.quiet else "bench/poll.py's mix"
    print(f"{args.feeds} feeds on {args.hosts} hosts ({mix}), every one due each second; {args.window} s windows; "
          f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} cores")  # fmt: skip
    print()
    print("| tree | processes | fetches/s | vs 1 process | CPU s per 1,000 fetches | vs the first tree "
          "| entries waiting to be filed at the end |")
    print("|---|---|---|---|---|---|---|")
    ones = {row.tree: row.fetches_per_second for row in rows if row.processes == rows[0].processes}
    firsts = {row.processes: row.cpu_per_1000 for row in rows if row.tree == rows[0].tree}
    for row in rows:
        cpu_ratio = f"{row.cpu_per_1000 / firsts[row.processes]:.2f}x" if row.processes in firsts else ""
        print(
            f"| {row.tree} | {row.processes} | {row.fetches_per_second:.0f} "
            f"| {row.fetches_per_second / ones[row.tree]:.2f}x | {row.cpu_per_1000:.2f} | {cpu_ratio} | {row.unfiled} |"
        )


async def run(args: argparse.Namespace, ports: list[int]) -> None:
    rows = [await measure(args, ports, tree, count) for tree in [ROOT, *args.tree] for count in args.processes]
    report(args, rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=1000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--processes", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--window", type=float, default=30.0)
    parser.add_argument("--quiet", action="store_true", help="every feed answers 304 once its validators are known")
    parser.add_argument("--tree", nargs="*", type=Path, default=[], help="other newsbot checkouts (baselines)")
    parser.add_argument("--keep", action="store_true", help="keep each run's config and logs in /tmp")
    parser.add_argument("--pg-url", default=os.environ.get("NEWSBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    args.tree = [tree.resolve() for tree in args.tree]
    context = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue[list[int]] = context.Queue()
    server = context.Process(target=serve, args=(args.hosts, ports, args.quiet), daemon=True)
    server.start()
    try:
        asyncio.run(run(args, ports.get(timeout=30)))
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
