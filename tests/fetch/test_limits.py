"""Politeness limits, counted on the server side of real connections."""

from __future__ import annotations

import asyncio
import random
from collections import Counter
from datetime import timedelta

from aiohttp import web

from bot.fetch.http import Fetcher, FetchLimits, FetchResult
from bot.fetch.limits import HostLimiter, host_key
from bot.fetch.poll_policy import jittered
from tests.fetch.servers import Serve, app_with


class InFlight:
    """Counts requests being served at once, per server and overall."""

    def __init__(self) -> None:
        self.now: Counter[str] = Counter()
        self.peak: Counter[str] = Counter()
        self.total_now = 0
        self.total_peak = 0

    def handler(self, name: str) -> web.RouteDef:
        async def slow_feed(request: web.Request) -> web.Response:
            self.now[name] += 1
            self.total_now += 1
            self.peak[name] = max(self.peak[name], self.now[name])
            self.total_peak = max(self.total_peak, self.total_now)
            await asyncio.sleep(0.02)
            self.now[name] -= 1
            self.total_now -= 1
            return web.Response(body=b"<rss/>")

        return web.get("/{feed}", slow_feed)


async def test_per_host_and_global_limits_are_never_exceeded(serve: Serve) -> None:
    counter = InFlight()
    hosts = [await serve(app_with(counter.handler(name))) for name in ("a", "b", "c")]
    urls = [f"{host}/{n}" for host in hosts for n in range(40)]
    random.Random(7).shuffle(urls)
    async with Fetcher(FetchLimits(), HostLimiter(concurrency=7, per_host=3)) as fetcher:
        results = await asyncio.gather(*(fetcher.fetch(url) for url in urls))
    assert all(isinstance(r, FetchResult) for r in results)
    assert counter.peak == Counter({"a": 3, "b": 3, "c": 3})
    assert counter.total_peak == 7


def test_host_key_is_host_and_non_default_port() -> None:
    assert host_key("https://News.Example.com:443/feed") == "news.example.com"
    assert host_key("http://news.example.com:80/a") == "news.example.com"
    assert host_key("http://127.0.0.1:8081/feed") == "127.0.0.1:8081"


def test_jitter_only_ever_delays() -> None:
    rng = random.Random(1)
    base = timedelta(minutes=10)
    delays = [jittered(base, 0.1, rng) for _ in range(200)]
    assert all(base <= d <= base * 1.1 for d in delays)
    assert len(set(delays)) > 100
