"""The fetcher against real misbehaving servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import socket
import tracemalloc
import zlib
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from aiohttp import web

from bot import clock
from bot.fetch.http import USER_AGENT, Fetcher, FetchFailure, FetchLimits, FetchResult
from bot.fetch.limits import HostLimiter
from tests.fetch.servers import Serve, app_with, reply, rss

MB = 1024 * 1024


@pytest.fixture
async def fetcher() -> AsyncIterator[Fetcher]:
    limits = FetchLimits(connect_timeout=2, read_timeout=0.5, total_timeout=1.5, max_bytes=1 * MB, max_redirects=3)
    async with Fetcher(limits, HostLimiter(concurrency=20, per_host=4)) as fetcher:
        yield fetcher


def ok(result: FetchResult | FetchFailure) -> FetchResult:
    assert isinstance(result, FetchResult), result
    return result


def failed(result: FetchResult | FetchFailure) -> FetchFailure:
    assert isinstance(result, FetchFailure), result
    return result


async def test_plain_get_returns_body_validators_hash_and_names_the_bot(serve: Serve, fetcher: Fetcher) -> None:
    seen: dict[str, str] = {}
    body = rss("One")

    async def feed(request: web.Request) -> web.Response:
        seen["ua"] = request.headers["User-Agent"]
        headers = {"ETag": '"v1"', "Last-Modified": "Mon, 01 Jan 2024 00:00:00 GMT"}
        return web.Response(body=body, content_type="application/rss+xml", headers=headers)

    base = await serve(app_with(web.get("/feed", feed)))
    result = ok(await fetcher.fetch(f"{base}/feed"))
    assert (result.status, result.body, result.etag) == (200, body, '"v1"')
    assert result.last_modified == "Mon, 01 Jan 2024 00:00:00 GMT"
    assert result.content_hash == hashlib.sha256(body).hexdigest()
    assert result.content_type == "application/rss+xml"
    assert seen["ua"] == USER_AGENT and USER_AGENT.startswith("newsbot/")


async def test_conditional_get_gets_304_and_an_empty_body(serve: Serve, fetcher: Fetcher) -> None:
    async def feed(request: web.Request) -> web.Response:
        if request.headers.get("If-None-Match") == '"v1"':
            return web.Response(status=304, headers={"Cache-Control": "max-age=600"})
        if request.headers.get("If-Modified-Since") == "Mon, 01 Jan 2024 00:00:00 GMT":
            return web.Response(status=304)
        return web.Response(body=rss("One"), headers={"ETag": '"v1"'})

    base = await serve(app_with(web.get("/feed", feed)))
    by_etag = ok(await fetcher.fetch(f"{base}/feed", etag='"v1"'))
    assert by_etag.not_modified and by_etag.body == b"" and by_etag.content_hash is None
    assert by_etag.hints.fresh_until is not None
    assert by_etag.hints.fresh_until - clock.now() > timedelta(seconds=590)
    by_date = ok(await fetcher.fetch(f"{base}/feed", last_modified="Mon, 01 Jan 2024 00:00:00 GMT"))
    assert by_date.not_modified
    assert not ok(await fetcher.fetch(f"{base}/feed", etag='"old"')).not_modified


async def test_slow_server_times_out_with_a_clear_sentence(serve: Serve, fetcher: Fetcher) -> None:
    async def slow(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=b"late")

    base = await serve(app_with(web.get("/slow", slow)))
    failure = failed(await fetcher.fetch(f"{base}/slow"))
    assert failure.message == f"no answer in 0.5 s from {base.removeprefix('http://')}"
    assert failure.network


async def test_trickling_server_hits_the_total_time_cap(serve: Serve, fetcher: Fetcher) -> None:
    async def trickle(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse()
        await response.prepare(request)
        for _ in range(100):
            await response.write(b"<")
            await asyncio.sleep(0.2)
        return response

    base = await serve(app_with(web.get("/trickle", trickle)))
    failure = failed(await fetcher.fetch(f"{base}/trickle"))
    assert failure.message == "no complete answer in 1.5 s (the most a fetch may take)"


@pytest.mark.parametrize("chunked", [False, True])
async def test_huge_body_is_refused(serve: Serve, fetcher: Fetcher, chunked: bool) -> None:
    async def huge(request: web.Request) -> web.StreamResponse:
        if not chunked:
            return web.Response(body=b"x" * (2 * MB))
        response = web.StreamResponse()
        response.enable_chunked_encoding()
        await response.prepare(request)
        for _ in range(32):
            await response.write(b"x" * 65536)
        return response

    base = await serve(app_with(web.get("/huge", huge)))
    assert failed(await fetcher.fetch(f"{base}/huge")).message == "body over 1 MB"


async def test_gzip_bomb_is_refused_and_honest_gzip_is_decoded(serve: Serve, fetcher: Fetcher) -> None:
    bomb = gzip.compress(b"\0" * (64 * MB), compresslevel=9)
    assert len(bomb) < MB // 8
    honest = rss("Compressed")

    packer = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = packer.compress(honest) + packer.flush()

    def compressed(data: bytes, encoding: str) -> web.RouteDef:
        headers = {"Content-Encoding": encoding, "Content-Type": "text/xml"}
        return web.get(f"/{encoding}/{len(data)}", reply(data, headers=headers))

    routes = [
        compressed(bomb, "gzip"),
        compressed(gzip.compress(honest), "gzip"),
        compressed(zlib.compress(honest), "deflate"),
        compressed(raw_deflate, "deflate"),
    ]
    base = await serve(app_with(*routes))
    paths = [route.path for route in routes]
    tracemalloc.start()
    try:
        refused = failed(await fetcher.fetch(base + paths[0]))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert refused.message == "body over 1 MB"
    assert peak < 8 * MB, "the bomb was inflated in memory before being refused"
    for path in paths[1:]:
        assert ok(await fetcher.fetch(base + path)).body == honest, path


async def test_redirects_are_followed_loops_and_chains_are_refused(serve: Serve, fetcher: Fetcher) -> None:
    async def hop(request: web.Request) -> web.Response:
        return web.Response(status=302, headers={"Location": f"/hop/{int(request.match_info['n']) + 1}"})

    base = await serve(
        app_with(
            web.get("/old", reply(status=301, headers={"Location": "/new"})),
            web.get("/new", reply(b"moved")),
            web.get("/a", reply(status=302, headers={"Location": "/b"})),
            web.get("/b", reply(status=307, headers={"Location": "/a"})),
            web.get("/hop/{n}", hop),
            web.get("/to-file", reply(status=302, headers={"Location": "file:///etc/passwd"})),
        )
    )
    moved = ok(await fetcher.fetch(f"{base}/old"))
    assert (moved.body, moved.final_url, moved.url) == (b"moved", f"{base}/new", f"{base}/old")
    assert failed(await fetcher.fetch(f"{base}/a")).message == "redirect loop"
    assert failed(await fetcher.fetch(f"{base}/hop/0")).message == "too many redirects (more than 3)"
    assert failed(await fetcher.fetch(f"{base}/to-file")).message == "redirected to a non-HTTP URL"


async def test_429_and_503_carry_retry_after(serve: Serve, fetcher: Fetcher) -> None:
    later = clock.now().replace(microsecond=0) + timedelta(hours=2)
    http_date = later.strftime("%a, %d %b %Y %H:%M:%S GMT")
    base = await serve(
        app_with(
            web.get("/busy", reply(status=429, headers={"Retry-After": "120"})),
            web.get("/down", reply(status=503, headers={"Retry-After": http_date})),
            web.get("/gone", reply(status=404)),
        )
    )
    busy = failed(await fetcher.fetch(f"{base}/busy"))
    assert (busy.message, busy.status, busy.network) == ("HTTP 429", 429, False)
    assert busy.hints.retry_after is not None
    assert timedelta(seconds=110) < busy.hints.retry_after - clock.now() <= timedelta(seconds=120)
    down = failed(await fetcher.fetch(f"{base}/down"))
    assert (down.message, down.hints.retry_after) == ("HTTP 503", later)
    gone = failed(await fetcher.fetch(f"{base}/gone"))
    assert (gone.message, gone.hints.retry_after) == ("HTTP 404", None)


async def test_expires_header_is_a_freshness_hint(serve: Serve, fetcher: Fetcher) -> None:
    expires = clock.now().replace(microsecond=0) + timedelta(minutes=30)
    header = {"Expires": expires.strftime("%a, %d %b %Y %H:%M:%S GMT")}
    base = await serve(app_with(web.get("/f", reply(b"x", headers=header))))
    assert ok(await fetcher.fetch(f"{base}/f")).hints.fresh_until == expires


async def test_file_urls_are_read_under_the_same_cap(tmp_path: Path, fetcher: Fetcher) -> None:
    small = tmp_path / "feed.xml"
    small.write_bytes(rss("Local"))
    big = tmp_path / "big.xml"
    big.write_bytes(b"x" * (MB + 1))
    assert ok(await fetcher.fetch(small.as_uri())).body == rss("Local")
    assert failed(await fetcher.fetch(big.as_uri())).message == "body over 1 MB"
    missing = failed(await fetcher.fetch((tmp_path / "nope.xml").as_uri()))
    assert missing.message.startswith("cannot read ") and "No such file" in missing.message


async def test_refused_connection_and_bad_schemes_are_per_feed_errors(fetcher: Fetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    refused = failed(await fetcher.fetch(f"http://127.0.0.1:{port}/feed"))
    assert refused.message == f"connection refused by 127.0.0.1:{port} (no server listens there)"
    assert refused.network
    assert failed(await fetcher.fetch("gopher://127.0.0.1/feed")).message == "unsupported URL scheme 'gopher'"


async def test_connections_are_reused_per_host_and_idle_hosts_are_let_go(serve: Serve) -> None:
    peers: dict[str, set[object]] = {}

    def counting(name: str) -> web.RouteDef:
        async def handler(request: web.Request) -> web.Response:
            peers.setdefault(name, set()).add(
                request.transport.get_extra_info("peername") if request.transport else None
            )
            return web.Response(body=b"ok")

        return web.get("/", handler)

    hosts = {name: await serve(app_with(counting(name))) for name in "abcde"}
    async with Fetcher(FetchLimits(), HostLimiter(concurrency=1, per_host=1)) as fetcher:
        for _ in range(10):
            assert ok(await fetcher.fetch(hosts["a"] + "/")).body == b"ok"
        assert len(peers["a"]) == 1, "one host's requests share one kept-alive connection"
        for _ in range(3):
            for name in "bcde":
                assert ok(await fetcher.fetch(hosts[name] + "/")).body == b"ok"
    assert all(len(peers[name]) == 3 for name in "bcde"), "idle hosts beyond 2 x concurrency are disconnected"


async def test_an_unknown_host_is_said_in_plain_words(fetcher: Fetcher) -> None:
    """The C library refuses a name that starts with a hyphen without asking a DNS server (no traffic leaves
    this machine), with the same answer as for a name no server knows."""
    unknown = failed(await fetcher.fetch("http://-no-such-host.example/feed.xml"))
    assert unknown.message == "no such host: -no-such-host.example"
    assert unknown.network


async def test_a_silent_server_is_named_before_the_timeout(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    async def silent(request: web.Request) -> web.Response:
        await asyncio.sleep(5)
        return web.Response(body=b"late")

    base = await serve(app_with(web.get("/silent", silent)))
    limits = FetchLimits(read_timeout=1.0)
    async with Fetcher(limits) as fetcher:
        with caplog.at_level(logging.WARNING, logger="bot.fetch.http"):
            failure = failed(await fetcher.fetch(f"{base}/silent", label="Harbour Times"))
            quick = await fetcher.fetch(f"{base}/silent", label=None)
    where = base.removeprefix("http://")
    assert failure.message == f"no answer in 1 s from {where}"
    assert isinstance(quick, FetchFailure)
    assert [record.getMessage() for record in caplog.records] == [
        f"Harbour Times: no answer from {where} in 0.25 s; waiting up to 1 s"
    ]
