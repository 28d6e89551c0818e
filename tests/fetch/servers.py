"""Small aiohttp handlers the fetch tests and the poll tests share."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from aiohttp import web

Serve = Callable[[web.Application], Awaitable[str]]


def app_with(*routes: web.RouteDef) -> web.Application:
    app = web.Application()
    app.add_routes(list(routes))
    return app


def rss(*titles: str, channel: str = "Test Wire", ttl: int | None = None) -> bytes:
    """A small RSS 2.0 document with one dated item per title."""
    items = "".join(
        f"<item><title>{t}</title><link>https://news.example.com/{i}?utm_source=rss</link>"
        f"<guid>urn:test:{i}</guid><pubDate>Mon, 0{1 + i % 9} Jan 2024 12:00:00 GMT</pubDate>"
        f"<description>&lt;p&gt;Story {i}&lt;/p&gt;</description></item>"
        for i, t in enumerate(titles)
    )
    ttl_tag = f"<ttl>{ttl}</ttl>" if ttl is not None else ""
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>{channel}</title>'
        f"<link>https://news.example.com/</link>{ttl_tag}{items}</channel></rss>"
    ).encode()


def reply(
    body: bytes = b"", status: int = 200, headers: dict[str, str] | None = None
) -> Callable[[web.Request], Awaitable[web.Response]]:
    """A handler that always answers the same."""

    async def handler(request: web.Request) -> web.Response:
        return web.Response(body=body, status=status, headers=headers)

    return handler
