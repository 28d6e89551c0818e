"""poll_feed skips the items it parsed last time, and only when their entries were surely stored."""

from __future__ import annotations

import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
from aiohttp import web

from bot.fetch.http import Fetcher, FetchLimits
from bot.fetch.limits import HostLimiter
from bot.fetch.parse_pool import ParsePool
from bot.fetch.poll import Poller, PollOutcome, PollStatus, poll_feed
from bot.fetch.poll_policy import PollPolicy
from bot.model import FeedState
from tests.fetch.servers import Serve, app_with

NOW = datetime(2024, 1, 10, 12, 0, tzinfo=UTC)


def wire(*stories: int) -> bytes:
    """An RSS 2.0 feed of the given story numbers, newest first, each always the same bytes."""
    items = "".join(
        f"<item><title>Story {n}</title><link>https://wire.example/{n}</link><guid>urn:wire:{n}</guid>"
        f"<pubDate>Tue, 09 Jan 2024 {n:02d}:00:00 GMT</pubDate><description>Body {n}</description></item>"
        for n in stories
    )
    return (
        f'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Wire</title>'
        f"<link>https://wire.example/</link><lastBuildDate>{len(stories)}</lastBuildDate>{items}</channel></rss>"
    ).encode()


class Feed:
    """Serves whatever body the test sets, without validators, or a 503 while `down`."""

    def __init__(self) -> None:
        self.body = b""
        self.down = False

    async def handle(self, request: web.Request) -> web.Response:
        if self.down:
            return web.Response(status=503)
        return web.Response(body=self.body, content_type="application/rss+xml")


@pytest.fixture(params=[False, True], ids=["threads", "processes"])
async def poller(request: pytest.FixtureRequest) -> AsyncIterator[Poller]:
    limits = FetchLimits(connect_timeout=1, read_timeout=1, total_timeout=2)
    with ParsePool(1, processes=request.param) as pool:
        async with Fetcher(limits, HostLimiter(10, 4)) as fetcher:
            yield Poller(fetcher, pool, PollPolicy(jitter=0.0, rng=random.Random(1)))


def titles(outcome: PollOutcome) -> list[str]:
    assert outcome.status is PollStatus.PARSED and outcome.entries is not None
    return [e.title for e in outcome.entries]


async def test_only_new_items_come_out_with_the_same_state(serve: Serve, poller: Poller) -> None:
    feed = Feed()
    base = await serve(app_with(web.get("/rss", feed.handle)))
    state = FeedState(url=f"{base}/rss", name="Wire")
    feed.body = wire(5, 4, 3, 2)
    first = await poll_feed(state, poller, now=NOW)
    assert titles(first) == ["Story 5", "Story 4", "Story 3", "Story 2"], "the first poll parses in full"

    feed.body = wire(7, 6, 5, 4)
    later = NOW + timedelta(hours=1)
    second = await poll_feed(first.state, poller, now=later)
    assert titles(second) == ["Story 7", "Story 6"]

    poller.items.clear()  # the same poll without the shortcut, for reference
    full = await poll_feed(first.state, poller, now=later)
    assert titles(full) == ["Story 7", "Story 6", "Story 5", "Story 4"]
    assert second.state == full.state, "rate, newest date, hash and schedule are those of a full parse"
    assert (second.title, second.link) == (full.title, full.link)


async def test_after_an_error_or_an_unstored_poll_the_feed_is_parsed_in_full(serve: Serve, poller: Poller) -> None:
    feed = Feed()
    base = await serve(app_with(web.get("/rss", feed.handle)))
    feed.body = wire(3, 2, 1)
    first = await poll_feed(FeedState(url=f"{base}/rss", name="Wire"), poller, now=NOW)

    feed.down = True
    failed = await poll_feed(first.state, poller, now=NOW + timedelta(minutes=5))
    assert failed.status is PollStatus.FAILED
    feed.down = False
    feed.body = wire(4, 3, 2)
    recovered = await poll_feed(failed.state, poller, now=NOW + timedelta(minutes=10))
    assert titles(recovered) == ["Story 4", "Story 3", "Story 2"]

    feed.body = wire(5, 4, 3)
    lost = await poll_feed(recovered.state, poller, now=NOW + timedelta(minutes=15))
    assert titles(lost) == ["Story 5"]
    feed.body = wire(6, 5, 4)
    # The pipeline could not store `lost`: the stored state still has the hash of `recovered`.
    retried = await poll_feed(recovered.state, poller, now=NOW + timedelta(minutes=20))
    assert titles(retried) == ["Story 6", "Story 5", "Story 4"]


async def test_a_restart_parses_in_full_once(serve: Serve, poller: Poller) -> None:
    feed = Feed()
    base = await serve(app_with(web.get("/rss", feed.handle)))
    feed.body = wire(2, 1)
    first = await poll_feed(FeedState(url=f"{base}/rss", name="Wire"), poller, now=NOW)
    restarted = Poller(poller.fetcher, poller.parser)
    feed.body = wire(3, 2)
    again = await poll_feed(first.state, restarted, now=NOW + timedelta(hours=1))
    assert titles(again) == ["Story 3", "Story 2"]
    feed.body = wire(4, 3)
    assert titles(await poll_feed(again.state, restarted, now=NOW + timedelta(hours=2))) == ["Story 4"]
