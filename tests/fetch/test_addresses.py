"""The redirect policy (case 7): decided on resolved addresses before connecting, so these tests send no
traffic anywhere but 127.0.0.1; addresses elsewhere are only classified, never contacted."""

from __future__ import annotations

import ipaddress

import pytest
from aiohttp import web

from bot.fetch.addresses import Reach, reach, refusal, resolve
from bot.fetch.http import Fetcher, FetchFailure, FetchLimits, FetchResult
from tests.fetch.servers import Serve, app_with, reply


def ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address:
    return ipaddress.ip_address(text)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.216.34", Reach.PUBLIC),
        ("2606:4700::1111", Reach.PUBLIC),
        ("127.0.0.1", Reach.LOCAL),
        ("127.8.9.10", Reach.LOCAL),
        ("::1", Reach.LOCAL),
        ("10.1.2.3", Reach.LOCAL),
        ("172.16.0.9", Reach.LOCAL),
        ("192.168.1.1", Reach.LOCAL),
        ("100.64.0.1", Reach.LOCAL),
        ("fd12:3456::1", Reach.LOCAL),
        ("::ffff:192.168.1.1", Reach.LOCAL),
        ("169.254.169.254", Reach.FORBIDDEN),
        ("169.254.10.10", Reach.FORBIDDEN),
        ("fe80::1", Reach.FORBIDDEN),
        ("fd00:ec2::254", Reach.FORBIDDEN),
        ("100.100.100.200", Reach.FORBIDDEN),
        ("0.0.0.0", Reach.FORBIDDEN),
        ("224.0.0.1", Reach.FORBIDDEN),
        ("240.0.0.1", Reach.FORBIDDEN),
        ("::ffff:169.254.169.254", Reach.FORBIDDEN),
    ],
)
def test_addresses_are_classified(address: str, kind: Reach) -> None:
    assert reach(ip(address)) is kind


def test_public_feeds_may_not_reach_private_addresses_local_feeds_may_but_never_metadata() -> None:
    public, local = [ip("93.184.216.34")], [ip("192.168.1.20")]
    assert refusal(public, [ip("151.101.1.1")]) is None
    assert "private or loopback" in (refusal(public, [ip("127.0.0.1")]) or "")
    assert "private or loopback" in (refusal(public, [ip("151.101.1.1"), ip("10.0.0.1")]) or "")
    assert refusal(local, [ip("10.0.0.1")]) is None
    assert refusal(local, [ip("151.101.1.1")]) is None
    for always in ("169.254.169.254", "fe80::1", "fd00:ec2::254"):
        assert "link-local, metadata" in (refusal(local, [ip(always)]) or ""), always
        assert "link-local, metadata" in (refusal(public, [ip(always)]) or ""), always


async def test_literals_resolve_to_themselves_and_localhost_to_loopback() -> None:
    assert await resolve("169.254.169.254", 80) == [ip("169.254.169.254")]
    assert await resolve("[::1]", 80) == [ip("::1")]
    assert all(reach(a) is Reach.LOCAL for a in await resolve("localhost", 80))


async def test_redirects_to_metadata_and_link_local_are_refused_before_connecting(serve: Serve) -> None:
    """The issue's probe: a feed's 302 to another address was fetched and alerted on."""
    base = await serve(
        app_with(
            web.get("/meta", reply(status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"})),
            web.get("/link-local", reply(status=307, headers={"Location": "http://[fe80::1]:8080/feed"})),
            web.get("/local", reply(status=302, headers={"Location": "/feed"})),
            web.get("/feed", reply(b"<rss/>")),
        )
    )
    async with Fetcher(FetchLimits(connect_timeout=1, total_timeout=2)) as fetcher:
        meta = await fetcher.fetch(f"{base}/meta")
        assert isinstance(meta, FetchFailure)
        assert meta.message == (
            "redirect refused to go to 169.254.169.254: a link-local, metadata or reserved address"
        )
        assert meta.elapsed < 1, "refused before any connection attempt"
        link_local = await fetcher.fetch(f"{base}/link-local")
        assert isinstance(link_local, FetchFailure) and "fe80::1" in link_local.message
        # A feed configured on 127.0.0.1 may redirect within local addresses.
        assert isinstance(await fetcher.fetch(f"{base}/local"), FetchResult)


async def test_article_links_of_a_public_feed_may_not_reach_local_addresses(serve: Serve) -> None:
    base = await serve(app_with(web.get("/page", reply(b"<html>secret</html>"))))
    async with Fetcher() as fetcher:
        from_public = await fetcher.fetch(f"{base}/page", origin="http://93.184.216.34/feed.xml")
        assert isinstance(from_public, FetchFailure)
        assert from_public.message.endswith("a private or loopback address, and the feed is not on one")
        assert isinstance(await fetcher.fetch(f"{base}/page", origin=f"{base}/feed.xml"), FetchResult)
        assert isinstance(await fetcher.fetch(f"{base}/page", origin="file:///srv/feeds/local.xml"), FetchResult)
