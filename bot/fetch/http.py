"""One polite, hardened HTTP GET for feeds and article pages, on one shared httpx.AsyncClient.

Every way a hostile or broken server can hurt us ends as a FetchFailure with one sentence: slow
servers meet connect/read timeouts and a total-time cap; huge bodies and gzip bombs meet a size cap
counted on the decoded bytes (we inflate ourselves, in bounded steps, so a bomb never expands in
memory); redirect loops and chains meet a limit. Conditional GET (ETag / Last-Modified) lets a
server answer 304 so there is nothing to download or parse. `file://` URLs read local files under
the same size cap.
"""

from __future__ import annotations

import asyncio
import errno
import hashlib
import ipaddress
import logging
import socket
import ssl
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from urllib.parse import urljoin, urlsplit
from urllib.request import url2pathname

import httpx

from bot import __version__
from bot.fetch.addresses import Address, refusal, resolve
from bot.fetch.hints import ServerHints, server_hints
from bot.fetch.limits import HostLimiter
from bot.fetch.transport import HostPools, Inflater, Refused, size_text

log = logging.getLogger(__name__)

USER_AGENT = f"newsbot/{__version__} (+https://github.com/newsbot/newsbot)"
FEED_ACCEPT = (
    "application/rss+xml, application/atom+xml, application/feed+json, application/json;q=0.9, "
    "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.8"
)
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class FetchLimits:
    """Caps that keep one bad server from costing more than a bounded amount of time and memory."""

    connect_timeout: float = 10.0
    read_timeout: float = 20.0
    total_timeout: float = 60.0
    max_bytes: int = 10 * 1024 * 1024
    max_redirects: int = 5

    @property
    def slow_after(self) -> float:
        """A feed's server silent this long is logged as slow, while the fetch waits on until `read_timeout`:
        5 s, or a quarter of a shorter read timeout."""
        return min(5.0, self.read_timeout / 4)


@dataclass(frozen=True, slots=True)
class FetchResult:
    """A completed response: 2xx with a body, or 304 (empty body, nothing changed)."""

    url: str
    final_url: str
    status: int
    body: bytes
    content_type: str | None
    etag: str | None
    last_modified: str | None
    content_hash: str | None
    hints: ServerHints
    elapsed: float

    @property
    def not_modified(self) -> bool:
        return self.status == 304


@dataclass(frozen=True, slots=True)
class FetchFailure:
    """A fetch that produced no usable response; `message` is one sentence for the user."""

    url: str
    message: str
    status: int | None = None
    hints: ServerHints = field(default_factory=ServerHints)
    network: bool = False
    elapsed: float = 0.0


