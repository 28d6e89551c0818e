"""One poll cycle of 10,000 feeds on 50 hosts, against a plain fetch-and-parse baseline.

Run: .venv/bin/python bench/poll.py [--feeds 10000] [--hosts 50] [--concurrency 50] [--per-host 4]

A separate server process (aiohttp on 127.0.0.1, one port per virtual host) serves the feeds, so this
process's CPU is only the poller's. Bodies are the real news feeds of ../shared/corpus up to 60 kB
(synthetic RSS of the same size when the corpus is absent). Kinds, spread evenly over the hosts:
70% answer 304 to a conditional GET, 15% send the same body without validators, 10% change on every
request as a news feed does (one new item at the top, the oldest dropping off the end), 5% are slow
(2 s) or failing (503 with Retry-After, or hanging past the read timeout).

Printed: wall time of one steady-state cycle (after a first cycle that learns the validators), CPU per
feed for each kind (this process plus its parse worker processes), peak memory, the most requests any
host saw at once (counted by the server), and the same figures for the baseline: a plain GET of every
feed and a parse of every body, with no conditional GET and no hashing.
"""

from __future__ import annotations

import argparse
import asyncio
import multiprocessing
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from aiohttp import web  # noqa: E402

from bot.fetch.http import USER_AGENT, Fetcher, FetchLimits  # noqa: E402
from bot.fetch.limits import HostLimiter  # noqa: E402
from bot.fetch.parse_pool import ParsePool  # noqa: E402
from bot.fetch.poll import Poller, poll_feed  # noqa: E402
from bot.model import FeedState  # noqa: E402
from bot.parse.feed import FeedParseError  # noqa: E402
from bot.parse.items import scan_items  # noqa: E402

