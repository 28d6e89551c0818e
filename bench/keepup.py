"""Keep-up: how far behind a desk's `newsbot run` files entries published at a steady rate.

Run: .venv/bin/python bench/keepup.py [--rates 10 100] [--duration 120] [--watch 300] [--feeds 50]
                                      [--every 3s] [--keep 40] [--rules 1000] [--no-meaning] [--verbose]

For each RATE, the real daemon (bench/tree_daemon.py: `python -m bot run` of this checkout, one process,
SQLite, a fresh database) runs with the meaning signal on as installed (`stories.meaning: true`), then off
(`stories.meaning: false`, the baseline, in the same run; `--no-meaning` runs only that). Its FEEDS feeds
are served by this process on 127.0.0.1 (one port each, so each is a host of its own; ETags, so an
unchanged feed answers 304; each keeps its newest KEEP items) and polled as a desk's feeds are, without
`every`: adaptive, here within polling.min_interval = max_interval = EVERY, each poll moved later by up to
half of it (polling.jitter 0.5), so the polls spread out instead of lining up (feeds on this machine have
no floor). Once the daemon has polled every feed and restored its story window, new items are
published at RATE a second, each to a feed drawn at random, for DURATION seconds: bench/newsgen.py's
news-like items (real corpus headlines and sentences recombined into events that one to eight outlets
report), so consecutive reports of one event land on different feeds within seconds. The rules are
bench/pipeline.py's 1,000 generated rule files, followed by its 20 chats (50 topics each) at the fake Bot
API of tests/e2e in this process: alerts take the whole real way, outbox and paced sends included.

Every second this process reads the daemon's database read-only (WAL: it never blocks the writer): the
entries filed (the `entries` table) and those stored but not filed yet (`unfiled`). Per run, over the
steady part (from WARMUP seconds after the first item until the last is published):
- backlog: items published and not yet filed (polled or not), and of them stored, waiting to be filed;
- lag: the age of the oldest published item not yet filed; filing lag: the same counted from when the feed
  first served it to the daemon (what polling's wait leaves out);
- caught up: seconds from the last item's publication until every item was filed (watched up to WATCH s);
- CPU of the daemon and its parse workers as a share of one core, and of this process (the feeds and
  the fake Bot API share the machine's two cores); peak RSS of the daemon (VmHWM), parse workers apart;
- the filer's time (the daemon's metrics endpoint, newsbot_stage_seconds_total) in ms per entry filed
  and its busy share: the ingest transactions' wall time over the steady part's wall time.
Items that left their feed (its newest KEEP) before the daemon stored them are lost (none, unless polling
falls behind); failed polls are the metrics' newsbot_feed_errors_total.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import socket
import sqlite3
import sys
import tempfile
import time
from contextlib import AsyncExitStack
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from prometheus_client.parser import text_string_to_metric_families  # noqa: E402

from bench.cluster import cpu_seconds  # noqa: E402
from bench.newsgen import Item, Material, NewsGenerator, load_material, rss_item  # noqa: E402
from bench.pipeline import CHATS, STAGES, fresh_database, subscribe_chats, write_rules  # noqa: E402
from bench.poll import descendants, peak_rss_mb  # noqa: E402
from bench.tree_daemon import TOKEN, FeedServer, feed_settings, log_tail, start_run, stop, write_config  # noqa: E402
from tests.e2e.fake_botapi import FakeBotApi  # noqa: E402

JITTER = 0.5
"""Each poll moves later by up to half the interval (polling.jitter), so the feeds' polls spread out."""
STARTED = "story window restored"
"""The daemon's log line once the ingest role has restored its window (and loaded the model): ready."""


@dataclass(frozen=True, slots=True)
class Sample:
    """One second's look at the daemon's database; `at` counts from the first item's publication."""

    at: float
    published: int
    filed: int
    unfiled: int
    backlog: int
    lag: float
    filing_lag: float


@dataclass
class Run:
    """One daemon at one rate, the signal on or off."""

    rate: float
    meaning: bool
    samples: list[Sample] = field(default_factory=list)
    published: int = 0
    filed: int = 0
    lost: int = 0
    caught_up: float | None = None
    cpu: float = 0.0
    bench_cpu: float = 0.0
    peak_mb: float = 0.0
    workers_mb: float = 0.0
    stages: dict[str, float] = field(default_factory=dict)
    stage_entries: int = 0
    busy: float = 0.0
    sent: int = 0
    polls: int = 0
    failed_polls: int = 0
    warnings: list[str] = field(default_factory=list)
    error: str = ""


