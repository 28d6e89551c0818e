"""Several `newsbot run` processes on one PostgreSQL database, a feed server and the fake Bot API in a process
of its own: the parts the cluster tests share (tests/cluster/test_*_e2e.py)."""

from __future__ import annotations

import asyncio
import random
import shutil
import signal
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa
import yaml
from sqlalchemy.ext.asyncio import AsyncEngine

from bot import clock
from bot.starter import RULES
from bot.store.db import create_engine
from bot.store.outbox import outbox
from bot.store.processes import ProcessRow, list_processes
from tests.e2e.botapi_process import BotApiProcess, Sent
from tests.e2e.burst import BURST_RULE
from tests.e2e.daemon import DaemonProcess
from tests.feedserver import FeedServer, Item

READERS = range(3001, 3006)
TOKEN = "434343:CLUSTER-token"
READY = {"ingest": "ingest role: story window restored", "delivery": "Telegram front is up as"}
"""What a process logs once it works in a role it took (`took the ... role` when it took it)."""


class Node(DaemonProcess):
    """One `newsbot run` process of the cluster, by name; its log is appended across restarts."""

    def __init__(self, name: str, config: Path, folder: Path) -> None:
        super().__init__(config, folder / f"{name}.log", TOKEN)
        self.name = name


@dataclass(frozen=True)
class Lost:
    """The roles of a holder about to be lost, and the log lines (`marks`, counted in `seen`) another process
    writes on taking each of them and on working in it."""

    roles: list[str]
    marks: dict[str, str]
    seen: dict[str, int]


class Cluster:
    def __init__(self, nodes: list[Node], engine: AsyncEngine, api: BotApiProcess, readers: range = READERS) -> None:
        self.nodes = nodes
        self.engine = engine
        self.api = api
        self.readers = readers

    def logs(self) -> str:
        return "\n".join(f"===== {node.name}\n{node.output()[-4000:]}" for node in self.nodes)

    def lines(self, line: str) -> int:
        return sum(node.output().count(line) for node in self.nodes)

    async def until(self, condition: Callable[[], Awaitable[bool]], what: str, timeout: float = 60) -> float:
        """Wait for `condition`; the seconds it took."""
        started = time.monotonic()
        while not await condition():
            if time.monotonic() - started > timeout:
                raise AssertionError(f"timed out waiting for {what}; logs:\n{self.logs()}")
            await asyncio.sleep(0.05)
        return time.monotonic() - started

    async def holders(self) -> dict[str, Node]:
        """Which live node holds each role, as the processes table says."""
        by_pid = {node.pid: node for node in self.nodes if node.process and node.process.returncode is None}
        found = {}
        for row in await self.rows():
            for role in row.roles:
                if row.pid in by_pid:
                    found[role] = by_pid[row.pid]
        return found

    async def kill_a_holder(self, rng: random.Random) -> dict[str, float | str]:
        """SIGKILL the process holding a role (chosen at random) and start it again; time until another process
        took each of its roles and until it works in it."""
        await self.until(self.all_joined, "all three processes running")
        await self.until(self.both_roles_held, "both roles held before a kill")
        holders = await self.holders()
        victim = holders[rng.choice(sorted(holders))]
        lost = await self.losing(holders, victim)
        await victim.kill()
        measuring = self.takeover(lost, time.monotonic())
        if "delivery" in lost.roles:
            await asyncio.sleep(1)  # the fake drops the dead process's unanswered sends
            await self.api.release_sends()
        await victim.start()
        times = await asyncio.gather(*measuring)
        return {"node": victim.name, **dict(zip(lost.marks, times, strict=True))}

    async def losing(self, holders: dict[str, Node], victim: Node) -> Lost:
        """Ready to lose `victim`: the roles it holds, the log lines another process writes on taking them
        (counted now), and, when it delivers, its sends held until those accepted so far are recorded."""
        roles = sorted(role for role, node in holders.items() if node is victim)
        marks = {f"{role} taken": f"took the {role} role" for role in roles}
        marks |= {f"{role} ready": READY[role] for role in roles}
        lost = Lost(roles, marks, {mark: self.lines(line) for mark, line in marks.items()})
        if "delivery" in roles:
            await self.api.hold_sends()
            await self.until(self.accepted_sends_recorded, "accepted sends to be recorded")
        return lost

    def takeover(self, lost: Lost, since: float, timeout: float = 60) -> list[asyncio.Task[float]]:
        """For each mark of `lost`, the seconds from `since` until another process logged it."""

        async def logged(mark: str) -> float:
            async def appeared() -> bool:
                return self.lines(lost.marks[mark]) > lost.seen[mark]

            await self.until(appeared, f"another process to log {lost.marks[mark]!r}", timeout=timeout)
            return round(time.monotonic() - since, 2)

        return [asyncio.create_task(logged(mark)) for mark in lost.marks]

    async def all_joined(self) -> bool:
        """Every node's process runs and has written its row (a process that exits on its own fails the test)."""
        exited = [node.name for node in self.nodes if node.process is None or node.process.returncode is not None]
        assert not exited, f"{exited} exited; logs:\n{self.logs()}"
        return {node.pid for node in self.nodes} <= {row.pid for row in await self.rows()}

    async def rows(self) -> list[ProcessRow]:
        """The processes table, empty until the first process has created the tables (they migrate at start)."""
        try:
            return await list_processes(self.engine)
        except sa.exc.ProgrammingError:
            return []

    async def both_roles_held(self) -> bool:
        return set(await self.holders()) == {"ingest", "delivery"}

    async def accepted_sends_recorded(self) -> bool:
        """Every message the fake accepted (but the replies to /subscribe) is marked sent in the outbox."""
        async with self.engine.connect() as conn:
            query = sa.select(sa.func.count()).select_from(outbox).where(outbox.c.status == "sent")
            recorded = int(await conn.scalar(query) or 0)
        received = await self.received()
        return recorded == sum(len(messages) for messages in received.values()) - len(self.readers)

    async def received(self) -> dict[int, list[Sent]]:
        """What each reader got: a reply to /subscribe, then the alerts."""
        return {reader: await self.api.sent(reader) for reader in self.readers}


