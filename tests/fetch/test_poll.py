"""poll_feed end to end against real local servers: skip paths, errors, backoff, outage, notices."""

from __future__ import annotations

import random
import socket
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path

import pytest
from aiohttp import web

from bot import clock
from bot.fetch.http import Fetcher, FetchLimits
from bot.fetch.limits import HostLimiter
from bot.fetch.parse_pool import ParsePool
from bot.fetch.poll import Poller, PollStatus, poll_feed
from bot.fetch.poll_policy import OutageDetector, PollPolicy
from bot.model import FeedState
from bot.parse.feed import FeedParseError, parse_feed
from tests.fetch.servers import Serve, app_with, reply, rss

NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


@pytest.fixture
async def poller() -> AsyncIterator[Poller]:
    limits = FetchLimits(connect_timeout=1, read_timeout=1, total_timeout=2)
    with ParsePool(2, processes=False) as pool:
        async with Fetcher(limits, HostLimiter(10, 4)) as fetcher:
            yield Poller(fetcher, pool, PollPolicy(jitter=0.1, rng=random.Random(3)), OutageDetector())


class Publisher:
    """A feed whose body the test changes; serves ETags (or not) and counts requests."""

    def __init__(self, body: bytes, validators: bool = True, content_type: str = "application/rss+xml") -> None:
        self.body = body
        self.validators = validators
        self.content_type = content_type
        self.requests = 0
        self.accept = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.requests += 1
        self.accept = request.headers.get("Accept", "")
        etag = f'"{hash(self.body)}"'
        if self.validators and request.headers.get("If-None-Match") == etag:
            return web.Response(status=304)
        headers = {"ETag": etag} if self.validators else {}
        return web.Response(body=self.body, headers={**headers, "Content-Type": self.content_type})


async def test_parse_then_304_then_change(serve: Serve, poller: Poller) -> None:
    publisher = Publisher(rss("Kallas visits Kyiv", "Troops deployed"))
    base = await serve(app_with(web.get("/rss", publisher.handle)))
    state = FeedState(url=f"{base}/rss", name="ERR News")

    first = await poll_feed(state, poller, now=NOW)
    assert first.status is PollStatus.PARSED and first.error is None
    assert first.entries is not None
    assert [e.title for e in first.entries] == ["Kallas visits Kyiv", "Troops deployed"]
    assert {e.outlet for e in first.entries} == {"ERR News"}
    assert first.entries[0].url == "https://news.example.com/0", "tracking parameters are stripped"
    assert (first.title, first.link) == ("Test Wire", "https://news.example.com/")
    assert first.state.etag and first.state.content_hash and first.state.last_success_at == NOW
    assert first.state.newest_entry_at == datetime(2024, 1, 2, 12, tzinfo=UTC)
    assert first.state.items_per_day is not None
    assert first.state.next_poll_at is not None and first.state.next_poll_at > NOW

    second = await poll_feed(first.state, poller, now=NOW + timedelta(minutes=10))
    assert (second.status, second.entries) == (PollStatus.NOT_MODIFIED, None)
    assert second.state.etag == first.state.etag

    publisher.body = rss("Kallas visits Kyiv", "Troops deployed", "New item")
    third = await poll_feed(second.state, poller, now=NOW + timedelta(minutes=20))
    assert third.status is PollStatus.PARSED
    assert third.entries is not None
    assert [e.title for e in third.entries] == ["New item"], "items stored last time are not parsed again"
    assert publisher.requests == 3
    assert publisher.accept.startswith("application/rss+xml, application/atom+xml")


async def test_identical_body_without_validators_is_not_parsed_again(serve: Serve, poller: Poller) -> None:
    publisher = Publisher(rss("Same story"), validators=False)
    base = await serve(app_with(web.get("/rss", publisher.handle)))
    first = await poll_feed(FeedState(url=f"{base}/rss", name="Wire"), poller, now=NOW)
    again = await poll_feed(first.state, poller, now=NOW + timedelta(minutes=5))
    assert (first.status, again.status, again.entries) == (PollStatus.PARSED, PollStatus.UNCHANGED, None)
    assert again.state.last_success_at == NOW + timedelta(minutes=5)


async def test_empty_feed_yields_no_entries_and_no_error(serve: Serve, poller: Poller) -> None:
    publisher = Publisher(rss(channel="Quiet Blog"))
    base = await serve(app_with(web.get("/rss", publisher.handle)))
    outcome = await poll_feed(FeedState(url=f"{base}/rss", name=""), poller, now=NOW)
    assert (outcome.status, outcome.entries, outcome.error) == (PollStatus.PARSED, [], None)
    assert outcome.title == "Quiet Blog" and outcome.state.consecutive_errors == 0