def free_port() -> int:
    """A port free on 127.0.0.1 now (for the daemon's metrics endpoint)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def daemon_metrics(session: aiohttp.ClientSession, port: int) -> dict[str, float]:
    """From the daemon's metrics endpoint: newsbot_stage_seconds_total by stage, and its polls (all, failed)."""
    async with session.get(f"http://127.0.0.1:{port}/metrics") as response:
        text = await response.text()
    found = dict.fromkeys([*STAGES, "polls", "failed polls"], 0.0)
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == "newsbot_stage_seconds_total":
                found[sample.labels["stage"]] = sample.value
            elif sample.name == "newsbot_polls_total":
                found["polls"] += sample.value
            elif sample.name == "newsbot_feed_errors_total":
                found["failed polls"] = sample.value
    return found


class Ledger:
    """Every item published: when, to which feed, and whether the daemon filed it yet."""

    def __init__(self, feeds: list[FeedServer]) -> None:
        self.feeds = feeds
        self.published: dict[str, float] = {}
        self.feed_of: dict[str, FeedServer] = {}
        self.waiting: set[str] = set()
        self.filed = 0
        self.lost: set[str] = set()
        self._last_id = 0

    def publish(self, n: int, item: Item) -> None:
        """Item to feed `n`, published now."""
        feed = self.feeds[n]
        feed.publish(item.guid, rss_item(f"https://outlet{n}.example", replace(item, published=datetime.now(UTC))))
        self.published[item.guid] = feed.published[item.guid]
        self.feed_of[item.guid] = feed
        self.waiting.add(item.guid)

    async def read(self, database: sqlite3.Connection) -> set[str]:
        """Note the entries filed since the last look; returns the guids stored but waiting to be filed."""

        def look() -> tuple[list[tuple[int, str]], set[str]]:
            # unfiled first: an entry filed between the two reads is then seen in both, never in neither
            unfiled = {guid for (guid,) in database.execute("SELECT guid FROM unfiled")}
            query = "SELECT id, guid FROM entries WHERE id > ? ORDER BY id"
            return database.execute(query, (self._last_id,)).fetchall(), unfiled

        rows, unfiled = await asyncio.to_thread(look)
        for row_id, guid in rows:
            self._last_id = max(self._last_id, row_id)
            if guid in self.published:
                self.filed += 1
                self.waiting.discard(guid)
                self.lost.discard(guid)  # gone from its feed while a poll was storing it
        return unfiled

    def sample(self, at: float, unfiled: set[str]) -> Sample:
        """Items gone from their feed before the daemon stored them are lost, no longer waiting."""
        gone = set().union(*(feed.gone for feed in self.feeds))
        lost = (self.waiting & gone) - unfiled
        self.waiting -= lost
        self.lost |= lost
        now = time.time()
        ages = [now - self.published[guid] for guid in self.waiting]
        served = [now - s for guid in self.waiting if (s := self.feed_of[guid].first_served.get(guid)) is not None]
        return Sample(at, len(self.published), self.filed, len(unfiled), len(self.waiting), max(ages, default=0.0),
                      max(served, default=0.0))


async def publish(ledger: Ledger, items: list[Item], rate: float, seed: int) -> None:
    """Each item at its time (item n at n / rate seconds), to a feed drawn at random."""
    rng = random.Random(seed)
    start = time.monotonic()
    for n, item in enumerate(items):
        delay = start + n / rate - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)
        ledger.publish(rng.randrange(len(ledger.feeds)), item)


async def until_ready(process: asyncio.subprocess.Process, feeds: list[FeedServer], log: Path) -> None:
    """Until the daemon polled every feed twice (the first poll of a feed never alerts) and restored its window."""
    deadline = time.monotonic() + 300
    while not (all(feed.requests >= 2 for feed in feeds) and STARTED in log.read_text(errors="replace")):
        if process.returncode is not None or time.monotonic() > deadline:
            raise RuntimeError("the daemon did not start")
        await asyncio.sleep(0.2)


