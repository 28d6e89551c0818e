"""Poll -> message latency through the real daemon: from an item's publication to Telegram accepting its message.

Run: .venv/bin/python bench/latency.py [--tree DIR ...] [--database sqlite postgresql] [--items 30]
                                       [--spacing 1.5] [--every 1s]

Each checkout (this one, then every --tree: the baselines, in the same run) runs `newsbot run` as a user
does (bench/tree_daemon.py: a subprocess with the checkout's own code, one process, a fresh database it
migrated itself; PostgreSQL a throwaway database per run). Its one feed, on 127.0.0.1, is served by this
process and polled `every` (1s by default; feeds on this machine have no floor) without full text; one chat
follows the starter rule troop-deployment at the fake Bot API of tests/e2e, also in this process. Once the
daemon has polled the empty feed, a first matching item is published and its message awaited (the first
item after a start also pays for what the daemon loads at its first use; reported apart), then ITEMS
matching items about SPACING seconds apart (uniform within +-1/3, seeded), each a story of its own (another
event, other names), so each is one new message. The chat's messages are paced as Telegram asks
(one a second in a private chat), so items closer together than that would measure the pace, not the
pipeline.

Per item, on one clock (this process: the feed server and the fake Bot API):
- latency: when the fake Bot API accepted the sendMessage naming the item, minus when the feed server
  published it;
- waiting for the poll: when the feed server first answered a poll with the item, minus its publication
  (the item waits for the next poll; about `every` plus a poll's own time at most);
- the pipeline adds: latency minus waiting for the poll (the fetch's answer, parse, filing, telling, the
  outbox and the send). Target: p95 <= 2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

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

SETTLE = 2.0
"""Seconds the daemon runs after its first polls of the empty feed before the first item."""
DRAIN = 20.0
"""Seconds allowed after the last item for the messages still on their way."""


@dataclass
class Timed:
    tree: Path
    database: str
    latency: list[float] = field(default_factory=list)
    waiting: list[float] = field(default_factory=list)
    adds: list[float] = field(default_factory=list)
    missing: int = 0
    first: tuple[float, float] | None = None
    error: str = ""


EVENTS = [
    "{a} sends soldiers to fight wildfires in the hills above {b}",
    "Flood relief: {a} deploys troops to rebuild bridges washed away near {b}",
    "{a} dispatches military personnel to guard polling stations in {b}'s election",
    "Peacekeeping: {a} sends troops to {b} under a United Nations mandate",
    "{a} deploys soldiers to secure the football final in {b}",
    "Cyclone warning: {a} sends military personnel to evacuate islanders off {b}",
    "{a} dispatches troops to its border with {b} as refugees arrive",
    "Vaccination drive: {a} deploys army medics and soldiers to remote villages of {b}",
    "{a} sends ground forces into {b} after a rebel offensive on the capital",
    "Earthquake in {b}: {a} dispatches soldiers with rescue dogs to the rubble",
    "{a} will send troops to train {b}'s new coast guard, the defence ministry says",
    "Oil spill: {a} deploys soldiers to clean beaches around {b}",
    "{a} sends troops to protect the ancient temples of {b} from looters",
    "Strike at the ports: {a} deploys military personnel to unload food ships in {b}",
    "{a} dispatches soldiers to clear landmines from farmland near {b}",
    "Locust swarm: {a} sends troops with sprayers to the fields of {b}",
    "{a} deploys ground forces for a joint winter exercise with {b} in the Arctic",
    "Heatwave: {a} sends soldiers to deliver water to elderly residents of {b}",
    "{a} dispatches troops to escort a grain convoy through {b}",
    "Bird flu: {a} deploys soldiers to cull poultry on farms around {b}",
    "{a} sends military personnel to rebuild the hospital bombed in {b}",
    "Snowstorm: {a} dispatches troops to dig out motorists stranded near {b}",
    "{a} deploys soldiers to protect the pipeline that crosses {b}",
    "Anti-piracy mission: {a} sends troops aboard merchant ships off {b}",
    "{a} dispatches soldiers to build a field bridge over the river at {b}",
    "Summit security: {a} deploys troops around the conference centre in {b}",
    "{a} sends soldiers to fight a cholera outbreak in the camps of {b}",
    "Volcano erupts: {a} dispatches military personnel to evacuate towns below {b}",
    "{a} deploys troops to guard the nuclear plant at {b} after drone sightings",
    "Drought: {a} sends soldiers to drill wells for herders in {b}",
    "{a} dispatches troops to restore power lines toppled by storms in {b}",
    "Election unrest: {a} deploys soldiers to patrol the streets of {b}",
]
"""Events of different meaning, each naming a troop deployment (the starter rule troop-deployment)."""


def word(rng: random.Random, syllables: int) -> str:
    parts = ["bar", "vel", "quo", "zin", "tor", "mek", "lun", "dra", "sif", "gor", "pal", "ket", "wim", "rax",
             "nol", "fey", "jub", "hor", "cyl", "tam", "oxi", "bre", "vun", "sol"]
    return "".join(rng.choice(parts) for _ in range(syllables))


def item(n: int, rng: random.Random) -> tuple[str, str, str]:
    """Key, a title naming the item (a word no other item has), and a text: an event of its own, in other
    words and with other names than every other item, so it is a story of its own."""
    mark, place, minister = f"{word(rng, 3).capitalize()}{n}", word(rng, 3).capitalize(), word(rng, 3).capitalize()
    title = EVENTS[n % len(EVENTS)].format(a=mark, b=place)
    text = f"{title}. Defence minister {minister} confirmed the order on {word(rng, 2)} radio."
    return f"item{n}", title, text


def percentile(values: list[float], share: float) -> float:
    """Nearest rank."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)] if ordered else float("nan")


