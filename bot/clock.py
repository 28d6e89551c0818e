"""The one clock: every stage asks it what time it is, so a test (or a replay) can set the time for all of
them at once with `clock.using(...)`. Times are timezone-aware UTC everywhere in newsbot."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

Now = Callable[[], datetime]


def system_now() -> datetime:
    return datetime.now(UTC)


_current: Now = system_now


def now() -> datetime:
    """The current time, timezone-aware UTC."""
    return _current()


@contextmanager
def using(source: Now) -> Iterator[None]:
    """Read the time from `source` inside the block (tests: a fixed or stepping time)."""
    global _current
    previous, _current = _current, source
    try:
        yield
    finally:
        _current = previous
