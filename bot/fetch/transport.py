"""The transport under the fetcher: a small connection pool per host, and bounded decompression.

Refused is how every layer of a fetch stops it with a sentence for the user.
"""

from __future__ import annotations

import ssl
import zlib
from collections import OrderedDict

import httpx

from bot.fetch.hints import ServerHints
from bot.fetch.limits import HostLimiter, host_key


class Refused(Exception):
    """Internal: stop this fetch with a user-facing sentence."""

    def __init__(self, message: str, status: int | None = None, hints: ServerHints | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.hints = hints or ServerHints()


class HostPools(httpx.AsyncBaseTransport):
    """One small connection pool per host instead of one big pool.

    httpcore scans every connection of a pool for every queued request on every event, so one pool
    of C connections serving C requests costs O(C^2) per request (2x the CPU of a whole 304 poll at
    C=50). Pools of `per_host` connections keep that constant. Pools of hosts that are not being
    fetched are closed least recently used first once there are more than `max_pools`, which bounds
    the idle sockets kept open. Every pool shares one TLS context: httpx would otherwise build one per
    pool, loading the certificate store each time (6 ms of CPU per new pool, 3 s per cycle of 500 hosts).
    """

    def __init__(self, limiter: HostLimiter, max_pools: int | None = None) -> None:
        self._limiter = limiter
        self._max_pools = max_pools or 2 * limiter.concurrency
        self._pools: OrderedDict[str, httpx.AsyncHTTPTransport] = OrderedDict()
        self._tls: ssl.SSLContext | None = None

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        key = f"{request.url.scheme}://{host_key(str(request.url))}"
        pool = self._pools.get(key)
        if pool is None:
            per_host = self._limiter.per_host
            if self._tls is None:
                self._tls = httpx.create_ssl_context()
            pool = httpx.AsyncHTTPTransport(
                verify=self._tls,
                limits=httpx.Limits(max_connections=per_host, max_keepalive_connections=per_host),
            )
            self._pools[key] = pool
            await self._evict_idle()
        self._pools.move_to_end(key)
        return await pool.handle_async_request(request)

    async def _evict_idle(self) -> None:
        for key in list(self._pools):
            if len(self._pools) <= self._max_pools:
                return
            if not self._limiter.busy(key.split("://", 1)[1]):
                await self._pools.pop(key).aclose()

    async def aclose(self) -> None:
        for pool in self._pools.values():
            await pool.aclose()
        self._pools.clear()


class Inflater:
    """Decodes a Content-Encoding in steps of at most the remaining budget, so a bomb is refused
    after producing at most `cap` bytes rather than after exhausting memory."""

    def __init__(self, encoding: str, cap: int) -> None:
        if encoding in ("gzip", "x-gzip", "deflate"):
            # 32 + MAX_WBITS: accept a gzip or zlib header; raw deflate is retried below.
            self._decoder: zlib._Decompress | None = zlib.decompressobj(32 + zlib.MAX_WBITS)
        elif encoding in ("identity", ""):
            self._decoder = None
        else:
            raise Refused(f"unsupported content encoding {encoding!r}")
        self._raw_deflate_allowed = encoding == "deflate"
        self._cap = cap
        self._size = 0

    def feed(self, chunk: bytes) -> bytes:
        if self._decoder is None:
            return self._count(chunk)
        pieces: list[bytes] = []
        pending = chunk
        while pending:
            try:
                piece = self._decoder.decompress(pending, self._cap - self._size + 1)
            except zlib.error as error:
                if self._raw_deflate_allowed and self._size == 0:
                    self._decoder = zlib.decompressobj(-zlib.MAX_WBITS)
                    self._raw_deflate_allowed = False
                    continue
                raise Refused("corrupt compressed body") from error
            self._raw_deflate_allowed = False
            pieces.append(self._count(piece))
            pending = self._decoder.unconsumed_tail
        return b"".join(pieces)

    def flush(self) -> bytes:
        return self._count(self._decoder.flush()) if self._decoder is not None else b""

    def _count(self, piece: bytes) -> bytes:
        self._size += len(piece)
        if self._size > self._cap:
            raise Refused(f"body over {size_text(self._cap)}")
        return piece


def size_text(limit: int) -> str:
    return f"{limit / (1024 * 1024):g} MB" if limit >= 1024 * 1024 else f"{limit / 1024:g} kB"
