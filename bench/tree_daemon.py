"""A newsbot checkout's `newsbot run`, as a user runs it, against a local feed and the fake Bot API.

Shared by bench/path_files.py, bench/latency.py and bench/keepup.py. Each checkout (this one or an older
tree, the baseline) runs as a subprocess with its own code (cwd and PYTHONPATH are the checkout; the
interpreter is this virtualenv's), on a fresh database it migrated and subscribed itself, so an older tree
meets a schema it knows. The feed server and the fake Bot API run in the bench's own event loop, so their
clocks are one.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml
from aiohttp import web

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench import newsgen  # noqa: E402
from bench.newsgen import Item  # noqa: E402
from tests.e2e.fake_botapi import FakeBotApi  # noqa: E402

TOKEN = "424242:BENCH-token"
READER = 5101
TOPIC = "troop-deployment"


def rss_item(key: str, title: str, text: str, published: float) -> str:
    """One RSS item of the wire, written as bench/newsgen.py writes its reports; `published` is a Unix time."""
    return newsgen.rss_item("https://wire.example", Item(0, title, text, datetime.fromtimestamp(published, UTC), key))


@dataclass
class FeedServer:
    """One RSS feed on 127.0.0.1, answering every GET with the items published so far (the newest `keep`,
    all with 0), always 200 unless `etags` (then 304 to a poll that already has them all).

    It records when each item was published and when a response first carried it (its own clock), and
    which items left the feed (`gone`, with `keep`)."""

    keep: int = 0
    etags: bool = False
    items: list[tuple[str, str]] = field(default_factory=list)
    published: dict[str, float] = field(default_factory=dict)
    first_served: dict[str, float] = field(default_factory=dict)
    gone: set[str] = field(default_factory=set)
    requests: int = 0
    port: int = 0
    _runner: web.AppRunner | None = None

    def publish(self, key: str, item: str) -> None:
        self.items.append((key, item))
        self.published[key] = time.time()
        if self.keep and len(self.items) > self.keep:
            self.gone.add(self.items.pop(0)[0])

    async def _feed(self, request: web.Request) -> web.Response:
        now = time.time()
        self.requests += 1
        etag = f'"{len(self.published)}"'
        if self.etags and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304, headers={"ETag": etag})
        for key, _ in self.items:
            self.first_served.setdefault(key, now)
        body = "".join(item for _, item in self.items)
        rss = ('<?xml version="1.0"?><rss version="2.0"><channel><title>Wire</title>'
               f"<link>https://wire.example/</link>{body}</channel></rss>")
        headers = {"ETag": etag} if self.etags else {}
        return web.Response(body=rss.encode(), content_type="application/rss+xml", headers=headers)

    async def __aenter__(self) -> FeedServer:
        app = web.Application()
        app.router.add_get("/feed.xml", self._feed)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/feed.xml"


class TimedBotApi(FakeBotApi):
    """The fake Bot API of tests/e2e, noting when it accepted each sendMessage (time.time())."""

    def __init__(self, token: str) -> None:
        super().__init__(token)
        self.accepted: list[tuple[float, int, str]] = []

    async def __aenter__(self) -> TimedBotApi:
        await super().__aenter__()
        return self

    async def _api_sendmessage(self, params: Any) -> Any:
        result = await super()._api_sendmessage(params)
        self.accepted.append((time.time(), int(result["chat"]["id"]), str(result.get("text", ""))))
        return result


def subscribe_in(tree: Path, url: str) -> None:
    """Migrate the database and subscribe READER to TOPIC with `tree`'s own code."""
    script = (
        "import asyncio, sys\n"
        "from bot.store.chats import remember_chat, subscribe\n"
        "from bot.store.db import open_database\n"
        "async def main():\n"
        "    engine = await open_database(sys.argv[1])\n"
        "    await remember_chat(engine, int(sys.argv[2]), 'private', None)\n"
        "    await subscribe(engine, int(sys.argv[2]), sys.argv[3], None, int(sys.argv[2]))\n"
        "    await engine.dispose()\n"
        "asyncio.run(main())\n"
    )
    subprocess.run([sys.executable, "-c", script, url, str(READER), TOPIC], cwd=tree, check=True,
                   env={**os.environ, "PYTHONPATH": str(tree)}, capture_output=True, text=True)


def feed_settings(url: str, name: str, every: str | None, backlog: int) -> dict[str, Any]:
    """One local feed of a config, polled `every` (None: as polling adapts) without full text."""
    return {"url": url, "name": name, "backlog": backlog, "fulltext": False, **({"every": every} if every else {})}


def write_config(folder: Path, tree: Path, database: str, feeds: list[dict[str, Any]], api_url: str, *,
                 rules: Path | None = None, more: dict[str, Any] | None = None) -> Path:
    """A config.yaml for `tree`: these feeds, `rules` (else its own starter rules), Telegram at the fake Bot
    API, and `more` settings."""
    settings = {
        "database": database,
        "rules": str(rules or tree / "bot" / "starter" / "rules"),
        "feeds": feeds,
        "telegram": {"token": "${TELEGRAM_BOT_TOKEN}", "base_url": api_url},
        **(more or {}),
    }
    config = folder / "config.yaml"
    config.write_text(yaml.safe_dump(settings), encoding="utf-8")
    return config


async def start_run(tree: Path, config: Path, log: Path, pythonpath: list[str] | None = None,
                    env: dict[str, str] | None = None) -> asyncio.subprocess.Process:
    """`python -m bot run -c CONFIG` of `tree`, its output in `log`."""
    path = [*(pythonpath or []), str(tree)]
    environment = {**os.environ, **(env or {}), "PYTHONPATH": os.pathsep.join(path), "TELEGRAM_BOT_TOKEN": TOKEN}
    with log.open("ab") as out:
        return await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", "-c", str(config), cwd=tree, env=environment,
            stdin=subprocess.DEVNULL, stdout=out, stderr=out, start_new_session=True,
        )  # fmt: skip


async def stop(process: asyncio.subprocess.Process, grace: float = 20) -> int:
    """SIGTERM, then SIGKILL (of its whole session: parse workers too) if it has not ended within `grace`."""
    if process.returncode is None:
        process.send_signal(signal.SIGTERM)
        try:
            await asyncio.wait_for(process.wait(), grace)
        except TimeoutError:
            os.killpg(process.pid, signal.SIGKILL)
            await process.wait()
    with_children_gone(process.pid)
    return int(process.returncode or 0)


def with_children_gone(pgid: int) -> None:
    """Parse workers of a stopped daemon end by themselves; make sure none outlives the bench."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def log_tail(log: Path, lines: int = 6) -> str:
    try:
        return " | ".join(log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""