async def test_html_instead_of_a_feed_fails_every_time_until_fixed(serve: Serve, poller: Poller) -> None:
    page = b"<!DOCTYPE html><html><head><title>Login</title></head><body><p>Sign in</p></body></html>"
    publisher = Publisher(page, content_type="text/html; charset=utf-8")
    base = await serve(app_with(web.get("/rss", publisher.handle)))
    first = await poll_feed(FeedState(url=f"{base}/rss", name="Wire"), poller, now=NOW)
    assert (first.status, first.error) == (PollStatus.FAILED, "not a feed: got text/html")
    assert first.state.content_hash is None and first.state.etag is None, "a broken body is not remembered"
    second = await poll_feed(first.state, poller, now=NOW + timedelta(minutes=5))
    assert second.status is PollStatus.FAILED and second.state.consecutive_errors == 2
    assert second.state.failing_since == NOW
    publisher.body = rss("Back")
    fixed = await poll_feed(second.state, poller, now=NOW + timedelta(minutes=30))
    assert fixed.status is PollStatus.PARSED
    assert (fixed.state.consecutive_errors, fixed.state.failing_since) == (0, None)
    assert fixed.state.last_error == "not a feed: got text/html", "the last error stays visible in /status"


async def test_wrong_declared_encoding_is_read_correctly(serve: Serve, poller: Poller) -> None:
    body = rss("Tallinn café, Tartu ülikool").replace(b'encoding="utf-8"', b'encoding="windows-1252"')
    publisher = Publisher(body, content_type="text/xml; charset=iso-8859-1")
    base = await serve(app_with(web.get("/rss", publisher.handle)))
    outcome = await poll_feed(FeedState(url=f"{base}/rss", name="Wire"), poller, now=NOW)
    assert outcome.entries is not None
    assert outcome.entries[0].title == "Tallinn café, Tartu ülikool"


async def test_503_with_retry_after_backs_off_no_earlier_than_asked(serve: Serve, poller: Poller) -> None:
    base = await serve(app_with(web.get("/rss", reply(status=503, headers={"Retry-After": "7200"}))))
    state = FeedState(url=f"{base}/rss", name="ERR News", every=timedelta(minutes=5))
    outcome = await poll_feed(state, poller)
    assert (outcome.status, outcome.error) == (PollStatus.FAILED, "HTTP 503")
    assert outcome.state.consecutive_errors == 1
    assert outcome.state.next_poll_at is not None
    assert outcome.state.next_poll_at >= clock.now() + timedelta(seconds=7100)


async def test_long_outage_notice_names_feed_duration_and_error(serve: Serve, poller: Poller) -> None:
    base = await serve(app_with(web.get("/rss", reply(status=503))))
    state = FeedState(url=f"{base}/rss", name="ERR News")
    first = await poll_feed(state, poller, now=NOW)
    assert first.notice is None
    later = await poll_feed(first.state, poller, now=NOW + timedelta(hours=6, minutes=5))
    assert later.notice == "ERR News has failed for 6 h: HTTP 503"
    again = await poll_feed(later.state, poller, now=NOW + timedelta(hours=7))
    assert again.notice is None


def closed_port_url() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{probe.getsockname()[1]}/rss"


async def test_when_every_host_is_unreachable_feeds_are_not_blamed(poller: Poller) -> None:
    states = [FeedState(url=closed_port_url(), name=f"Feed {n}", consecutive_errors=2) for n in range(5)]
    outcomes = [await poll_feed(s, poller, now=NOW) for s in states]
    counts = [o.state.consecutive_errors for o in outcomes]
    assert counts[:2] == [3, 3], "before the outage is evident, failures count"
    assert counts[2:] == [2, 2, 2], "once every host is silent, the network is ours to blame"
    assert [o.outage for o in outcomes] == [False, False, True, True, True]
    assert all(o.error and o.error.startswith("connection refused by 127.0.0.1:") for o in outcomes)


async def test_parsing_in_worker_processes(serve: Serve) -> None:
    publisher = Publisher(rss("From a worker process"))
    base = await serve(app_with(web.get("/rss", publisher.handle)))
    with ParsePool(1, processes=True) as pool:
        async with Fetcher() as fetcher:
            poller = Poller(fetcher, pool)
            outcome = await poll_feed(FeedState(url=f"{base}/rss", name="Wire"), poller)
            not_a_feed = partial(parse_feed, b"<html>nope</html>", feed_url=f"{base}/x", name="", content_type=None)
            with pytest.raises(FeedParseError, match="not a feed: got text/html"):
                await pool.run(not_a_feed)
    assert outcome.entries is not None and outcome.entries[0].title == "From a worker process"


async def test_file_feeds_are_polled_and_skipped_when_unchanged(tmp_path: Path, poller: Poller) -> None:
    feed = tmp_path / "demo.xml"
    feed.write_bytes(rss("Local story"))
    first = await poll_feed(FeedState(url=feed.as_uri(), name="Demo"), poller, now=NOW)
    again = await poll_feed(first.state, poller, now=NOW + timedelta(minutes=5))
    assert (first.status, again.status) == (PollStatus.PARSED, PollStatus.UNCHANGED)
    assert first.entries is not None and first.entries[0].outlet == "Demo"
