"""Politeness: a global cap on requests in flight and a per-host cap.

A bulk import of 500 feeds from one publisher must never turn into 500 simultaneous requests to
its server (that is how feed readers get banned), and a thousand feeds due at the same second never
start more than `concurrency` polls at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}


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
