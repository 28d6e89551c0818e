"""The Prometheus endpoint serves what a real poll did."""

from __future__ import annotations

import socket
from pathlib import Path

import httpx

from bot import clock
from bot.app import open_runtime
from bot.config import Config, FeedConfig
from bot.deliver.jsonl import JsonLinesSink
from bot.metrics import serve_metrics
from bot.starter import RULES
from tests.feedserver import FeedServer, seed_items


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _value(text: str, sample: str) -> float:
    line = next((line for line in text.splitlines() if line.startswith(sample + " ")), None)
    return float(line.split()[-1]) if line else 0.0


async def test_metrics_count_polls_entries_and_alerts(feed_server: FeedServer, tmp_path: Path) -> None:
    port = _free_port()
    serve_metrics(port)
    metrics_url = f"http://127.0.0.1:{port}/metrics"
    async with httpx.AsyncClient() as client:
        before = (await client.get(metrics_url)).text
    now = clock.now()
    feed_server.feeds["wire.xml"] = seed_items((now, now))
    feed = FeedConfig(url=feed_server.url("wire.xml"), name="Wire", backlog=2, fulltext=False)
    config = Config(database=f"sqlite:///{tmp_path / 'n.db'}", rules=RULES, feeds=[feed], base_dir=tmp_path)
    with (tmp_path / "out.jsonl").open("w") as out:
        async with open_runtime(config, JsonLinesSink(out), parse_in_processes=False) as runtime:
            await runtime.pipeline.poll_once()
            await runtime.pipeline.poll_once()
    async with httpx.AsyncClient() as client:
        after = (await client.get(metrics_url)).text
    parsed = 'newsbot_polls_total{status="parsed"}'
    unchanged = 'newsbot_polls_total{status="unchanged"}'
    assert _value(after, parsed) - _value(before, parsed) == 1
    assert _value(after, unchanged) - _value(before, unchanged) == 1
    assert _value(after, "newsbot_entries_total") - _value(before, "newsbot_entries_total") == 2
    alerts = 'newsbot_alerts_total{rule="troop-deployment"}'
    # The two seeds are one story from one feed: one alert per topic.
    assert _value(after, alerts) - _value(before, alerts) == 1
    # One message per story: the JSON sink delivered the story once.
    latency = 'newsbot_delivery_latency_seconds_count{sink="json"}'
    assert _value(after, latency) - _value(before, latency) == 1
