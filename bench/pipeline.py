"""The whole pipeline at scale: feed bytes to queued alerts, on SQLite and on PostgreSQL.

Run: .venv/bin/python bench/pipeline.py [--feeds 2000] [--items 10] [--windows 10000 50000 200000]
                                        [--databases sqlite postgresql] [--pg-url postgresql://...]

Each database runs in a process of its own (so its peak memory is its own), through newsbot's own parts:
the rules are 1,000 generated rule files (bench/match.py's generator: OR groups, NEAR, phrases, entities,
NOT, fields) loaded by the RuleBook; 20 chats follow 50 topics each, so alerts are told and queued in the
Telegram outbox (no sender runs: the bench ends at the queue). Items are news-like (bench/newsgen.py: real
headlines and sentences of the corpus snapshot, recombined into events that one to eight outlets report).

Phases:
- cycle 1: `poll --once` of FEEDS feeds x ITEMS new items, served by a separate aiohttp process on
  127.0.0.1 (50 ports as 50 hosts), every item may alert; entries/s end to end, CPU (this process and its
  parse workers, never the server's), ms per entry per stage;
- cycle 2: the same feeds again, unchanged (the server answers 304): wall and CPU against cycle 1;
- window: 10,000 new entries, stored unfiled as polls leave them, filed by the ingest role (match,
  features, credits, story index, store, alerts) into an empty window, then with WINDOWS entries already
  in it (the window is grown through the same path, unmeasured, with publication times spread over the
  last 47 hours);
- start-up: a new process opening the runtime and restoring the story window, as a process taking the
  ingest role does (`open_runtime`, `Pipeline.open_filing`), on the database with the largest window;
- peak RSS of the process (VmHWM), parse workers apart.

Baseline, in the same run: the story index and attribution of newsbot 0.1 (bench/reference/), on the same
entries: credits per entry, and filing cost per entry with the window restored to each size (its filing
re-built centroids and its story assembly re-ran credits over every member, so its cost grows with the
window; its copy index needs ~16 kB an entry, so it runs up to `--baseline-max` entries).
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import multiprocessing
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import asynccontextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402
from aiohttp import web  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from bench.newsgen import Item, NewsGenerator, load_material, rss  # noqa: E402
from bench.poll import cpu_seconds, peak_memory_mb, reset_peak_memory  # noqa: E402

if TYPE_CHECKING:
    from bot.cluster.member import Held
    from bot.ingest.filing import Filing
    from bot.ingest.pipeline import Pipeline

HOSTS = 50
CHATS = 20
TOPICS_PER_CHAT = 50
STAGES = ("read", "meaning", "file", "alerts", "ingest")


# ---------------------------------------------------------------- the feed server (its own process)


def serve(feeds: int, items: int, seed: int, ports: multiprocessing.Queue[list[int]]) -> None:
    asyncio.run(_serve(feeds, items, seed, ports))


async def _serve(feeds: int, items: int, seed: int, ports: multiprocessing.Queue[list[int]]) -> None:
    generator = NewsGenerator(load_material(), seed)
    start = datetime.now(UTC) - timedelta(hours=6)
    made = list(generator.items(feeds * items, start, timedelta(hours=5)))
    per_feed: list[list[Item]] = [[] for _ in range(feeds)]
    for n, item in enumerate(made):
        per_feed[n % feeds].append(item)
    bodies = [rss(f"Outlet {n}", f"http://127.0.0.1/a/{n}", per_feed[n]) for n in range(feeds)]

    async def feed(request: web.Request) -> web.StreamResponse:
        n = int(request.match_info["n"])
        etag = f'"{n}"'
        if request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        return web.Response(body=bodies[n], headers={"ETag": etag, "Content-Type": "application/rss+xml"})

    app = web.Application()
    app.add_routes([web.get("/feed/{n}", feed)])
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    bound = []
    for _ in range(HOSTS):
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        bound.append(runner.addresses[-1][1])
    ports.put(bound)
    await asyncio.Event().wait()


# ---------------------------------------------------------------- rules, database, subscribers


def write_rules(folder: Path, count: int) -> list[str]:
    """COUNT generated rule files and the entity files they refer to; returns the rule ids."""
    from bench.match import corpus, gazetteer, rule_texts, vocabulary

    vocab = vocabulary(corpus())
    entities = gazetteer(vocab)
    (folder / "entities").mkdir(parents=True)
    for entity in entities.entities.values():
        data = {"id": entity.id, "type": entity.type, "names": [entity.display_name]}
        (folder / "entities" / f"{entity.id}.yaml").write_text(yaml.safe_dump(data), encoding="utf-8")
    ids = []
    for n, query in enumerate(rule_texts(count, vocab, entities)):
        rule = {"id": f"topic-{n}", "title": f"Topic {n}", "query": query}
        (folder / f"topic-{n}.yaml").write_text(yaml.safe_dump(rule), encoding="utf-8")
        ids.append(rule["id"])
    return ids


@asynccontextmanager
async def fresh_database(kind: str, pg_url: str, folder: Path) -> Iterator[str]:  # type: ignore[misc]
    """A URL of an empty database, dropped afterwards (PostgreSQL) or left in the temporary folder."""
    if kind == "sqlite":
        yield f"sqlite:///{folder / f'bench-{uuid.uuid4().hex[:8]}.db'}"
        return
    from bot.store.db import async_url

    name = f"newsbot_bench_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(async_url(pg_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield pg_url.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


async def subscribe_chats(url: str, topics: list[str]) -> None:
    from bot.store.chats import remember_chat, subscribe
    from bot.store.db import open_database

    engine = await open_database(url)
    rng = random.Random(7)
    for chat in range(1, CHATS + 1):
        await remember_chat(engine, chat, "private", None)
        for topic in rng.sample(topics, TOPICS_PER_CHAT):
            await subscribe(engine, chat, topic, None, chat)
    await engine.dispose()


# ---------------------------------------------------------------- measuring


@dataclass
class Measured:
    """One measured phase."""

    name: str
    entries: int
    wall: float
    cpu: float
    stages: dict[str, float] = field(default_factory=dict)
    alerts: int = 0

    def per_entry(self, seconds: float) -> float:
        return 1000 * seconds / max(self.entries, 1)


def stage_seconds() -> dict[str, float]:
    from prometheus_client import REGISTRY

    return {
        stage: REGISTRY.get_sample_value("newsbot_stage_seconds_total", {"stage": stage}) or 0.0 for stage in STAGES
    }


class Clock:
    """Wall, CPU (this process and its parse workers, never the feed server's) and stage seconds of a phase."""

    def __init__(self, server_pid: int) -> None:
        self.server_pid = server_pid

    def __enter__(self) -> Clock:
        self.wall, self.cpu, self.stages = time.monotonic(), cpu_seconds(self.server_pid), stage_seconds()
        return self

    def __exit__(self, *_: object) -> None:
        self.wall = time.monotonic() - self.wall
        self.cpu = cpu_seconds(self.server_pid) - self.cpu
        after = stage_seconds()
        self.stages = {stage: after[stage] - self.stages[stage] for stage in STAGES}

    def result(self, name: str, entries: int, alerts: int = 0) -> Measured:
        return Measured(name, entries, self.wall, self.cpu, self.stages, alerts)


async def count_entries(engine: object) -> int:
    from bot.store.tables import entries

    async with engine.connect() as conn:  # type: ignore[attr-defined]
        return int(await conn.scalar(sa.select(sa.func.count()).select_from(entries)))


# ---------------------------------------------------------------- one database, in its own process


async def one_database(args: argparse.Namespace) -> dict[str, object]:
    from bot.app import open_runtime
    from bot.config import Config, FeedConfig, PollingConfig, StoriesConfig
    from bot.deliver.telegram_sink import TelegramSink

    stories = StoriesConfig(meaning=not args.no_meaning)
    folder = Path(tempfile.mkdtemp(prefix="newsbot-bench-"))
    topics = write_rules(folder / "rules", args.rules)
    spawn = multiprocessing.get_context("spawn")
    ports_queue: multiprocessing.Queue[list[int]] = spawn.Queue()
    server = spawn.Process(
        target=serve, args=(args.feeds, args.items, 11, ports_queue), daemon=True
    )
    server.start()
    ports = ports_queue.get(timeout=300)
    assert server.pid is not None
    results: dict[str, object] = {"database": args.one}
    try:
        polling = PollingConfig(concurrency=100, per_host=4)
        feeds = [
            FeedConfig(url=f"http://127.0.0.1:{ports[n % HOSTS]}/feed/{n}", name=f"Outlet {n}", fulltext=False,
                       backlog=args.items)
            for n in range(args.feeds)
        ]
        async with fresh_database(args.one, args.pg_url, folder) as url:
            await subscribe_chats(url, topics)
            config = Config(database=url, rules=folder / "rules", feeds=feeds, polling=polling, stories=stories)
            async with open_runtime(config, TelegramSink()) as runtime:
                reset_peak_memory(server.pid)
                phases = []
                for name in ("cycle 1", "cycle 2 (unchanged)"):
                    with Clock(server.pid) as clock:
                        reports = await runtime.pipeline.poll_once()
                    new = sum(r.new_entries for r in reports)
                    alerts = sum(len(story.changes) for r in reports for story in r.stories)
                    phases.append(clock.result(name, new, alerts))
                    print(f"  [{args.one}] {name}: {new} entries in {clock.wall:.1f} s", file=sys.stderr, flush=True)
                results["cycles"] = [asdict(p) for p in phases]
                results["cycle_peak_mb"] = peak_memory_mb(server.pid)
        async with fresh_database(args.one, args.pg_url, folder) as url:
            await subscribe_chats(url, topics)
            results.update(await window_phases(args, url, folder, feeds, server.pid))
        results["peak_rss_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    finally:
        server.kill()
    return results


async def window_phases(
    args: argparse.Namespace, url: str, folder: Path, feeds: list[object], server_pid: int
) -> dict[str, object]:
    from bot.app import open_runtime
    from bot.cluster.member import INGEST, holding
    from bot.config import Config, StoriesConfig
    from bot.deliver.telegram_sink import TelegramSink

    config = Config(database=url, rules=folder / "rules", feeds=feeds[: args.feeds],
                    stories=StoriesConfig(meaning=not args.no_meaning))
    generator = NewsGenerator(load_material(), 23)
    measured: list[Measured] = []
    async with open_runtime(config, TelegramSink()) as runtime, holding(runtime.engine, [INGEST]) as (held,):
        pipeline = runtime.pipeline
        filing = await pipeline.open_filing()
        in_window = 0
        for target in [0, *args.windows]:
            if target > in_window:
                await grow(pipeline, filing, held, generator, target - in_window, args)
                in_window = target
            with Clock(server_pid) as clock:
                alerts = await grow(pipeline, filing, held, generator, args.batch, args)
            in_window += args.batch
            measured.append(clock.result(f"window {target}", args.batch, alerts))
            print(f"  [{args.one}] {args.batch:,} into {target}: {clock.wall:.1f} s", file=sys.stderr, flush=True)
        stored = await count_entries(runtime.engine)
    # Start-up as a user meets it: a new process, nothing in memory.
    done = subprocess.run([sys.executable, __file__, "--startup-of", url, str(folder / "rules")],
                          stdout=subprocess.PIPE, check=True)
    startup = json.loads(done.stdout.decode().strip().splitlines()[-1])
    return {"windows": [asdict(m) for m in measured], "startup": {**startup, "stored": stored}}


async def start_up(url: str, rules: Path) -> dict[str, float]:
    """Open the runtime on a full database (the window restored), in this fresh process: wall, CPU, peak RSS."""
    from bot.app import open_runtime
    from bot.config import Config
    from bot.deliver.telegram_sink import TelegramSink

    wall, cpu = time.monotonic(), time.process_time()
    async with open_runtime(Config(database=url, rules=rules, feeds=[]), TelegramSink()) as runtime:
        restored = len((await runtime.pipeline.open_filing()).window.index)
        wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"entries": restored, "wall": wall, "cpu": cpu, "peak_rss_mb": rss}


async def grow(
    pipeline: Pipeline, filing: Filing, held: Held, generator: NewsGenerator, count: int, args: argparse.Namespace
) -> int:
    """COUNT new entries the way polls leave them (stored unfiled, feeds of ITEMS entries), filed by the ingest
    role as the daemon files them, 1,000 at a time; publication times spread over the last 47 hours. Returns
    the alerts raised."""
    from bot import clock
    from bot.model import Entry
    from bot.store.unfiled import hand_over_entries

    now = datetime.now(UTC)
    # Made as they are stored, a batch at a time: the bench must not hold what the product does not.
    items = generator.items(count, now - timedelta(hours=47), timedelta(hours=46, minutes=50))
    feeds = list(pipeline.fetch.feeds.values())
    alerts = 0
    per_batch = 1000 // args.items
    for start in range(0, count, per_batch * args.items):
        async with pipeline.engine.begin() as conn:
            for k in range(per_batch):
                chunk = list(itertools.islice(items, args.items))
                if not chunk:
                    break
                feed = feeds[(start // args.items + k) % len(feeds)]
                entries = [
                    Entry(feed_url=feed.config.url, outlet=feed.config.name or "", url=f"http://127.0.0.1/a/{i.guid}",
                          title=i.title, summary=i.summary, guid=i.guid, published=i.published)
                    for i in chunk
                ]
                await hand_over_entries(conn, feed.id, entries, {e.key for e in entries}, clock.now())
        while (filed := await pipeline.file_waiting(filing, held)).taken:
            alerts += sum(len(story.changes) for _, story in filed.stories)
    return alerts


# ---------------------------------------------------------------- the baseline: newsbot 0.1's index and credits


def baseline(args: argparse.Namespace) -> dict[str, object]:
    """0.1's credits and story index on the same kind of entries, in this process."""
    from bench.reference.attribution import entry_credits as old_credits
    from bench.reference.story_index import StoryIndex as OldIndex
    from bot.model import Entry
    from bot.stories.attribution import entry_credits

    generator = NewsGenerator(load_material(), 23)
    now = datetime.now(UTC)

    def entries(count: int) -> list[Entry]:
        return [
            Entry(feed_url="f", outlet=f"Outlet {n % 97}", url=f"http://127.0.0.1/a/{item.guid}", title=item.title,
                  summary=item.summary, guid=item.guid, published=item.published)
            for n, item in enumerate(generator.items(count, now - timedelta(hours=47), timedelta(hours=46)))
        ]

    sample = entries(2000)
    credit_times = {}
    for name, find in (("newsbot", entry_credits), ("0.1", old_credits)):
        started = time.process_time()
        for entry in sample:
            find(entry)
        credit_times[name] = 1000 * (time.process_time() - started) / len(sample)
    filing = []
    for window in [0, *[w for w in args.windows if w <= args.baseline_max]]:
        index = OldIndex()
        restored = entries(window)
        for n, entry in enumerate(restored, start=1):
            index.add(n, entry, story_id=n)  # restoring: no decision, as 0.1 did at start-up
        fresh = entries(args.baseline_sample)
        members: dict[int, list[Entry]] = {}
        started = time.process_time()
        for n, entry in enumerate(fresh, start=window + 1):
            assignment = index.add(n, entry)
            story = members.setdefault(assignment.story_id, [])
            story.append(entry)
            for member in story:  # 0.1's load_story: every member's credits again, for each matched entry
                old_credits(member)
        filing.append({"window": window, "ms": 1000 * (time.process_time() - started) / len(fresh)})
        print(f"  [baseline] {args.baseline_sample} entries into {window}: {filing[-1]['ms']:.1f} ms/entry",
              file=sys.stderr, flush=True)
    return {"credits_ms": credit_times, "filing": filing, "sample": args.baseline_sample}


# ---------------------------------------------------------------- the report


def report(args: argparse.Namespace, runs: list[dict[str, object]], base: dict[str, object]) -> None:
    print(f"pipeline: {args.feeds} feeds x {args.items} items, {args.rules} rules, {CHATS} chats x {TOPICS_PER_CHAT} "
          f"topics; meaning signal {'off' if args.no_meaning else 'on'}; ms per entry (meaning: wall time "
          "embedding, ahead of the filing transaction and in it; file: in it); CPU = this process and its parse "
          "workers")
    for run in runs:
        db = run["database"]
        cycles = [Measured(**c) for c in run["cycles"]]  # type: ignore[union-attr]
        print(f"\n{db}")
        print(f"  {'phase':<24}{'entries':>8}{'wall s':>9}{'CPU s':>8}{'entries/s':>10}{'alerts':>8}"
              f"{'read':>7}{'meaning':>8}{'file':>7}{'store':>7}{'alerts':>7}")
        rows = [*cycles, *(Measured(**w) for w in run["windows"])]  # type: ignore[union-attr]
        for m in rows:
            store = m.stages["ingest"] - m.stages["file"] - m.stages["alerts"]
            rate = m.entries / m.wall if m.entries else 0.0
            print(f"  {m.name:<24}{m.entries:>8}{m.wall:>9.1f}{m.cpu:>8.1f}{rate:>10.0f}{m.alerts:>8}"
                  f"{m.per_entry(m.stages['read']):>7.2f}{m.per_entry(m.stages['meaning']):>8.2f}"
                  f"{m.per_entry(m.stages['file']):>7.2f}"
                  f"{m.per_entry(store):>7.2f}{m.per_entry(m.stages['alerts']):>7.2f}")
        first, second = cycles
        windows = [Measured(**w) for w in run["windows"]]  # type: ignore[union-attr]
        empty, largest = windows[0], windows[-1]
        startup = run["startup"]
        print(f"  cycle 1: {first.entries / first.wall:.0f} entries/s end to end (target >= 200)")
        print(f"  cycle 2: {second.wall:.1f} s wall (target <= 60), CPU {second.cpu / first.cpu:.2f}x cycle 1's "
              "(target <= 0.2x)")
        print(f"  {args.batch:,} into {largest.name.split()[-1]}: {largest.cpu / empty.cpu:.2f}x the CPU of "
              f"{args.batch:,} into an empty window, {largest.wall / empty.wall:.2f}x the wall (target <= 1.5x)")
        print(f"  start-up with {startup['entries']} entries in the window, a new process: "  # type: ignore[index]
              f"{startup['wall']:.1f} s wall, {startup['cpu']:.1f} s CPU (target <= 30 s), "  # type: ignore[index]
              f"peak RSS {startup['peak_rss_mb']:.0f} MB")  # type: ignore[index]
        print(f"  peak RSS of the process that filed the whole window {run['peak_rss_mb']:.0f} MB (target <= 1 GB); "
              f"cycle phases with parse workers {run['cycle_peak_mb']:.0f} MB")
    print("\nbaseline: newsbot 0.1's credits and story index on the same kind of entries (bench/reference/)")
    credits = base["credits_ms"]
    print(f"  credits: {credits['newsbot']:.2f} ms/entry, 0.1: {credits['0.1']:.2f} ms/entry "  # type: ignore[index]
          f"({credits['0.1'] / credits['newsbot']:.1f}x; target <= 1 ms)")  # type: ignore[index]
    ours = {Measured(**w).name.split()[-1]: Measured(**w) for w in runs[0]["windows"]}  # type: ignore[union-attr]
    print(f"  {'window':>8}{'0.1 file+credits':>18}{'newsbot file':>14}{'ratio':>8}")
    for row in base["filing"]:  # type: ignore[union-attr]
        mine = ours.get(str(row["window"]))
        if mine is not None:
            file_ms = mine.per_entry(mine.stages["file"])
            print(f"  {row['window']:>8}{row['ms']:>18.1f}{file_ms:>14.2f}{row['ms'] / file_ms:>7.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--items", type=int, default=10)
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--batch", type=int, default=10_000, help="entries per window measurement")
    parser.add_argument("--windows", type=int, nargs="+", default=[10_000, 50_000, 200_000])
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    parser.add_argument("--pg-url", default=os.environ.get("NEWSBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test"))
    parser.add_argument("--baseline-sample", type=int, default=200)
    parser.add_argument("--baseline-max", type=int, default=50_000, help="largest window for 0.1's index")
    parser.add_argument("--no-meaning", action="store_true", help="stories.meaning: false (the signal off)")
    parser.add_argument("--one", help=argparse.SUPPRESS)
    parser.add_argument("--baseline-only", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--startup-of", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.startup_of:
        url, rules = args.startup_of
        print(json.dumps(asyncio.run(start_up(url, Path(rules)))))
        return
    if args.one:
        print(json.dumps(asyncio.run(one_database(args))))
        return
    if args.baseline_only:
        print(json.dumps(baseline(args)))
        return
    passed = [
        "--feeds", str(args.feeds), "--items", str(args.items), "--rules", str(args.rules), "--batch", str(args.batch),
        "--pg-url", args.pg_url, "--baseline-sample", str(args.baseline_sample),
        "--baseline-max", str(args.baseline_max), "--windows", *map(str, args.windows),
        *(["--no-meaning"] if args.no_meaning else []),
    ]
    runs = []
    for kind in args.databases:
        done = subprocess.run([sys.executable, __file__, *passed, "--one", kind], stdout=subprocess.PIPE, check=True)
        runs.append(json.loads(done.stdout.decode().strip().splitlines()[-1]))
    done = subprocess.run([sys.executable, __file__, *passed, "--baseline-only"], stdout=subprocess.PIPE, check=True)
    report(args, runs, json.loads(done.stdout.decode().strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
