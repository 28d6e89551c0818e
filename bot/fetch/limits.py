"""Politeness: a global cap on requests in flight, a per-host cap, and jitter.

A bulk import of 500 feeds from one publisher must never turn into 500 simultaneous requests to
its server (that is how feed readers get banned), and a thousand jobs due at the same second
should spread out instead of arriving as a burst.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import datetime, timedelta
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
START_SPACING = timedelta(milliseconds=100)
"""Feeds due at once start this far apart on average ..."""
START_WINDOW = timedelta(minutes=1)
"""... within at most this long: a handful start at once, thousands never in one burst."""


def host_key(url: str) -> str:
    """The server a URL talks to: lower-case host plus any non-default port."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError:  # not a URL at all (`http://[::1/`): nothing to be polite to
        return ""
    try:
        port = parts.port
    except ValueError:
        port = None
    if port is None or port == _DEFAULT_PORTS.get(parts.scheme.lower()):
        return host
    return f"{host}:{port}"


class HostLimiter:
    """At most `concurrency` requests in flight overall and `per_host` to any one server.

    A request first waits for its host's slot, then for a global one, so requests queued behind a
    busy host never hold global slots that other hosts could use.
    """

    def __init__(self, concurrency: int = 50, per_host: int = 4) -> None:
        if concurrency < 1 or per_host < 1:
            raise ValueError("concurrency and per_host must be at least 1")
        self.concurrency = concurrency
        self.per_host = per_host
        self._global = asyncio.Semaphore(concurrency)
        self._hosts: dict[str, asyncio.Semaphore] = {}
        self._users: dict[str, int] = {}

    def busy(self, key: str) -> bool:
        """Whether any request holds or awaits a slot for this host (a host_key)."""
        return key in self._users

    @asynccontextmanager
    async def slot(self, url: str) -> AsyncIterator[None]:
        key = host_key(url)
        semaphore = self._hosts.setdefault(key, asyncio.Semaphore(self.per_host))
        self._users[key] = self._users.get(key, 0) + 1
        try:
            async with semaphore, self._global:
                yield
        finally:
            self._users[key] -= 1
            if not self._users[key]:
                del self._users[key], self._hosts[key]


def jittered(interval: timedelta, fraction: float, rng: random.Random | None = None) -> timedelta:
    """`interval` stretched by a random 0..fraction of itself: later, never earlier, than asked."""
    return interval * (1 + (rng or random).uniform(0, fraction))


def stagger(key: str, window: timedelta) -> timedelta:
    """A stable offset in [0, window) for one feed, so feeds added together start spread out
    (and keep the same spread after a restart)."""
    digest = hashlib.blake2b(key.encode(), digest_size=8).digest()
    return window * (int.from_bytes(digest, "big") / 2**64)


def spread_due(due: Iterable[tuple[str, datetime]], now: datetime) -> list[tuple[str, datetime]]:
    """Each feed's due time, those due by now spread over START_SPACING per such feed (at most
    START_WINDOW), each at its stable offset (`stagger`)."""
    due = list(due)
    late = sum(when <= now for _, when in due)
    window = min(START_SPACING * late, START_WINDOW)
    return [(url, now + stagger(url, window) if when <= now else when) for url, when in due]