class Fetcher:
    """GETs URLs through one shared client, within the host limiter's slots.

    Use as `async with Fetcher(...) as fetcher:`. Safe to share across all polls and the full-text
    stage: the limiter keeps every caller polite to every host.
    """

    def __init__(
        self,
        limits: FetchLimits | None = None,
        limiter: HostLimiter | None = None,
        *,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.limits = limits or FetchLimits()
        self.limiter = limiter or HostLimiter()
        self._client = httpx.AsyncClient(
            transport=HostPools(self.limiter),
            timeout=httpx.Timeout(
                connect=self.limits.connect_timeout,
                read=self.limits.read_timeout,
                write=self.limits.read_timeout,
                pool=self.limits.total_timeout,
            ),
            follow_redirects=False,
        )
        self._user_agent = user_agent

    async def __aenter__(self) -> Fetcher:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        await self._client.aclose()

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "*/*",
        origin: str | None = None,
        label: str | None = None,
    ) -> FetchResult | FetchFailure:
        """GET `url`, conditionally when validators are given; never raises for a bad server.

        `accept` is the Accept header: FEED_ACCEPT for feeds, so servers that negotiate content
        send the feed rather than a web page. `origin` is the configured feed a URL came from (an
        article link): every hop is then checked against it; without it `url` is the configured
        address and only redirects are checked (see addresses.py). `label` names a feed for the log line
        that says its server is slow (`FetchLimits.slow_after`), before any timeout ends the wait.
        """
        started = time.monotonic()
        scheme = urlsplit(url).scheme.lower()
        try:
            if scheme == "file":
                return await self._read_file(url, started)
            if scheme not in ("http", "https"):
                raise Refused(f"unsupported URL scheme {scheme or 'none'!r}")
            _check_url(url)
            return await self._follow(url, etag, last_modified, accept, started, origin, label)
        except Refused as refused:
            return FetchFailure(url, refused.message, refused.status, refused.hints, False, _since(started))
        except TimeoutError:
            message = f"no complete answer in {self.limits.total_timeout:g} s (the most a fetch may take)"
            return FetchFailure(url, message, network=True, elapsed=_since(started))
        except httpx.TimeoutException as error:
            return FetchFailure(url, self._timeout_message(error), network=True, elapsed=_since(started))
        except httpx.HTTPError as error:
            return FetchFailure(url, network_reason(error), network=True, elapsed=_since(started))
        except httpx.InvalidURL as error:
            return FetchFailure(url, f"invalid URL: {error}", elapsed=_since(started))

    def _timeout_message(self, error: httpx.TimeoutException) -> str:
        where = _where(error)
        if isinstance(error, httpx.ConnectTimeout):
            return f"{where} did not accept a connection in {self.limits.connect_timeout:g} s"
        if isinstance(error, httpx.WriteTimeout):
            return f"{where} did not take the request in {self.limits.read_timeout:g} s"
        if isinstance(error, httpx.PoolTimeout):
            return f"no connection to {where} free in {self.limits.total_timeout:g} s"
        return f"no answer in {self.limits.read_timeout:g} s from {where}"

    async def _follow(
        self,
        url: str,
        etag: str | None,
        last_modified: str | None,
        accept: str,
        started: float,
        origin: str | None,
        label: str | None,
    ) -> FetchResult:
        headers = {"User-Agent": self._user_agent, "Accept": accept, "Accept-Encoding": "gzip, deflate"}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        seen = {url}
        current = url
        budget = self.limits.total_timeout
        origin_addresses: list[Address] | None = None
        for hop in range(self.limits.max_redirects + 1):
            if hop or origin is not None:
                if origin_addresses is None:
                    origin_addresses = await _addresses(origin or url)
                refused = refusal(origin_addresses, await _addresses(current))
                if refused:
                    raise Refused(refused if origin is not None else f"redirect {refused}")
            # The total-time cap counts time spent talking to servers, not time queued for a slot.
            async with self.limiter.slot(current):
                hop_started = time.monotonic()
                slow = self._warn_when_slow(label, current)
                try:
                    async with asyncio.timeout(budget):
                        request = self._client.build_request("GET", current, headers=headers)
                        response = await self._client.send(request, stream=True)
                        try:
                            location = response.headers.get("location")
                            if response.status_code not in _REDIRECTS or not location:
                                return await self._complete(url, current, response, started)
                        finally:
                            await response.aclose()
                finally:
                    if slow is not None:
                        slow.cancel()
                budget -= time.monotonic() - hop_started
            try:
                current = urljoin(current, location.strip())
            except ValueError:
                raise Refused("redirected to an invalid URL") from None
            if urlsplit(current).scheme.lower() not in ("http", "https"):
                raise Refused("redirected to a non-HTTP URL")
            _check_url(current, "redirected to an invalid URL")
            if current in seen:
                raise Refused("redirect loop")
            seen.add(current)
        raise Refused(f"too many redirects (more than {self.limits.max_redirects})")

    def _warn_when_slow(self, label: str | None, url: str) -> asyncio.TimerHandle | None:
        """For a feed (`label`): a log line once its server has been silent for `slow_after` seconds, so a
        hanging server is named while newsbot still waits for it, not only when a timeout ends the wait."""
        if label is None:
            return None
        waited, most = self.limits.slow_after, self.limits.read_timeout
        where = _netloc(url)
        return asyncio.get_running_loop().call_later(
            waited, lambda: log.warning("%s: no answer from %s in %g s; waiting up to %g s", label, where, waited, most)
        )

    async def _complete(self, url: str, final_url: str, response: httpx.Response, started: float) -> FetchResult:
        hints = server_hints(response.headers, response.status_code)
        status = response.status_code
        if status >= 400:
            raise Refused(f"HTTP {status}", status, hints)
        if status == 304:
            await response.aread()  # empty, but reading it lets the connection be reused
            body = b""
        elif 200 <= status < 300:
            body = await self._read_body(response)
        else:
            raise Refused(f"unexpected HTTP {status}", status, hints)
        return FetchResult(
            url=url,
            final_url=final_url,
            status=status,
            body=body,
            content_type=response.headers.get("content-type"),
            etag=response.headers.get("etag"),
            last_modified=response.headers.get("last-modified"),
            content_hash=hashlib.sha256(body).hexdigest() if status != 304 else None,
            hints=hints,
            elapsed=_since(started),
        )

    async def _read_body(self, response: httpx.Response) -> bytes:
        cap = self.limits.max_bytes
        declared = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if declared.isdigit() and int(declared) > cap and encoding == "identity":
            raise Refused(f"body over {size_text(cap)}")
        inflater = Inflater(encoding, cap)
        parts: list[bytes] = []
        async for chunk in response.aiter_raw(_CHUNK):
            parts.append(inflater.feed(chunk))
        parts.append(inflater.flush())
        return b"".join(parts)

    async def _read_file(self, url: str, started: float) -> FetchResult:
        path = Path(url2pathname(urlsplit(url).path))
        cap = self.limits.max_bytes
        try:
            body = await asyncio.to_thread(_read_capped, path, cap)
        except OSError as error:
            raise Refused(f"cannot read {path}: {error.strerror or error}") from error
        if len(body) > cap:
            raise Refused(f"body over {size_text(cap)}")
        return FetchResult(
            url=url,
            final_url=url,
            status=200,
            body=body,
            content_type=None,
            etag=None,
            last_modified=None,
            content_hash=hashlib.sha256(body).hexdigest(),
            hints=ServerHints(),
            elapsed=_since(started),
        )