async def keep_up(args: argparse.Namespace, rate: float, meaning: bool, material: Material, rules: Path,
                  topics: list[str]) -> Run:
    """One daemon, fed at `rate` for the duration, watched until it caught up or the watch ran out."""
    result = Run(rate, meaning)
    items = list(NewsGenerator(material, 20261207).items(round(rate * args.duration), datetime.now(UTC),
                                                         timedelta(0)))
    with tempfile.TemporaryDirectory(prefix="newsbot-keepup-") as tmp:
        folder = Path(tmp)
        log = folder / "run.log"
        async with AsyncExitStack() as stack:
            url = str(await stack.enter_async_context(fresh_database("sqlite", "", folder)))
            feeds = [await stack.enter_async_context(FeedServer(keep=args.keep, etags=True))
                     for _ in range(args.feeds)]
            api = await stack.enter_async_context(FakeBotApi(TOKEN))
            session = await stack.enter_async_context(aiohttp.ClientSession())
            await subscribe_chats(url, topics)
            for chat in range(1, CHATS + 1):
                api.private_chat(chat)
            port = free_port()
            listed = [feed_settings(feed.url, f"Outlet {n}", None, 0) for n, feed in enumerate(feeds)]
            polling = {"min_interval": args.every, "max_interval": args.every, "jitter": JITTER}
            more = {"polling": polling, "stories": {"meaning": meaning}, "metrics_port": port}
            config = write_config(folder, ROOT, url, listed, api.base_url, rules=rules, more=more)
            process = await start_run(ROOT, config, log)
            try:
                await until_ready(process, feeds, log)
                await watch(args, result, process, Ledger(feeds), items, url.removeprefix("sqlite:///"), session, port)
                result.sent = len(api.all_sent())
            except RuntimeError as error:
                result.error = f"{error}: {log_tail(log)}"
            finally:
                await stop(process)
                result.warnings = [line for line in log.read_text(errors="replace").splitlines() if "WARNING" in line]
    return result


async def watch(args: argparse.Namespace, result: Run, process: asyncio.subprocess.Process, ledger: Ledger,
                items: list[Item], path: str, session: aiohttp.ClientSession, port: int) -> None:
    """Publish, sample every second, and take the CPU and the filer's stages at the steady part's ends."""
    database = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
    warmup = steady_from(args)
    started, end = time.monotonic(), 0.0
    publishing = asyncio.create_task(publish(ledger, items, result.rate, 7))
    marks: list[tuple[float, float, float, dict[str, float], int]] = []  # wall, daemon CPU, own CPU, stages, filed

    async def mark() -> None:
        own = os.times()
        stages = await daemon_metrics(session, port)
        marks.append((time.monotonic(), cpu_seconds([process.pid]), own.user + own.system, stages, ledger.filed))

    try:
        while True:
            await asyncio.sleep(1 - (time.monotonic() - started) % 1)
            if process.returncode is not None:
                raise RuntimeError(f"the daemon stopped (exit {process.returncode})")
            at = time.monotonic() - started
            unfiled = await ledger.read(database)
            result.samples.append(ledger.sample(at, unfiled))
            if args.verbose:
                print(f"    {result.samples[-1]}", file=sys.stderr, flush=True)
            if not marks and at >= warmup:
                await mark()
            if publishing.done() and len(marks) == 1:
                end = at
                await mark()
            if publishing.done() and (not ledger.waiting or at - end > args.watch):
                break
    finally:
        publishing.cancel()
        database.close()
    if not ledger.waiting:
        result.caught_up = result.samples[-1].at - args.duration
    await mark()
    (wall0, cpu0, own0, stages0, filed0), (wall1, cpu1, own1, stages1, _), (_, _, _, stages2, filed2) = marks
    result.cpu, result.bench_cpu = (cpu1 - cpu0) / (wall1 - wall0), (own1 - own0) / (wall1 - wall0)
    result.busy = (stages1["ingest"] - stages0["ingest"]) / (wall1 - wall0)
    result.stages = {stage: stages2[stage] - stages0[stage] for stage in STAGES}
    result.stage_entries = filed2 - filed0
    result.polls, result.failed_polls = int(stages2["polls"]), int(stages2["failed polls"])
    result.published, result.filed, result.lost = len(ledger.published), ledger.filed, len(ledger.lost)
    result.peak_mb = peak_rss_mb([process.pid])
    result.workers_mb = peak_rss_mb(descendants(process.pid, -1))
    result.samples = [s for s in result.samples if s.at >= warmup]


def steady_from(args: argparse.Namespace) -> float:
    """Seconds after the first item when the steady part starts: the warm-up, at most a quarter of the run."""
    return float(min(args.warmup, args.duration / 4))


def percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


