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


def _json_feed(items: str) -> bytes:
    return ('{"version": "https://jsonfeed.org/version/1.1", "title": "J", "items": [' + items + "]}").encode()


def _story(n: int, link: str | None = None, title: str | None = None) -> str:
    """One RSS item that the shipped cyber-attack rule matches, worded apart from the others."""
    words = ["Harbor", "Valley", "Northern", "Coastal", "Metro", "Upland", "Island", "Desert", "River", "Summit"]
    place = words[n % len(words)]
    link = link if link is not None else f"https://news.example.com/{n}"
    return (
        f"<item><guid>urn:hostile:{n}</guid><title>{title or f'Hackers hit the {place} power grid'}</title>"
        f"<link>{link}</link><description>Ransomware struck the {place} {n} grid operator overnight."
        "</description></item>"
    )


def hostile_feed(*items: str, extra: str = "") -> bytes:
    return (
        f"<?xml version='1.0' encoding='utf-8'?><rss version='2.0'><channel><title>Hostile</title>{extra}"
        + "".join(items)
        + "</channel></rss>"
    ).encode()


def hostile_routes() -> dict[str, tuple[bytes, int, dict[str, str]]]:
    """The issue's hostile feeds, by path: body, status and headers. Each feed holds one item the shipped
    cyber-attack rule matches (stored, never lost); the one that answers 503 holds none."""
    deep = "[" * 100_000 + "]" * 100_000
    return {
        "surrogate.json": (
            _json_feed(
                '{"id": "s", "title": "Hackers \\ud800 hit the grid \\u001b]0;owned\\u0007",'
                ' "content_text": "Ransomware struck the grid \\ud800 operator."}'
            ),
            200,
            {},
        ),
        "nul.json": (
            _json_feed(
                '{"id": "n", "title": "Hackers \\u0000 hit the grid",'
                ' "content_text": "Ransomware struck the \\u0000 grid operator."}'
            ),
            200,
            {},
        ),
        "deep.json": (
            _json_feed(
                '{"id": "d1", "title": "x", "attachments": ' + deep + "},"
                ' {"id": "d2", "title": "Hackers hit the Valley grid",'
                ' "content_text": "Ransomware struck the valley grid operator."}'
            ),
            200,
            {},
        ),
        "max-age.xml": (hostile_feed(_story(1)), 200, {"Cache-Control": "max-age=9999999999999"}),
        "retry-after.xml": (b"busy", 503, {"Retry-After": "9999999999999"}),
        "ttl.xml": (hostile_feed(_story(2), extra="<ttl>5000000000</ttl>"), 200, {}),
        "ttl-huge.xml": (hostile_feed(_story(3), extra="<ttl>99999999999999</ttl>"), 200, {}),
        "bad-link.xml": (hostile_feed(_story(4, link="http://[::1/x"), _story(5)), 200, {}),
        "spaces.xml": (hostile_feed(_story(6, link="http://127.0.0.1/a b c")), 200, {}),
        "escapes.xml": (hostile_feed(_story(7, title="Hackers \x1b[2J hit the \x1b]0;pwned\x07 Desert grid")), 200, {}),
        "metadata-redirect.xml": (b"", 302, {"Location": "http://169.254.169.254/latest/meta-data/"}),
    }


def hostile_app() -> web.Application:
    routes = hostile_routes()

    async def handler(request: web.Request) -> web.Response:
        body, status, headers = routes[request.match_info["name"]]
        return web.Response(body=body, status=status, headers=headers)

    return app_with(web.get("/{name}", handler))