def _check_url(url: str, problem: str = "invalid URL") -> None:
    """Refuse a URL that names no host or port we could connect to, before httpx or the socket layer see it."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises for a port out of range)
    except ValueError as error:
        raise Refused(f"{problem} ({error})") from None
    if not parts.hostname:
        raise Refused(f"{problem} (no host name)")


async def _addresses(url: str) -> list[Address]:
    """The addresses a checked URL's host resolves to; a local file stands for this machine."""
    parts = urlsplit(url)
    if parts.scheme.lower() == "file":
        return [ipaddress.IPv4Address("127.0.0.1")]
    default = 443 if parts.scheme.lower() == "https" else 80
    return await resolve(parts.hostname or "", parts.port or default)


def _read_capped(path: Path, cap: int) -> bytes:
    with path.open("rb") as handle:
        return handle.read(cap + 1)


def network_reason(error: httpx.HTTPError) -> str:
    """A network failure in plain words, from the operating system's error under the libraries' wrappers:
    "connection refused by 127.0.0.1:8080", "no such host: news.example", "the connection was reset by ..."."""
    where = _where(error)
    host = where.rsplit(":", 1)[0] if where.count(":") == 1 else where
    for cause in _causes(error):
        if isinstance(cause, socket.gaierror):
            if cause.errno in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)):
                return f"no such host: {host}"
            if cause.errno == socket.EAI_AGAIN:
                return f"the name {host} could not be looked up (DNS did not answer); newsbot tries again later"
            return f"the name {host} could not be looked up ({cause.strerror})"
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused by {where} (no server listens there)"
        if isinstance(cause, ConnectionResetError):
            return f"the connection to {where} was reset"
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"{where}: its TLS certificate is not valid ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"{where}: the TLS handshake failed ({cause.reason or cause.strerror})"
        if isinstance(cause, OSError) and cause.errno in (errno.ENETUNREACH, errno.EHOSTUNREACH):
            return f"{where} cannot be reached from here ({cause.strerror})"
    if isinstance(error, httpx.RemoteProtocolError):
        return f"{where} closed the connection without a complete answer"
    if isinstance(error, httpx.ConnectError):
        return f"cannot connect to {where}: {_first_line(error)}"
    return f"network error with {where}: {_first_line(error)}"


def _causes(error: BaseException) -> list[BaseException]:
    """The error and what it was raised from, outermost first (a few levels: httpx -> httpcore -> OSError)."""
    chain: list[BaseException] = []
    current: BaseException | None = error
    while current is not None and len(chain) < 8 and current not in chain:
        chain.append(current)
        current = current.__cause__ or current.__context__
    return chain


def _where(error: httpx.HTTPError) -> str:
    """host:port of the request that failed ("the server" when the error carries none)."""
    try:
        return _netloc(str(error.request.url))
    except RuntimeError:  # an error raised without its request
        return "the server"


def _netloc(url: str) -> str:
    parts = urlsplit(url)
    default = 443 if parts.scheme == "https" else 80
    host = parts.hostname or "the server"
    host = f"[{host}]" if ":" in host else host
    return f"{host}:{parts.port or default}"


def _first_line(error: BaseException) -> str:
    cause = error.__cause__ or error.__context__
    text = str(error) or (str(cause) if cause else "") or type(error).__name__
    return text.splitlines()[0].rstrip(".")


def _since(started: float) -> float:
    return time.monotonic() - started
