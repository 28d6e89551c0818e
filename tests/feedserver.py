"""A real RSS server on 127.0.0.1 whose items the test changes between polls."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape

from aiohttp import web

SEEDS = Path(__file__).parent / "fixtures" / "seeds"


@dataclass(frozen=True)
class Item:
    guid: str
    title: str
    link: str
    body: str
    published: datetime


def seed_items(published: tuple[datetime, datetime]) -> list[Item]:
    """The two seed articles: the rewritten copy crediting RIA News, and MENAFN's report."""
    rewrite, menafn = sorted(SEEDS.glob("*.txt"))
    rewrite_title, _, rewrite_body = rewrite.read_text(encoding="utf-8").strip().partition("\n")
    return [
        Item(
            "seed-rewrite",
            rewrite_title.strip(),
            "https://rewrite.example/estonia-leader?utm_source=rss",
            rewrite_body,
            published[0],
        ),
        Item(
            "seed-menafn",
            "Estonian PM Kallas declines to rule out sending troops to Ukraine",
            "https://menafn.example/kallas-troops",
            menafn.read_text(encoding="utf-8"),
            published[1],
        ),
    ]


def render_rss(title: str, items: list[Item]) -> bytes:
    body = "".join(
        f"<item><guid isPermaLink='false'>{escape(i.guid)}</guid><title>{escape(i.title)}</title>"
        f"<link>{escape(i.link)}</link><pubDate>{format_datetime(i.published)}</pubDate>"
        f"<description>{escape(i.body)}</description></item>"
        for i in items
    )
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>{escape(title)}</title>"
        f"<link>https://feeds.example/</link>{body}</channel></rss>"
    ).encode()


@dataclass
class FeedServer:
    """Serves `feeds[path]` as RSS, `raw[path]` as given and `pages[path]` as HTML, each after `delays[path]`
    seconds, with the status `statuses[path]` (default 200) and the extra `headers[path]`; `requests` counts
    hits per path, `times` holds their time.monotonic()."""

    feeds: dict[str, list[Item]] = field(default_factory=dict)
    pages: dict[str, str] = field(default_factory=dict)
    raw: dict[str, bytes] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    statuses: dict[str, int] = field(default_factory=dict)
    headers: dict[str, dict[str, str]] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    times: dict[str, list[float]] = field(default_factory=dict)
    base_url: str = ""
    _runner: web.AppRunner | None = None

    async def _serve(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.requests[path] = self.requests.get(path, 0) + 1
        self.times.setdefault(path, []).append(time.monotonic())
        if path in self.delays:
            await asyncio.sleep(self.delays[path])
        if path in self.statuses:
            return web.Response(status=self.statuses[path], headers=self.headers.get(path), text="busy")
        if path in self.raw:
            return web.Response(body=self.raw[path], content_type="application/rss+xml", headers=self.headers.get(path))
        if path in self.pages:
            return web.Response(text=self.pages[path], content_type="text/html")
        if path not in self.feeds:
            return web.Response(status=404, text="no such feed")
        return web.Response(body=render_rss(path, self.feeds[path]), content_type="application/rss+xml")

    async def start(self) -> FeedServer:
        app = web.Application()
        app.router.add_get("/{path}", self._serve)
        self._runner = web.AppRunner(app)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path}"