async def timed(tree: Path, args: argparse.Namespace, database: str) -> Timed:
    result = Timed(tree, database)
    folder = Path(tempfile.mkdtemp(prefix=f"newsbot-latency-{tree.name}-{database}-"))
    log = folder / "run.log"
    made: str  # fresh_database's URL
    async with fresh_database(database, args.pg_url, folder) as made, FeedServer() as feed, TimedBotApi(TOKEN) as api:
        url = str(made)
        try:
            subscribe_in(tree, url)
        except Exception as error:  # an older tree's failure is a result
            stderr = getattr(error, "stderr", "") or str(error)
            result.error = "could not migrate or subscribe: " + " | ".join(stderr.strip().splitlines()[-3:])
            return result
        api.private_chat(READER)
        config = write_config(folder, tree, url, [feed_settings(feed.url, "Wire", args.every, 0)], api.base_url)
        process = await start_run(tree, config, log)
        rng = random.Random(19)
        first, *items = [item(n, rng) for n in range(args.items + 1)]
        started = time.monotonic()
        try:
            while not (feed.requests >= 2 and any(method == "getupdates" for method, _ in api.calls)):
                if process.returncode is not None or time.monotonic() - started > 120:
                    raise RuntimeError("the daemon did not start")
                await asyncio.sleep(0.05)
            await asyncio.sleep(SETTLE)
            feed.publish(first[0], rss_item(*first, time.time()))
            deadline = time.monotonic() + DRAIN
            while not api.accepted and time.monotonic() < deadline and process.returncode is None:
                await asyncio.sleep(0.05)
            await asyncio.sleep(args.spacing)
            for key, title, text in items:
                feed.publish(key, rss_item(key, title, text, time.time()))
                await asyncio.sleep(args.spacing * rng.uniform(2 / 3, 4 / 3))
                if process.returncode is not None:
                    raise RuntimeError("the daemon stopped")
            deadline = time.monotonic() + DRAIN
            while len(api.accepted) < len(items) + 1 and time.monotonic() < deadline and process.returncode is None:
                await asyncio.sleep(0.1)
        except RuntimeError as error:
            result.error = f"{error}: {log_tail(log)}"
        finally:
            status = await stop(process)
        if args.verbose:
            print(f"    refused by the fake Bot API: {api.rejections}", file=sys.stderr)
        for n, (key, title, _) in enumerate([first, *items]):
            mark = next(each for each in title.split() if each[-1].isdigit())
            sent = [at for at, chat, text in api.accepted if chat == READER and mark in text]
            if not sent or key not in feed.first_served:
                result.missing += n > 0
                continue
            published, served = feed.published[key], feed.first_served[key]
            if args.verbose:
                print(f"    {key}: published {published - feed.published[first[0]]:6.2f} s, polled "
                      f"+{served - published:.2f} s, sent +{sent[0] - served:.2f} s", file=sys.stderr)
            if n == 0:
                result.first = (sent[0] - published, sent[0] - served)
                continue
            result.latency.append(sent[0] - published)
            result.waiting.append(served - published)
            result.adds.append(sent[0] - served)
        if result.missing == len(items) and not result.error:
            result.error = f"no message (exit {status}): {log_tail(log)}"
    return result


