"""The real `newsbot poll --once` over FEEDS local news-like feeds, as a user would run it.

Run: .venv/bin/python bench/poll_once.py [--feeds 2000] [--items 10] [--rules 1000] [--database sqlite|postgresql]

Starts bench/pipeline.py's feed server (its own process, 50 ports as 50 hosts), writes a config with the
feeds and 1,000 generated rules and 20 chats following 50 topics each, then runs `newsbot poll --once` as a
subprocess and samples, every few seconds, how many entries the database holds and the poller's resident
memory: the pace a user sees. Prints the samples and entries/s overall.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from bench.pipeline import HOSTS, fresh_database, serve, subscribe_chats, write_rules  # noqa: E402


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
    import sqlalchemy as sa

    from bot.store.db import open_database

    engine = await open_database(url)
    try:
        async with engine.connect() as conn:
            return int((await conn.execute(sa.text("SELECT count(*) FROM entries"))).scalar_one())
    finally:
        await engine.dispose()


async def run(args: argparse.Namespace) -> None:
    folder = Path(tempfile.mkdtemp(prefix="newsbot-poll-once-"))
    topics = write_rules(folder / "rules", args.rules)
    spawn = multiprocessing.get_context("spawn")
    ports_queue: multiprocessing.Queue[list[int]] = spawn.Queue()
    server = spawn.Process(target=serve, args=(args.feeds, args.items, 11, ports_queue), daemon=True)
    server.start()
    ports = ports_queue.get(timeout=300)
    try:
        async with fresh_database(args.database, args.pg_url, folder) as database:
            url = str(database)
            await subscribe_chats(url, topics)
            feeds = [{"url": f"http://127.0.0.1:{ports[n % HOSTS]}/feed/{n}", "name": f"Outlet {n}",
                      "fulltext": False, "backlog": args.items} for n in range(args.feeds)]
            config = {"database": url, "rules": str(folder / "rules"), "feeds": feeds,
                      "polling": {"concurrency": 100, "per_host": 4}}
            path = folder / "config.yaml"
            path.write_text(yaml.safe_dump(config), encoding="utf-8")
            started = time.perf_counter()
            env = {k: v for k, v in os.environ.items() if k != "TELEGRAM_BOT_TOKEN"}
            with (folder / "poll.log").open("w") as log:
                process = subprocess.Popen([sys.executable, "-m", "bot", "poll", "-c", str(path), "--once"],
                                           stdout=subprocess.DEVNULL, stderr=log, env=env)
            print(f"{'s':>6}{'entries':>9}{'entries/s':>11}{'RSS MB':>8}")
            peak = 0.0
            while process.poll() is None:
                await asyncio.sleep(args.every)
                stored, memory = await entries_stored(url), rss_mb(process.pid)
                peak = max(peak, memory)
                elapsed = time.perf_counter() - started
                print(f"{elapsed:>6.0f}{stored:>9,}{stored / elapsed:>11.0f}{memory:>8.0f}", flush=True)
            elapsed = time.perf_counter() - started
            stored = await entries_stored(url)
            print(f"exit {process.returncode}: {stored:,} entries in {elapsed:.1f} s = {stored / elapsed:.0f} "
                  f"entries/s, peak RSS sampled {peak:.0f} MB (log: {folder / 'poll.log'})")
    finally:
        server.kill()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--every", type=float, default=5.0, help="seconds between samples")
    parser.add_argument("--database", choices=("sqlite", "postgresql"), default="sqlite")
    parser.add_argument("--pg-url", default=os.environ.get("NEWSBOT_TEST_PG_URL",
                                                          "postgresql://postgres@127.0.0.1:5432/test"))
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
