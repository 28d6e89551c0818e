"""Three `newsbot run` processes on a PostgreSQL server of the test's own, which is killed (immediate
shutdown: every connection cut) under them and started again 30 s later.

Every process recovers by itself: its connections are made again, the roles are taken again, the polls that
died with the connection are taken back (their claims are this process's own: it need not wait for the
lease). Every feed is polled again within its interval plus the lease of the restart, the items published
after it are filed and reach every reader once, and no process exits. The times are printed and written to
restart.json (or to $NEWSBOT_RESTART_REPORT).
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.cluster.harness import Cluster, links, running_cluster, subscribe_readers
from tests.e2e.burst import burst_items
from tests.feedserver import FeedServer
from tests.pgserver import PrivatePostgres

FEEDS = 50
EVERY = 5.0
LEASE = 8.0
"""cluster.lease in the harness's config."""
DOWN = 30.0
AFTER = 3
"""Items published once the database is back."""

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]


@pytest.fixture
async def postgres() -> AsyncIterator[PrivatePostgres]:
    server = PrivatePostgres()
    try:
        server.init()
        server.start()
        yield server
        server.stop("immediate")
    finally:
        server.remove()


@pytest.fixture
async def cluster(postgres: PrivatePostgres, feed_server: FeedServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(postgres.url, feed_server, tmp_path, FEEDS, EVERY) as cluster:
        yield cluster


async def test_every_process_recovers_from_a_database_restart(
    cluster: Cluster, postgres: PrivatePostgres, feed_server: FeedServer, tmp_path: Path
) -> None:
    async def all_polled_twice() -> bool:
        return len(feed_server.requests) == FEEDS and min(feed_server.requests.values()) >= 2

    await cluster.until(cluster.all_joined, "all three processes running", timeout=120)
    await cluster.until(all_polled_twice, "every feed polled twice", timeout=120)
    await cluster.until(cluster.both_roles_held, "both roles held")
    await subscribe_readers(cluster)
    taken = cluster.lines("took the ingest role"), cluster.lines("took the delivery role")

    await asyncio.to_thread(postgres.stop, "immediate")
    await cluster.engine.dispose()
    await asyncio.sleep(DOWN)
    await asyncio.to_thread(postgres.start)
    restarted = time.monotonic()
    burst = burst_items(AFTER, seed=2, prefix="restart")
    for n, item in enumerate(burst):
        feed_server.feeds[f"f{n}.xml"].append(item)

    def first_poll_after(path: str) -> float | None:
        later = [at - restarted for at in feed_server.times[path] if at >= restarted]
        return later[0] if later else None

    async def all_polled_again() -> bool:
        return all(first_poll_after(path) is not None for path in feed_server.times)

    await cluster.until(all_polled_again, "every feed polled after the restart", timeout=120)
    waits = {path: first_poll_after(path) or 0.0 for path in feed_server.times}
    slowest = max(waits.values())

    async def roles_again() -> bool:
        return (
            cluster.lines("took the ingest role") > taken[0]
            and cluster.lines("took the delivery role") > taken[1]
            and await cluster.both_roles_held()
        )

    roles = await cluster.until(roles_again, "both roles taken again", timeout=120)
    expected = Counter(item.link for item in burst)

    async def all_delivered() -> bool:
        return all(Counter(links(messages)) >= expected for messages in (await cluster.received()).values())

    delivered = await cluster.until(all_delivered, "the items published after the restart to every reader", 120)
    await asyncio.sleep(3)
    figures = {
        "down_s": DOWN,
        "slowest_feed_polled_again_s": round(slowest, 2),
        "roles_taken_again_s": round(roles, 2),
        "new_items_delivered_s": round(delivered + roles, 2),
    }
    report = Path(os.environ.get("NEWSBOT_RESTART_REPORT", tmp_path / "restart.json"))
    report.write_text(json.dumps(figures, indent=2))
    print("database restart:", json.dumps(figures))
    for reader, messages in (await cluster.received()).items():
        assert Counter(links(messages)) == expected, f"reader {reader} got {Counter(links(messages))}"
    late = {path: round(wait, 1) for path, wait in waits.items() if wait > EVERY + LEASE}
    assert not late, f"polled again later than interval + lease after the restart: {late}\n{cluster.logs()}"
    await cluster.all_joined()
