"""Three `newsbot run` processes on one PostgreSQL database; the holder of each role is paused (SIGSTOP) longer
than the server waits for a silent session, then resumed (SIGCONT), five times per role, while bursts of
alerts go out.

A paused process wakes up believing it holds its roles, with rows in hand. Fencing (store/locks.py) keeps it
from acting on them: each filing and telling transaction and each send proves the role first, in the
transaction that changes the rows. So every alert reaches every reader exactly once, the outbox keeps the
message id Telegram gave the one send of each row, and a command sent while the delivery holder is paused is
answered by the process that took over. The times are printed and written to paused.json (or to
$NEWSBOT_PAUSE_REPORT).

A send in flight at the moment of the pause is the window no client can close (README, "Alerts in
Telegram"); it is kept out as in test_cluster_e2e.py: the fake holds new sends until every accepted one is
recorded, the process is paused, and the fake answers the sends it held with 502 (not accepted).
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import time
from collections import Counter
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from bot.store.outbox import outbox
from tests.cluster.harness import Cluster, links, running_cluster, subscribe_readers
from tests.e2e.burst import burst_items
from tests.feedserver import FeedServer

FEEDS = 30
EVERY = 3.0
CYCLES = 5
"""Pauses of each role's holder."""
PAUSE = 16.0
"""Seconds a holder stays paused: longer than the role timeout (10 s with a 1 s heartbeat)."""
PER_CYCLE = 3
ASKER = 4001
"""A chat that sends a command while the delivery holder is paused (not a reader: replies are not outbox rows)."""

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(900)]


@pytest.fixture
async def cluster(pg_url: str, feed_server: FeedServer, tmp_path: Path) -> AsyncIterator[Cluster]:
    async with running_cluster(pg_url, feed_server, tmp_path, FEEDS, EVERY) as cluster:
        yield cluster


async def settled(cluster: Cluster) -> bool:
    """Every process runs and each role is listed by exactly one of them (a resumed process has noticed that
    it lost its roles)."""
    if not await cluster.all_joined():
        return False
    roles = Counter(role for row in await cluster.rows() for role in row.roles)
    return roles == Counter({"ingest": 1, "delivery": 1})


async def pause_the_holder(cluster: Cluster, role: str) -> dict[str, float | str]:
    """SIGSTOP the holder of `role` for PAUSE seconds, then SIGCONT; the time until another process took
    each of its roles and works in it, and (for delivery) until a command sent meanwhile was answered."""
    await cluster.until(lambda: settled(cluster), "the roles settled before a pause", timeout=120)
    holders = await cluster.holders()
    victim = holders[role]
    assert victim.process is not None
    lost = await cluster.losing(holders, victim)
    victim.process.send_signal(signal.SIGSTOP)
    paused_at = time.monotonic()
    if "delivery" in lost.roles:
        await cluster.api.refuse_held()
    measuring = cluster.takeover(lost, paused_at, timeout=90)
    answered: dict[str, float] = {}
    if "delivery" in lost.roles:
        before = len(await cluster.api.sent(ASKER))
        await cluster.api.user_says(ASKER, ASKER, "/mysubs")
        asked_at = time.monotonic()
        await cluster.api.wait_for(ASKER, lambda messages: len(messages) > before, "the reply to /mysubs", 90)
        answered["command answered"] = round(time.monotonic() - asked_at, 2)
    times = await asyncio.gather(*measuring)
    await asyncio.sleep(max(0.0, PAUSE - (time.monotonic() - paused_at)))
    victim.process.send_signal(signal.SIGCONT)
    return {"node": victim.name, "paused": role, **dict(zip(lost.marks, times, strict=True)), **answered}


async def sent_message_ids(cluster: Cluster, chat_id: int) -> set[int]:
    query = sa.select(outbox.c.message_id).where(outbox.c.chat_id == chat_id, outbox.c.status == "sent")
    async with cluster.engine.connect() as conn:
        return {int(value) for value in await conn.scalars(query)}


async def test_paused_role_holders_neither_lose_nor_repeat_an_alert(
    cluster: Cluster, feed_server: FeedServer, tmp_path: Path
) -> None:
    rng = random.Random(20)

    async def all_polled() -> bool:
        return len(feed_server.requests) == FEEDS

    await cluster.until(cluster.all_joined, "all three processes running", timeout=120)
    await cluster.until(all_polled, "every feed polled", timeout=120)
    await cluster.until(cluster.both_roles_held, "both roles held", timeout=60)
    await subscribe_readers(cluster)
    await cluster.api.private_chat(ASKER)

    burst = burst_items(2 * CYCLES * PER_CYCLE, seed=20, prefix="paused")
    expected = Counter(item.link for item in burst)
    pauses = []
    for cycle, role in enumerate(["ingest", "delivery"] * CYCLES):
        for n, item in enumerate(burst[cycle * PER_CYCLE : (cycle + 1) * PER_CYCLE]):
            feed_server.feeds[f"f{(cycle + n) % FEEDS}.xml"].append(item)
        await asyncio.sleep(rng.uniform(0.5, 2.5))
        pauses.append({"pause": cycle + 1, **await pause_the_holder(cluster, role)})

    async def all_delivered() -> bool:
        return all(Counter(links(messages)) >= expected for messages in (await cluster.received()).values())

    await cluster.until(all_delivered, "every alert to every reader", timeout=180)
    await cluster.until(lambda: settled(cluster), "the roles settled after the last pause", timeout=120)
    await asyncio.sleep(3)
    report = Path(os.environ.get("NEWSBOT_PAUSE_REPORT", tmp_path / "paused.json"))
    report.write_text(json.dumps(pauses, indent=2))
    print("pauses (s after SIGSTOP):", json.dumps(pauses))
    for reader, messages in (await cluster.received()).items():
        assert Counter(links(messages)) == expected, f"reader {reader} got {Counter(links(messages))}"
        alerts = {message.message_id for message in messages[1:]}
        assert await sent_message_ids(cluster, reader) == alerts, f"reader {reader}: outbox ids differ from sent"
    assert "Traceback" not in "".join(node.output() for node in cluster.nodes), cluster.logs()
