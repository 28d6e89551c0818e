"""Trends at scale: a topic's 14-day trend over a 200,000-entry window on SQLite and PostgreSQL, against the same
counts computed without the volume rows; the spike check after a batch; what the volume rows cost filing; the
chart; and the spike rule's false alarms on the 24-outlet snapshot replayed as steady days.

Run: .venv/bin/python bench/trends.py [--entries 200000] [--databases sqlite postgresql] [--pg-url URL]
                                      [--false-alarms-only] [--replays 20]

The window: ENTRIES entries of the last 15 days in newsbot's own tables, written in bulk (filing 200,000
entries one batch at a time takes the pipeline bench's minutes and measures nothing here): events of one to
eight outlets' reports (55% told by one), each report published within an hour of the first and seen a few
minutes later; 60 topics, topic k matching an event's first report with probability 0.15 / (k + 1) (so
topic 0 matches about 15% of events, some 50 stories an hour) and each further report half as often. The
volume rows are then built by `refresh_volume` (what filing runs) over every story, chunk by chunk.

Measured, median of 7 after a warm-up, in this process:
- `load_trend` (what /trend and `newsbot trend` read): the largest topic over 14 days per day, five topics
  together, the largest per hour over 3 days;
- baseline, in the same run: the largest topic's 14-day counts per hour computed from entries and matches (the
  stories it matched among entries seen in 15 days, each story's first publication over its members, grouped
  by hour): the query the volume rows replace;
- the spike check of 20 topics (`SpikeCheck.check`, rolled back) and `refresh_volume` of a batch of 500
  stories (what one filed batch adds, rolled back);
then `newsbot trend` as a process on that database (terminal and --png, median of 3; `newsbot --help` for
scale), and the chart alone (matplotlib's import in a fresh process, and renders in this one).

False alarms: the snapshot's 25 feeds (file:// URLs) polled once by `poll_once` with the starter rules and 200
generated rules (bench/match.py's generator): its stories per topic are one steady day. Each replay gives
every topic that many stories on each of 15 days at uniformly random times (a Poisson-like steady volume),
then runs the spike test (`judge`, `plan_surge`: the live decision) every 10 minutes through the last day;
every surge opened is a false alarm.
"""

from __future__ import annotations

import argparse
import asyncio
import bisect
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import sqlalchemy as sa  # noqa: E402
import yaml  # noqa: E402

from bench.pipeline import fresh_database, write_rules  # noqa: E402

TOPICS = 60
SNAPSHOT = ROOT.parent / "shared" / "corpus" / "feeds" / "news_snapshot_2026-02-17"


def load() -> str:
    return os.getloadavg().__repr__()


async def median_ms(run: Callable[[], Awaitable[Any]], times: int = 7) -> float:
    await run()
    spent = []
    for _ in range(times):
        started = time.perf_counter()
        await run()
        spent.append(time.perf_counter() - started)
    return statistics.median(spent) * 1000


# ---------------------------------------------------------------- the window


async def fill_window(engine: Any, entries_wanted: int, now: datetime, seed: int = 5) -> dict[str, int]:
    """The synthetic window (see the module's docstring); returns the stories per topic."""
    from bot.store.tables import entries, feeds, matches
    from bot.store.volume import refresh_volume

    rng = random.Random(seed)
    async with engine.begin() as conn:
        await conn.execute(sa.insert(feeds), [
            {"id": n, "url": f"http://127.0.0.1:1/{n}.xml", "name": f"Outlet {n}", "created_at": now}
            for n in range(1, 201)
        ])  # fmt: skip
    rows, found, per_topic = [], [], dict.fromkeys((f"topic-{k}" for k in range(TOPICS)), 0)
    entry_id = 0
    while entry_id < entries_wanted:
        size = 1 if rng.random() < 0.55 else rng.randint(2, 8)
        first = now - timedelta(seconds=rng.uniform(0, 15 * 86400))
        topics = [f"topic-{k}" for k in range(TOPICS) if rng.random() < 0.15 / (k + 1)]
        story = entry_id + 1
        for member in range(size):
            entry_id += 1
            published = first + timedelta(minutes=rng.uniform(0, 60) if member else 0)
            rows.append({
                "id": entry_id, "feed_id": rng.randint(1, 200), "key_hash": f"{entry_id:064x}", "key": f"k{entry_id}",
                "url": f"https://o.example/{entry_id}", "outlet": f"Outlet {rng.randint(1, 200)}", "title": f"T{story}",
                "summary": "", "published_at": published, "seen_at": min(now, published + timedelta(minutes=5)),
                "story_id": story,
            })  # fmt: skip
            for topic in topics:
                if member == 0 or rng.random() < 0.5:
                    found.append({"entry_id": entry_id, "rule_id": topic, "rule_title": topic, "clauses": [],
                                  "created_at": now})  # fmt: skip
        for topic in topics:
            per_topic[topic] += 1
    async with engine.begin() as conn:
        for start in range(0, len(rows), 2000):
            await conn.execute(sa.insert(entries), rows[start : start + 2000])
        for start in range(0, len(found), 5000):
            await conn.execute(sa.insert(matches), found[start : start + 5000])
        if conn.dialect.name == "postgresql":
            await conn.execute(sa.text("SELECT setval('entries_id_seq', (SELECT max(id) FROM entries))"))
    started = time.perf_counter()
    stories = sorted({row["story_id"] for row in rows})
    for start in range(0, len(stories), 5000):
        async with engine.begin() as conn:
            await refresh_volume(conn, stories[start : start + 5000])
    if engine.dialect.name == "postgresql":
        async with engine.connect() as conn:
            await conn.execute(sa.text("ANALYZE"))
            await conn.commit()
    print(f"  window: {len(rows):,} entries, {len(stories):,} stories, {len(found):,} matches; volume rows for "
          f"every story in {time.perf_counter() - started:.1f} s", flush=True)  # fmt: skip
    return per_topic