SNAPSHOT = ROOT.parent / "shared" / "corpus" / "feeds" / "news_snapshot_2026-02-17"
KINDS = ("304", "unchanged", "changed", "slow/failing")
SLOW_SECONDS = 2.0
HANG_SECONDS = 30.0
READ_TIMEOUT = 5.0
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def kind_of(feed: int, hosts: int) -> str:
    """70/15/10/5 per cent, the same mix on every host (feed n lives on host n % hosts)."""
    slot = (feed // hosts) % 20
    if slot < 14:
        return "304"
    if slot < 17:
        return "unchanged"
    if slot < 19:
        return "changed"
    return "slow/failing"


def failure_mode(feed: int, hosts: int) -> str:
    return ("slow", "slow", "503", "hang")[(feed // (hosts * 20)) % 4]


def load_bodies() -> list[bytes]:
    if SNAPSHOT.is_dir():
        bodies = [p.read_bytes() for p in sorted(SNAPSHOT.glob("*.xml")) if p.stat().st_size <= 60_000]
        if bodies:
            return bodies
    words = "minister troops border talks election market storm court energy ceasefire summit".split()
    items = "".join(
        f"<item><title>Story {n} {' '.join(words[(n + k) % len(words)] for k in range(8))}</title>"
        f"<link>https://synthetic.example/{n}</link><guid>urn:synthetic:{n}</guid>"
        f"<pubDate>Tue, 17 Feb 2026 {n % 24:02d}:00:00 GMT</pubDate>"
        f"<description>{' '.join(words[(n * k) % len(words)] for k in range(120))}</description></item>"
        for n in range(25)
    )
    return [f'<rss version="2.0"><channel><title>Synthetic</title>{items}</channel></rss>'.encode()]


def split_items(body: bytes) -> tuple[bytes, list[bytes], bytes]:
    """Everything before the first item, the item blocks, everything after the last one."""
    scan = scan_items(body, "application/rss+xml")
    if scan is None or not scan.spans:
        raise SystemExit("bench: a feed body whose items cannot be found")
    spans = scan.spans
    return body[: spans[0][0]], [body[start:end] for start, end in spans], body[spans[-1][1] :]


# ---------------------------------------------------------------- the server (its own process)


def serve(hosts: int, ports: multiprocessing.Queue[list[int]], quiet: bool = False) -> None:
    """The feed server; `quiet`: every feed is of the "304" kind (a desk's quiet cycles)."""
    asyncio.run(_serve(hosts, ports, quiet))


async def _serve(hosts: int, ports: multiprocessing.Queue[list[int]], quiet: bool = False) -> None:
    bodies = load_bodies()
    item_blocks = {body: split_items(body) for body in bodies}
    versions: Counter[int] = Counter()
    in_flight = [0] * hosts
    peak = [0] * hosts
    served = [0]  # feed requests answered or begun, for bench/cluster.py
    port_host: dict[int, int] = {}

    def new_item(feed: int, version: int) -> bytes:
        return (
            f"<item><title>Update {version} of feed {feed}</title><link>https://wire.example/{feed}/{version}</link>"
            f"<guid>urn:wire:{feed}:{version}</guid><pubDate>Tue, 17 Feb 2026 {version % 24:02d}:00:00 GMT</pubDate>"
            f"<description>Fresh news number {version} from the wire, with a paragraph of text.</description></item>"
        ).encode()

    def next_version(feed: int, body: bytes) -> bytes:
        """The body after `versions[feed]` polls: as many new items at the top, as many old ones gone."""
        versions[feed] += 1
        version = versions[feed]
        head, items, tail = item_blocks[body]
        fresh = [new_item(feed, v) for v in range(version, max(0, version - len(items)), -1)]
        return head + b"".join([*fresh, *items][: len(items)]) + tail

    async def feed(request: web.Request) -> web.StreamResponse:
        host = port_host[request.transport.get_extra_info("sockname")[1]]  # type: ignore[union-attr]
        served[0] += 1
        in_flight[host] += 1
        peak[host] = max(peak[host], in_flight[host])
        try:
            return await answer(request, int(request.match_info["n"]))
        finally:
            in_flight[host] -= 1

    async def answer(request: web.Request, n: int) -> web.StreamResponse:
        body = bodies[n % len(bodies)]
        kind = "304" if quiet else kind_of(n, hosts)
        if kind == "304":
            etag = f'"{n}"'
            if request.headers.get("If-None-Match") == etag:
                return web.Response(status=304, headers={"ETag": etag})
            return web.Response(body=body, headers={"ETag": etag, "Content-Type": "application/rss+xml"})
        if kind == "unchanged":
            return web.Response(body=body, content_type="application/rss+xml")
        if kind == "changed":
            changed = next_version(n, body)
            return web.Response(body=changed, headers={"ETag": f'"{n}-{versions[n]}"'})
        mode = failure_mode(n, hosts)
        if mode == "slow":
            await asyncio.sleep(SLOW_SECONDS)
            return web.Response(body=body, content_type="application/rss+xml")
        if mode == "503":
            return web.Response(status=503, headers={"Retry-After": "600"})
        for _ in range(int(HANG_SECONDS * 10)):  # until the client gives up and closes
            if request.transport is None or request.transport.is_closing():
                break
            await asyncio.sleep(0.1)
        return web.Response(status=504)

    async def stats(request: web.Request) -> web.Response:
        return web.json_response({"peak_per_host": peak, "requests": served[0]})

    async def reset(request: web.Request) -> web.Response:
        peak[:] = [0] * hosts
        return web.json_response({})

    app = web.Application()
    app.add_routes([web.get("/feed/{n}", feed), web.get("/_stats", stats), web.post("/_reset", reset)])
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
    await runner.setup()
    bound = []
    for host in range(hosts + 1):
        site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
        await site.start()
        port = runner.addresses[-1][1]
        port_host[port] = host
        bound.append(port)
    ports.put(bound)
    await asyncio.Event().wait()


# ---------------------------------------------------------------- measuring


def descendants(root: int, excluded: int) -> list[int]:
    """The processes below `root` (children, their children ...), `excluded` and its own left out."""
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = [], [root]
    while frontier:
        parent = frontier.pop()
        for child, its_parent in parents.items():
            if its_parent == parent and child != excluded:
                found.append(child)
                frontier.append(child)
    return found


def cpu_seconds(server_pid: int) -> float:
    """CPU of this process and of its children (the parse workers), never the server's."""
    own = os.times()
    total = own.user + own.system
    for pid in descendants(os.getpid(), server_pid):
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return total


def _poller_pids(server_pid: int) -> list[int]:
    return [os.getpid(), *descendants(os.getpid(), server_pid)]


def reset_peak_memory(server_pid: int) -> None:
    """Start a new peak-RSS measurement (Linux: writing 5 to clear_refs resets VmHWM)."""
    for pid in _poller_pids(server_pid):
        with suppress(OSError):
            Path(f"/proc/{pid}/clear_refs").write_text("5")


def peak_memory_mb(server_pid: int) -> float:
    """Sum of the peak RSS of this process and its parse workers since the last reset."""
    return peak_rss_mb(_poller_pids(server_pid))


def peak_rss_mb(pids: list[int]) -> float:
    """Sum of the peak RSS (VmHWM) of these processes, those still running."""
    total = 0.0
    for pid in pids:
        with suppress(OSError):
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total += int(line.split()[1]) / 1024
    return total


@dataclass
class Phase:
    name: str
    feeds: int
    wall: float
    cpu: float
    peak_per_host: int
    peak_mb: float
    statuses: Counter[str]

    @property
    def cpu_ms_per_feed(self) -> float:
        return 1000 * self.cpu / max(self.feeds, 1)


class Bench:
    def __init__(self, args: argparse.Namespace, ports: list[int], server_pid: int) -> None:
        self.args = args
        self.ports = ports
        self.server_pid = server_pid
        self.control = f"http://127.0.0.1:{ports[-1]}"

    def url(self, n: int) -> str:
        return f"http://127.0.0.1:{self.ports[n % self.args.hosts]}/feed/{n}"

    async def measure(self, name: str, count: int, work: Callable[[], Awaitable[Iterable[str]]]) -> Phase:
        async with httpx.AsyncClient() as control:
            await control.post(f"{self.control}/_reset")
            reset_peak_memory(self.server_pid)
            cpu, started = cpu_seconds(self.server_pid), time.monotonic()
            statuses = Counter(await work())
            wall, cpu = time.monotonic() - started, cpu_seconds(self.server_pid) - cpu
            peak = max((await control.get(f"{self.control}/_stats")).json()["peak_per_host"])
        return Phase(name, count, wall, cpu, peak, peak_memory_mb(self.server_pid), statuses)


async def run(args: argparse.Namespace, ports: list[int], server_pid: int) -> None:
    bench = Bench(args, ports, server_pid)
    limits = FetchLimits(connect_timeout=5, read_timeout=READ_TIMEOUT, total_timeout=20)
    states = {n: FeedState(url=bench.url(n), name=f"Feed {n}") for n in range(args.feeds)}
    kinds = {n: kind_of(n, args.hosts) for n in states}
    phases: list[Phase] = []
    with ParsePool(args.workers) as pool:
        limiter = HostLimiter(args.concurrency, args.per_host)
        async with Fetcher(limits, limiter) as fetcher:
            poller = Poller(fetcher, pool)

            async def poll_one(n: int) -> str:
                outcome = await poll_feed(states[n], poller)
                states[n] = outcome.state  # entries are dropped here, as the pipeline would after storing them
                return outcome.status.value

            def cycle(feeds: list[int]) -> Callable[[], Awaitable[Iterable[str]]]:
                async def poll_all() -> Iterable[str]:
                    return await asyncio.gather(*(poll_one(n) for n in feeds))

                return poll_all

            everything = list(states)
            phases.append(await bench.measure("first cycle (learns validators)", len(everything), cycle(everything)))
            phases.append(await bench.measure("steady cycle, all kinds", len(everything), cycle(everything)))
            for kind in KINDS:
                chosen = [n for n in everything if kinds[n] == kind]
                phases.append(await bench.measure(f"  kind {kind}", len(chosen), cycle(chosen)))
            one_host = [n for n in everything if n % args.hosts == 0]
            phases.append(
                await bench.measure(f"one host: its {len(one_host)} feeds at once", len(one_host), cycle(one_host))
            )

        async with httpx.AsyncClient(
            timeout=httpx.Timeout(READ_TIMEOUT, connect=5),
            limits=httpx.Limits(max_connections=args.concurrency, max_keepalive_connections=args.concurrency),
            headers={"User-Agent": USER_AGENT},
        ) as client:
            baseline_limiter = HostLimiter(args.concurrency, args.per_host)

            async def plain(n: int) -> str:
                try:
                    async with baseline_limiter.slot(bench.url(n)):
                        response = await client.get(bench.url(n))
                    response.raise_for_status()
                    await pool.parse(response.content, feed_url=bench.url(n), name="", content_type=None)
                except (httpx.HTTPError, FeedParseError):
                    return "failed"
                return "parsed"

            async def baseline() -> Iterable[str]:
                return await asyncio.gather(*(plain(n) for n in everything))

            phases.append(await bench.measure("baseline: plain GET + parse, every feed", len(everything), baseline))
    report(args, phases)


def report(args: argparse.Namespace, phases: list[Phase]) -> None:
    print(
        f"\n{args.feeds} feeds on {args.hosts} hosts; concurrency {args.concurrency}, per host {args.per_host}, "
        f"{args.workers} parse processes, {os.cpu_count()} CPUs\n"
    )
    print(
        f"{'phase':42} {'feeds':>6} {'wall s':>7} {'CPU s':>7} {'CPU ms/feed':>11} {'max/host':>8} {'peak MB':>7}"
        "  outcomes"
    )
    for p in phases:
        outcomes = ", ".join(f"{k} {v}" for k, v in sorted(p.statuses.items()))
        print(
            f"{p.name:42} {p.feeds:6d} {p.wall:7.1f} {p.cpu:7.2f} {p.cpu_ms_per_feed:11.2f} {p.peak_per_host:8d} "
            f"{p.peak_mb:7.0f}  {outcomes}"
        )
    steady = phases[1]
    base = next(p for p in phases if p.name.startswith("baseline"))
    print("\npeak MB: resident memory of the poller and its parse processes at their peak during the phase")
    print(f"steady cycle vs baseline: {base.cpu / steady.cpu:.1f}x less CPU, {base.wall / steady.wall:.1f}x less wall")
    per_kind = {p.name.split("kind ")[1]: p for p in phases if " kind " in p.name}
    for kind in ("304", "unchanged", "changed"):
        print(
            f"CPU per {kind} feed: {per_kind[kind].cpu_ms_per_feed:.2f} ms "
            f"({base.cpu_ms_per_feed / per_kind[kind].cpu_ms_per_feed:.0f}x less than the baseline's per feed)"
        )
    worst = max(p.peak_per_host for p in phases)
    print(f"most requests at once on one host, any phase: {worst} (limit {args.per_host})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--feeds", type=int, default=10_000)
    parser.add_argument("--hosts", type=int, default=50)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--per-host", type=int, default=4)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()
    resource.setrlimit(resource.RLIMIT_NOFILE, resource.getrlimit(resource.RLIMIT_NOFILE)[1:] * 2)
    context = multiprocessing.get_context("spawn")
    ports: multiprocessing.Queue[list[int]] = context.Queue()
    server = context.Process(target=serve, args=(args.hosts, ports), daemon=True)
    server.start()
    try:
        assert server.pid is not None
        asyncio.run(run(args, ports.get(timeout=30), server.pid))
    finally:
        server.terminate()
        server.join()


if __name__ == "__main__":
    main()
