"""Why each feed's next poll is when it is, in words: for `newsbot status`, /status, and `run` as it starts
or follows an edit of the config ("in 15 min: the feed's ttl")."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta

from bot.config import format_duration, relative_time
from bot.model import FeedState, PollReason

_REASONS = {
    PollReason.FIRST_POLL: "first poll",
    PollReason.ADAPTIVE: "adaptive, from how often the feed publishes",
    PollReason.TTL: "the feed's ttl",
    PollReason.FRESHNESS: "the server's Cache-Control/Expires",
    PollReason.RETRY_AFTER: "the server's Retry-After",
    PollReason.BACKLOG: "more new items to fetch",
    PollReason.REMOVED: "not polled: no longer in the config",
}
LISTED = 20
"""Feeds listed one by one at a start; beyond it, the soonest half of that and a count per reason."""


_SHORT = {
    PollReason.FIRST_POLL: "first poll",
    PollReason.ADAPTIVE: "adaptive",
    PollReason.TTL: "ttl",
    PollReason.FRESHNESS: "Cache-Control",
    PollReason.RETRY_AFTER: "Retry-After",
    PollReason.BACKLOG: "backlog",
    PollReason.REMOVED: "not polled",
    PollReason.BACKOFF: "backoff",
}
"""The same reasons in a word or two, for `newsbot status` at 80 columns (`--wide` gives them in full)."""


def why(state: FeedState, *, short: bool = False) -> str:
    """The reason for the feed's next poll, in a few words ("" for a feed planned by an older version); with
    `short`, in a word or two ("adaptive", "every 10m")."""
    reason = state.next_poll_reason
    if reason is PollReason.EVERY:
        if short:
            return f"every {format_duration(state.every)}" if state.every else "every"
        return f"every {format_duration(state.every)} as configured" if state.every else "its configured interval"
    if reason is None:
        return ""
    if short:
        return _SHORT.get(reason, "")
    if reason is PollReason.BACKOFF:
        return f"backing off after {state.consecutive_errors} errors in a row"
    return _REASONS.get(reason, "")


def next_poll(at: datetime | None, reason: str, now: datetime) -> str:
    """ "in 15 min: the feed's ttl", "now: first poll", "due 5 min ago: ..." (while newsbot is not running), or
    the reason alone for a feed not polled."""
    if at is None:
        return reason or "not scheduled"
    if at - now >= timedelta(seconds=1):
        when = relative_time(at, now)
    else:
        when = "now" if now - at < timedelta(minutes=1) else f"due {relative_time(at, now)}"
    return f"{when}: {reason}" if reason else when


def schedule_lines(due: Sequence[tuple[FeedState, datetime]], now: datetime) -> list[str]:
    """One line per feed with its next poll and why, soonest first; beyond LISTED feeds, the soonest
    LISTED // 2 and a count of the rest per reason."""
    ordered = sorted(due, key=lambda pair: pair[1])
    shown = ordered if len(ordered) <= LISTED else ordered[: LISTED // 2]
    lines = [f"{state.outlet}: {next_poll(at, why(state), now)}{_address(state)}" for state, at in shown]
    rest = ordered[len(shown) :]
    if rest:
        counts = Counter((s.next_poll_reason or "unknown").replace("_", " ") for s, _ in rest)
        summary = ", ".join(f"{count:,} {reason}" for reason, count in counts.most_common())
        lines.append(f"... and {len(rest):,} more ({summary}); `newsbot status` lists them all")
    return lines


def _address(state: FeedState) -> str:
    """" (url)" after a feed's name, unless the name is its address already (a feed not read yet)."""
    return "" if state.url.endswith(state.outlet) else f" ({state.url})"
