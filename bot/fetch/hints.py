"""What a server says about when to ask again: Cache-Control max-age (wins over Expires, as in RFC 9111)
and Retry-After on 429/503, read from headers, each clamped to MAX_HINT from now as it is read, so no
server can make a date overflow or silence a feed for years."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime

from bot import clock

MAX_HINT = timedelta(days=7)
"""Furthest a server's Cache-Control, Expires or Retry-After is taken to reach (the poll policy caps it further)."""
_MAX_AGE = re.compile(r"(?:^|[,\s])(?:s-)?max-age\s*=\s*\"?(\d+)", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class ServerHints:
    """What the server said about when to ask again (all absolute times, UTC)."""

    fresh_until: datetime | None = None
    retry_after: datetime | None = None


def server_hints(headers: Mapping[str, str], status: int) -> ServerHints:
    """The hints of a response's headers (a case-insensitive mapping, like httpx's)."""
    now = clock.now()
    fresh_until = None
    max_age = _MAX_AGE.search(headers.get("cache-control", ""))
    if max_age:
        fresh_until = now + _seconds(max_age.group(1))
    elif "expires" in headers:
        fresh_until = _http_date(headers["expires"], now)
    retry_after = None
    if status in (429, 503) and "retry-after" in headers:
        value = headers["retry-after"].strip()
        retry_after = now + _seconds(value) if value.isascii() and value.isdigit() else _http_date(value, now)
    return ServerHints(fresh_until=fresh_until, retry_after=retry_after)


def _seconds(digits: str) -> timedelta:
    """A header's count of seconds, at most MAX_HINT (long digit strings are not even converted)."""
    return timedelta(seconds=int(digits)) if len(digits) <= 8 and int(digits) < MAX_HINT.total_seconds() else MAX_HINT


def _http_date(value: str, now: datetime) -> datetime | None:
    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    moment = moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    return min(moment, now + MAX_HINT)
