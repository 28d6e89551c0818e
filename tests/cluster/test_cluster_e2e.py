"""Three `newsbot run` processes on one PostgreSQL database, a feed server with 300 feeds, and the fake Bot
API in a process of its own.

The processes share the polls: the server sees no feed fetched twice within its interval. The processes
holding the ingest and delivery roles are killed with SIGKILL at random moments, ten times, while the feeds
are polled and a burst of alerts goes out: another process takes each role over within 15 s (the times are
printed and written to takeover.json, or to $NEWSBOT_TAKEOVER_REPORT), and every alert reaches every
subscriber exactly once.

The one window no client can close (Telegram accepted a message and the process died before recording it;
README, "Alerts in Telegram") is kept out of the test as in tests/e2e/test_telegram_e2e.py: before the
delivery holder is killed, the fake holds new sends unanswered until every accepted one is recorded.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import random
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster, links, running_cluster, subscribe_readers
from tests.e2e.burst import burst_items
from tests.feedserver import FeedServer

FEEDS = 300
EVERY = 5.0
BURST_FEEDS = 10
BURST = 30
KILLS = 10

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture
async def cluster(pg_url: str, feed_server: FeedServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(pg_url, feed_server, tmp_path, FEEDS, EVERY) as cluster:
        yield cluster


async def test_three_processes_share_the_polls_and_survive_ten_kills(
    cluster: Cluster, feed_server: FeedServer, tmp_path: Path
) -> None:
    rng = random.Random(14)

    async def all_polled_twice() -> bool:
        return len(feed_server.requests) == FEEDS and min(feed_server.requests.values()) >= 2

    await cluster.until(cluster.all_joined, "all three processes running", timeout=120)
    await cluster.until(all_polled_twice, "every feed polled twice", timeout=180)
    await cluster.until(cluster.both_roles_held, "both roles held")
    await subscribe_readers(cluster)

    burst = burst_items(BURST, seed=14)
    expected = Counter(item.link for item in burst)
    takeovers = []
    for kill in range(KILLS):
        for n, item in enumerate(burst[kill * BURST // KILLS : (kill + 1) * BURST // KILLS]):
            feed_server.feeds[f"f{(kill + n) % BURST_FEEDS}.xml"].append(item)
        await asyncio.sleep(rng.uniform(0.5, 3.0))
        takeovers.append({"kill": kill + 1, **await cluster.kill_a_holder(rng)})

    async def all_delivered() -> bool:
        return all(Counter(links(messages)) >= expected for messages in (await cluster.received()).values())

    await cluster.until(all_delivered, "every alert to every reader", timeout=120)
    await asyncio.sleep(3)
    for reader, messages in (await cluster.received()).items():
        assert Counter(links(messages)) == expected, f"reader {reader} got {Counter(links(messages))}"

    report = Path(os.environ.get("NEWSBOT_TAKEOVER_REPORT", tmp_path / "takeover.json"))
    report.write_text(json.dumps(takeovers, indent=2))
    print("takeover times (s):", json.dumps(takeovers))
    slowest = max(seconds for row in takeovers for key, seconds in row.items() if key.endswith("ready"))
    assert slowest < 15, takeovers

    gaps = {
        path: min(later - earlier for earlier, later in itertools.pairwise(times))
        for path, times in feed_server.times.items()
        if len(times) > 1
    }
    too_soon = {path: gap for path, gap in gaps.items() if gap < EVERY * 0.9}
    assert not too_soon, f"fetched twice within {EVERY} s: {too_soon}"
    assert "Traceback" not in "".join(node.output() for node in cluster.nodes), cluster.logs()