def links(messages: list[Sent]) -> list[str]:
    return [
        str(entity["url"])
        for message in messages
        for entity in message.entities
        if entity["type"] == "text_link" and "burst.example" in str(entity["url"])
    ]


def write_config(
    folder: Path, database: str, api: BotApiProcess, server: FeedServer, feed_count: int, every: float
) -> Path:
    rules = folder / "rules"
    shutil.copytree(RULES, rules)
    (rules / "zephyrine.yaml").write_text(BURST_RULE)
    settings = {
        "database": database,
        "rules": str(rules),
        "feeds": [
            {"url": server.url(f"f{n}.xml"), "name": f"Outlet {n}", "every": f"{every:g}s", "fulltext": False}
            for n in range(feed_count)
        ],
        "polling": {"min_interval": "1s", "jitter": 0, "concurrency": 20},
        "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "base_url": api.base_url},
        "cluster": {"heartbeat": "1s", "lease": "8s"},
        # invented-word items on one template: the meaning signal cannot tell them apart, and need not here
        "stories": {"meaning": False},
    }
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(settings))
    return config



@asynccontextmanager
async def running_cluster(
    pg_url: str, server: FeedServer, folder: Path, feed_count: int, every: float, nodes: int = 3
) -> AsyncIterator[Cluster]:
    """`nodes` processes polling `feed_count` feeds (one first item each) every `every` seconds, stopped after."""
    now = clock.now()
    for n in range(feed_count):
        server.feeds[f"f{n}.xml"] = [Item(f"f{n}-0", f"Outlet {n} opens", f"https://outlet{n}.example/0", "", now)]
    engine = create_engine(pg_url)
    async with BotApiProcess(TOKEN) as api:
        config = write_config(folder, pg_url, api, server, feed_count, every)
        members = [Node(f"node{n}", config, folder) for n in range(nodes)]
        try:
            for node in members:
                await node.start()
            yield Cluster(members, engine, api)
        finally:
            for node in members:
                if node.process is not None and node.process.returncode is None:
                    node.process.send_signal(signal.SIGCONT)  # a paused process would not hear the SIGTERM
                await node.stop()
            await engine.dispose()


async def subscribe_readers(cluster: Cluster) -> None:
    """Each reader subscribes to the burst rule and gets its reply."""
    for reader in cluster.readers:
        await cluster.api.private_chat(reader)
        await cluster.api.user_says(reader, reader, "/subscribe zephyrine")
        await cluster.api.wait_for(reader, lambda messages: len(messages) == 1, f"the reply to reader {reader}")