def report(args: argparse.Namespace, runs: list[Run]) -> None:
    print(f"Keep-up of `newsbot run` (SQLite, one process): {args.feeds} feeds polled every {args.every} + up to "
          f"{JITTER:.0%} (newest {args.keep} items each), {args.rules} rules, {CHATS} chats at the fake Bot API; items "
          f"published {args.duration:.0f} s at each rate, steady part from {steady_from(args):.0f} s; "
          f"load average at the end {os.getloadavg()[0]:.1f} ({os.cpu_count()} cores)")
    print("| rate /s | meaning | published | filed | lost | backlog p50 / p95 / max | of it stored, max | "
          "lag p50 / p95 / max s | filing lag p50 / p95 / max s | caught up after | daemon CPU | bench CPU | "
          "peak RSS MB (workers) | messages | polls failed |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")

    def three(values: list[float], form: str) -> str:
        return " / ".join(format(percentile(values, share), form) for share in (0.5, 0.95, 1.0))

    for run in runs:
        steady = [s for s in run.samples if s.at <= args.duration]
        if run.error:
            print(f"| {run.rate:g} | {'on' if run.meaning else 'off'} | failed: {run.error[:300]} |")
            continue
        caught = f"{run.caught_up:.0f} s" if run.caught_up is not None else f"no (after {args.watch:.0f} s)"
        print(f"| {run.rate:g} | {'on' if run.meaning else 'off'} | {run.published:,} | {run.filed:,} | {run.lost} | "
              f"{three([s.backlog for s in steady], '.0f')} | {max((s.unfiled for s in steady), default=0)} | "
              f"{three([s.lag for s in steady], '.1f')} | {three([s.filing_lag for s in steady], '.1f')} | "
              f"{caught} | {run.cpu:.0%} | {run.bench_cpu:.0%} | {run.peak_mb:.0f} ({run.workers_mb:.0f}) | "
              f"{run.sent:,} | {run.failed_polls} of {run.polls:,} |")
    print("\nThe filer, from the steady part's start to the end (metrics): ms per entry filed (meaning: wall time "
          "embedding, ahead of the transaction and in it); busy = ingest transactions' wall time over the steady "
          "part's")
    print("| rate /s | meaning | entries | read | meaning | file (in the transaction) | alerts | "
          "ingest (transaction) | busy |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|")
    for run in runs:
        if run.error:
            continue
        per = {stage: 1000 * seconds / max(run.stage_entries, 1) for stage, seconds in run.stages.items()}
        print(f"| {run.rate:g} | {'on' if run.meaning else 'off'} | {run.stage_entries:,} | {per['read']:.2f} | "
              f"{per['meaning']:.2f} | {per['file']:.2f} | {per['alerts']:.2f} | {per['ingest']:.2f} | "
              f"{run.busy:.0%} |")


async def run(args: argparse.Namespace) -> list[Run]:
    material = load_material()
    with tempfile.TemporaryDirectory(prefix="newsbot-keepup-rules-") as tmp:
        rules = Path(tmp) / "rules"
        topics = write_rules(rules, args.rules)
        runs = []
        for rate in args.rates:
            for meaning in [False] if args.no_meaning else [True, False]:
                result = await keep_up(args, rate, meaning, material, rules, topics)
                left = result.samples[-1].backlog if result.samples else "?"
                print(f"  {rate:g}/s meaning {'on' if meaning else 'off'}: {result.filed} of {result.published} "
                      f"filed, {result.lost} lost, {left} waiting at the end {result.error[:200]}", file=sys.stderr)
                if result.warnings:
                    print(f"    {len(result.warnings)} warnings in the daemon's log, the first and last:\n      "
                          f"{result.warnings[0][:400]}\n      {result.warnings[-1][:400]}", file=sys.stderr, flush=True)
                runs.append(result)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=float, nargs="+", default=[10, 100], help="items published a second")
    parser.add_argument("--duration", type=float, default=120, help="seconds of publishing")
    parser.add_argument("--warmup", type=float, default=20, help="seconds before the steady part (at most a quarter)")
    parser.add_argument("--watch", type=float, default=300, help="seconds to wait after publishing for catching up")
    parser.add_argument("--feeds", type=int, default=50)
    parser.add_argument("--every", default="3s", help="the feeds' poll interval, before the jitter")
    parser.add_argument("--keep", type=int, default=40, help="items a feed keeps (its newest)")
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--verbose", action="store_true", help="print every sample")
    parser.add_argument("--no-meaning", action="store_true", help="only stories.meaning: false (the signal off)")
    args = parser.parse_args()
    report(args, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