async def naive_counts(engine: Any, rule_id: str, now: datetime) -> dict[int, int]:
    """The baseline: the same per-hour counts from entries and matches, without the volume rows."""
    from bot.store.tables import entries, matches
    from bot.store.volume import hour_of, member_time

    matched = (
        sa.select(entries.c.story_id)
        .join(matches, matches.c.entry_id == entries.c.id)
        .where(matches.c.rule_id == rule_id, entries.c.seen_at >= now - timedelta(days=15))
        .distinct()
        .subquery()
    )
    query = (
        sa.select(entries.c.story_id, sa.func.min(member_time()))
        .where(entries.c.story_id.in_(sa.select(matched.c.story_id)))
        .group_by(entries.c.story_id)
    )
    counts: dict[int, int] = {}
    async with engine.connect() as conn:
        for _, first in await conn.execute(query):
            if first >= now - timedelta(days=14):
                counts[hour_of(first)] = counts.get(hour_of(first), 0) + 1
    return counts


async def one_database(kind: str, args: argparse.Namespace, folder: Path) -> dict[str, float]:
    from bot.config import SpikesConfig, StoriesConfig
    from bot.deliver.sink import FanOut
    from bot.store.db import open_database
    from bot.store.volume import hour_of, hourly_counts, refresh_volume
    from bot.trends.series import load_trend
    from bot.trends.spike_check import SpikeCheck

    print(f"{kind}: filling the window", flush=True)
    now = datetime.now(UTC).replace(microsecond=0)
    async with fresh_database(kind, args.pg_url, folder) as url:  # type: ignore[attr-defined]
        engine = await open_database(url)
        per_topic = await fill_window(engine, args.entries, now)
        top = sorted(per_topic, key=per_topic.get, reverse=True)  # type: ignore[arg-type]
        settings = SpikesConfig()
        largest = {top[0]: top[0]}
        five = {rule: rule for rule in top[:5]}
        results: dict[str, float] = {"stories of the largest topic": per_topic[top[0]]}
        results["trend: largest topic, 14d per day"] = await median_ms(
            lambda: load_trend(engine, largest, timedelta(days=14), now, settings)
        )
        results["trend: five topics, 14d per day"] = await median_ms(
            lambda: load_trend(engine, five, timedelta(days=14), now, settings)
        )
        results["trend: largest topic, 3d per hour"] = await median_ms(
            lambda: load_trend(engine, largest, timedelta(days=3), now, settings)
        )
        baseline = "baseline: its 14d from entries and matches"
        results[baseline] = await median_ms(lambda: naive_counts(engine, top[0], now))
        async with engine.connect() as conn:  # the two ways agree
            rows = (await hourly_counts(conn, [top[0]], hour_of(now - timedelta(days=14)), hour_of(now)))[top[0]]
        naive = await naive_counts(engine, top[0], now)
        assert {h: c for h, c in rows.items() if h > hour_of(now - timedelta(days=14))} == {
            h: c for h, c in naive.items() if h > hour_of(now - timedelta(days=14))
        }, "the volume rows and the baseline disagree"
        check = SpikeCheck(engine, FanOut(), settings, StoriesConfig())
        twenty = {rule: rule for rule in top[:20]}

        async def spike_check() -> None:
            async with engine.connect() as conn:
                await check.check(conn, twenty, now)
                await conn.rollback()

        results["spike check of 20 topics"] = await median_ms(spike_check)
        batch = random.Random(3).sample(range(1, args.entries // 3), 500)

        async def refresh() -> None:
            async with engine.connect() as conn:
                await refresh_volume(conn, batch)
                await conn.rollback()

        results["refresh_volume, a batch of 500 stories"] = await median_ms(refresh)
        await engine.dispose()
        results.update(cli_runs(url, top[0], folder))
    return results


def cli_runs(url: str, topic: str, folder: Path) -> dict[str, float]:
    config = folder / "bench-config.yaml"
    rules = folder / "rules"
    rules.mkdir(exist_ok=True)
    (rules / f"{topic}.yaml").write_text(f"id: {topic}\ntitle: {topic}\nquery: x\n")
    config.write_text(yaml.safe_dump({"database": url, "rules": str(rules)}))
    found = {}
    for name, extra in (("terminal", []), ("--png", ["--png", str(folder / "chart.png")])):
        spent = []
        for _ in range(3):  # the first process after the bulk write also checkpoints SQLite's write-ahead log
            started = time.perf_counter()
            done = subprocess.run(
                [sys.executable, "-m", "bot", "trend", topic, "-c", str(config), *extra],
                capture_output=True, text=True, cwd=ROOT, timeout=300,
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            spent.append(time.perf_counter() - started)
        found[f"`newsbot trend` process, {name} (median of 3)"] = statistics.median(spent) * 1000
    started = time.perf_counter()
    subprocess.run([sys.executable, "-m", "bot", "--help"], capture_output=True, cwd=ROOT, check=True)
    found["for scale: `newsbot --help` process"] = (time.perf_counter() - started) * 1000
    return found


# ---------------------------------------------------------------- the chart


def chart_figures() -> dict[str, float]:
    from bot.trends.chart import render_png
    from bot.trends.series import TopicSeries, Trend

    fresh = subprocess.run(
        [sys.executable, "-c", "import time; t = time.perf_counter(); import matplotlib.figure, "
         "matplotlib.backends.backend_agg; print(time.perf_counter() - t)"],
        capture_output=True, text=True, cwd=ROOT, check=True,
    )  # fmt: skip
    rng = random.Random(1)
    start = datetime(2026, 2, 4, tzinfo=UTC)

    def topic(n: int, size: int) -> TopicSeries:
        counts = tuple(rng.randint(0, 9) for _ in range(size))
        return TopicSeries(f"t{n}", f"Topic {n}", counts, (3.0,) * size, tuple(c > 8 for c in counts))

    daily = Trend(start, timedelta(days=1), start + timedelta(days=14), timedelta(days=14), (topic(0, 14),))
    hourly = Trend(start, timedelta(hours=1), start + timedelta(days=3), timedelta(days=3), (topic(0, 72),))
    lines = Trend(start, timedelta(days=1), start + timedelta(days=14), timedelta(days=14),
                  tuple(topic(n, 14) for n in range(5)))  # fmt: skip
    found = {"matplotlib import, fresh process": float(fresh.stdout) * 1000}
    for name, trend in (("14 days, one topic", daily), ("72 hours, one topic", hourly), ("14 days, 5 topics", lines)):
        render_png(trend, "warm-up")
        spent = []
        for _ in range(5):
            started = time.perf_counter()
            png = render_png(trend, "Topic")
            spent.append(time.perf_counter() - started)
        found[f"render: {name} ({len(png) // 1024} kB)"] = statistics.median(spent) * 1000
    return found


# ---------------------------------------------------------------- false alarms


async def snapshot_day(folder: Path) -> dict[str, int]:
    """Stories per topic of the snapshot polled once with the starter and 200 generated rules."""
    from bot import starter
    from bot.app import poll_once
    from bot.config import Config, FeedConfig
    from bot.deliver.jsonl import JsonLinesSink
    from bot.store.db import open_database
    from bot.store.volume import topic_stories

    rules = folder / "snapshot-rules"
    rules.mkdir()
    write_rules(rules, 200)
    for path in starter.RULES.glob("*.yaml"):
        (rules / path.name).write_text(path.read_text())
    for path in (starter.RULES / "entities").glob("*.yaml"):
        (rules / "entities" / path.name).write_text(path.read_text())
    feeds = [FeedConfig(url=path.as_uri(), fulltext=False) for path in sorted(SNAPSHOT.glob("*.xml"))]
    url = f"sqlite:///{folder / 'snapshot.db'}"
    with open(os.devnull, "w") as quiet:
        await poll_once(Config(database=url, rules=rules, feeds=feeds), JsonLinesSink(quiet))
    engine = await open_database(url)
    async with engine.connect() as conn:
        query = sa.select(topic_stories.c.rule_id, sa.func.count()).group_by(topic_stories.c.rule_id)
        found = {rule: count for rule, count in await conn.execute(query)}
    await engine.dispose()
    return found


def replay(per_day: dict[str, int], replays: int, every: timedelta) -> dict[str, float]:
    from bot.alerts.spikes import DAY, HOUR, Sample, judge, plan_surge, sample_at
    from bot.config import SpikesConfig

    settings = SpikesConfig()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    checks = alarms = 0
    topics_alarmed: dict[str, int] = {}
    for seed in range(replays):
        rng = random.Random(seed)
        for rule, count in per_day.items():
            times = sorted(start + timedelta(seconds=rng.uniform(0, 86400)) + day * DAY for day in range(15)
                           for _ in range(count))  # fmt: skip
            surge = None
            moment = start + 14 * DAY + every
            while moment <= start + 15 * DAY:
                counts = []
                for day in range(15):
                    end = moment - day * DAY
                    counts.append(bisect.bisect_right(times, end) - bisect.bisect_right(times, end - HOUR))
                sample = Sample(counts[0], tuple(counts[1:]))
                if checks < 50:  # the bisection counts what the live check counts
                    assert sample == sample_at(times, moment, start, 14)
                plan = plan_surge(surge, judge(sample, settings), moment, settings.cooldown)
                if plan is not None:
                    if plan.surge.number != (surge.number if surge else 0):
                        alarms += 1
                        topics_alarmed[rule] = topics_alarmed.get(rule, 0) + 1
                    surge = plan.surge
                checks += 1
                moment += every
    return {"checks": checks, "false alarms": alarms, "topics with one": len(topics_alarmed)}


# ---------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--entries", type=int, default=200_000)
    parser.add_argument("--databases", nargs="+", default=["sqlite", "postgresql"])
    default_pg = os.environ.get("NEWSBOT_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
    parser.add_argument("--pg-url", default=default_pg)
    parser.add_argument("--false-alarms-only", action="store_true")
    parser.add_argument("--replays", type=int, default=20)
    args = parser.parse_args()
    print(f"load average at start: {load()}", flush=True)
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-trends-") as name:
        folder = Path(name)
        if not args.false_alarms_only:
            runs = {kind: asyncio.run(one_database(kind, args, folder)) for kind in args.databases}
            names = list(next(iter(runs.values())))
            print(f"\nTrends over a {args.entries:,}-entry window (ms, median of 7)")
            print(f"| measured | {' | '.join(runs)} |\n|---|{'---|' * len(runs)}")
            for measured in names:
                print(f"| {measured} | {' | '.join(f'{runs[kind][measured]:,.1f}' for kind in runs)} |")
            for kind, found in runs.items():
                ratio = found["baseline: its 14d from entries and matches"] / found["trend: largest topic, 14d per day"]
                print(f"{kind}: the 14-day trend is {ratio:,.0f}x faster than the baseline")
            print("\nThe chart (ms)")
            for measured, value in chart_figures().items():
                print(f"| {measured} | {value:,.0f} |")
        if SNAPSHOT.exists():
            per_day = asyncio.run(snapshot_day(folder))
            busy = {rule: count for rule, count in per_day.items() if count}
            found = replay(busy, args.replays, timedelta(minutes=10))
            sizes = sorted(busy.values())
            print(f"\nFalse alarms: the snapshot as a steady day, {len(busy)} topics with stories "
                  f"(stories per topic-day: median {statistics.median(sizes)}, max {sizes[-1]}), {args.replays} "
                  f"replays of 15 days, checked every 10 min through the last day")  # fmt: skip
            print(f"| checks | false alarms | topics with one |\n|---|---|---|\n"
                  f"| {found['checks']:,} | {found['false alarms']} | {found['topics with one']} |")  # fmt: skip
        else:
            print(f"\n(false alarms skipped: no snapshot at {SNAPSHOT})")
    print(f"load average at the end: {load()}")


if __name__ == "__main__":
    main()