def report(args: argparse.Namespace, runs: list[Timed]) -> None:
    print(f"Poll -> message through `newsbot run`, {args.items} items ~{args.spacing} s apart, `every: {args.every}` "
          f"(load average at the end: {os.getloadavg()[0]:.1f})")
    print("| tree | database | items sent | latency p50 / p95 / max s | waiting for the poll p50 / p95 / max s | "
          "the pipeline adds p50 / p95 / max s | this tree against it (adds p95) | first item: latency / adds s |")
    print("|---|---|---:|---:|---:|---:|---:|---:|")
    ours = {run.database: run for run in runs if run.tree == ROOT}

    def three(values: list[float]) -> str:
        if not values:
            return ""
        return f"{percentile(values, 0.5):.2f} / {percentile(values, 0.95):.2f} / {max(values):.2f}"

    for run in runs:
        mine = ours.get(run.database)
        against = ""
        if mine and run.tree != ROOT and mine.adds and run.adds:
            against = f"{percentile(mine.adds, 0.95) / percentile(run.adds, 0.95):.2f}x"
        sent = f"{len(run.latency)} of {args.items}" if not run.error or run.latency else "failed"
        note = f" ({run.error[:300]})" if run.error else ""
        first = f"{run.first[0]:.2f} / {run.first[1]:.2f}" if run.first else ""
        print(f"| {run.tree.name}{note} | {run.database} | {sent} | {three(run.latency)} | {three(run.waiting)} | "
              f"{three(run.adds)} | {against} | {first} |")


async def run(args: argparse.Namespace) -> list[Timed]:
    runs = []
    for database in args.database:
        for tree in [ROOT, *args.tree]:
            result = await timed(tree, args, database)
            adds = f"adds p95 {percentile(result.adds, 0.95):.2f} s" if result.adds else ""
            print(f"  {tree.name} {database}: {len(result.latency)} items, {adds} {result.error[:200]}",
                  file=sys.stderr, flush=True)
            runs.append(result)
    return runs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", nargs="*", type=Path, default=[], help="other newsbot checkouts (baselines)")
    parser.add_argument("--database", nargs="+", choices=("sqlite", "postgresql"), default=["sqlite", "postgresql"])
    parser.add_argument("--items", type=int, default=30)
    parser.add_argument("--spacing", type=float, default=1.5, help="mean seconds between two items")
    parser.add_argument("--every", default="1s", help="the feed's poll interval")
    parser.add_argument("--verbose", action="store_true", help="print each item's times")
    parser.add_argument("--pg-url", default=os.environ.get("NEWSBOT_TEST_PG_URL",
                                                          "postgresql://postgres@127.0.0.1:5432/test"))
    args = parser.parse_args()
    args.tree = [tree.resolve() for tree in args.tree]
    report(args, asyncio.run(run(args)))


if __name__ == "__main__":
    main()
