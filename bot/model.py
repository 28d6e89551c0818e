"""The objects that cross pipeline stages: fetch -> parse -> match -> stories -> deliver.

Every stage takes and returns these frozen dataclasses; no stage passes raw dicts to another.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from urllib.parse import urlsplit


@dataclass(frozen=True, slots=True)
class Entry:
    """One feed item, normalised to plain text.

    `url` is the canonical link; `content` is the extracted full text when it was fetched,
    else empty, so `body` falls back to the feed's own summary.
    """

    feed_url: str
    outlet: str
    url: str
    title: str
    summary: str = ""
    guid: str | None = None
    published: datetime | None = None
    content: str = ""
    language: str | None = None
    author: str | None = None

    @property
    def body(self) -> str:
        return self.content or self.summary

    @property
    def key(self) -> str:
        """Identity inside one feed: the GUID, else the canonical link, else a hash of the text."""
        if self.guid:
            return self.guid
        if self.url:
            return self.url
        digest = hashlib.sha256(f"{self.title}\n{self.summary}".encode()).hexdigest()
        return f"sha256:{digest}"


@dataclass(frozen=True, slots=True)
class Span:
    """A matched piece of text: which field, where, and the words as written."""

    field: str
    start: int
    end: int
    text: str


@dataclass(frozen=True, slots=True)
class ClauseHit:
    """One clause of a rule's query (as the user wrote it) and the spans that satisfied it."""

    clause: str
    spans: tuple[Span, ...]


@dataclass(frozen=True, slots=True)
class Match:
    """A rule that matched an entry, and why."""

    rule_id: str
    rule_title: str
    clauses: tuple[ClauseHit, ...]
    score: float | None = None

    @property
    def spans(self) -> tuple[Span, ...]:
        unique = {(s.field, s.start, s.end): s for hit in self.clauses for s in hit.spans}
        return tuple(unique[k] for k in sorted(unique))


@dataclass(frozen=True, slots=True)
class Credit:
    """An explicit credit found in an entry's text, e.g. "reported by RIA News".

    `via` names the intermediary of a two-hop credit ("APA reports citing Politico":
    source Politico, via APA); `evidence` is the sentence that gave it. `dateline` marks a
    dateline or byline ("MOSCOW (Reuters) -", "(MENAFN)"): it names who distributed the text,
    which says less about who first reported the news than "reported by" does.
    """

    source: str
    evidence: str
    via: str | None = None
    dateline: bool = False


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """An entry with the ids the store gave it, and the credits found in its text when it was stored."""

    id: int
    feed_id: int
    entry: Entry
    credits: tuple[Credit, ...] = ()


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One outlet's article inside a story."""

    entry_id: int
    outlet: str
    title: str
    url: str
    published: datetime | None
    credits: tuple[Credit, ...] = ()


@dataclass(frozen=True, slots=True)
class Story:
    """One event as told by one or more outlets; members are in order of first publication."""

    id: int
    title: str
    members: tuple[StoryMember, ...]
    origin: str
    breaking: bool = False

    @property
    def outlets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.outlet for m in self.members))


@dataclass(frozen=True, slots=True)
class Alert:
    """A rule matched a story: what the sinks deliver.

    `update` marks an alert raised before whose story has since grown (another outlet joined):
    sinks edit or amend what they showed rather than alert again.
    """

    rule_id: str
    rule_title: str
    entry: Entry
    match: Match
    id: int | None = None
    story: Story | None = None
    created_at: datetime | None = None
    update: bool = False


@dataclass(frozen=True, slots=True)
class StoryAlert:
    """A story and its topics' alerts as one unit: a reader gets one message per story, naming its topics.

    `fresh` are the alerts this batch raised for the story (one per topic), `earlier` those raised for it
    before, each with the story as it stands now and marked `update` when it grew; `grown` when the batch
    brought the story outlets it did not have (new members, or another story merged into it).
    """

    story: Story | None
    fresh: tuple[Alert, ...] = ()
    earlier: tuple[Alert, ...] = ()
    grown: bool = False

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Every topic's alert for the story, the earliest raised first."""
        return (*self.earlier, *self.fresh)

    @property
    def fresh_topics(self) -> frozenset[str]:
        return frozenset(alert.rule_id for alert in self.fresh)

    @property
    def changes(self) -> tuple[Alert, ...]:
        """Per topic, what changed: the fresh alerts, and the earlier ones whose story grew (`update`)."""
        return (*self.fresh, *(alert for alert in self.earlier if alert.update))


@dataclass(frozen=True, slots=True)
class AlertBatch:
    """What one stored batch raised, story by story: what crosses from the ingest to the sinks."""

    stories: tuple[StoryAlert, ...] = ()

    @property
    def alerts(self) -> tuple[Alert, ...]:
        """Per topic and story (for scripts): fresh alerts, and earlier alerts of grown stories."""
        return tuple(alert for story in self.stories for alert in story.changes)


@dataclass(frozen=True, slots=True)
class SpikeAlert:
    """A topic's volume spiked: `count` stories in the hour before `at`, where the same hour of earlier days
    had `usual` on average (None: no history to compare). `number` counts the topic's surges (1, 2, ...): one
    message per surge, edited while it grows (`grown`); `story` is the hour's most told story."""

    rule_id: str
    rule_title: str
    number: int
    count: int
    usual: float | None
    started_at: datetime
    at: datetime
    grown: bool = False
    story: Story | None = None


@dataclass(frozen=True, slots=True)
class Surge:
    """A topic's latest surge (one spike episode, bot/alerts/spikes.py) as stored: its number, when it opened
    and last fired, and the peak count it was told with."""

    number: int
    started_at: datetime
    fired_at: datetime
    peak: int


@dataclass(frozen=True, slots=True)
class Headline:
    """What a summary line needs of one story message (`topic`: the topics it names, joined); kept with each
    queued message so bursts and digests can be folded without reloading the alerts."""

    title: str
    url: str
    outlet: str
    topic: str


@dataclass(frozen=True, slots=True)
class Notice:
    """A message for the bot's operators, not subscribers: a feed failing for hours, a rule edit that broke.

    `key` makes it idempotent: the same notice queued twice (a retried poll) is delivered once.
    """

    key: str
    text: str


class PollReason(StrEnum):
    """Why a feed's next poll is when it is: decided with the time (fetch/policy.py), stored with it, and
    shown by `newsbot status`, /status and `run` at start. The values are stored: never rename one."""

    FIRST_POLL = "first_poll"  # a feed not polled yet
    EVERY = "every"  # the feed's configured fixed interval
    ADAPTIVE = "adaptive"  # its publishing rate, within polling.min_interval .. max_interval
    TTL = "ttl"  # the feed's own RSS <ttl> asked for longer (adaptive feeds only)
    FRESHNESS = "freshness"  # the server's Cache-Control max-age or Expires asked for longer (adaptive feeds only)
    RETRY_AFTER = "retry_after"  # the server's Retry-After
    BACKOFF = "backoff"  # errors: the interval doubled per error in a row
    BACKLOG = "backlog"  # the last poll left new items for the next one (polling.max_items_per_poll)
    REMOVED = "removed"  # no longer in the config: not polled


@dataclass(frozen=True, slots=True)
class FeedState:
    """What the poller knows of one feed between polls: identity, validators and health.

    The store keeps it; fetch reads it to poll politely and returns an updated copy.
    `name` is the configured name ("" for none) and `title` the feed's own title as last parsed; `outlet` is
    what users see. `every` is the configured interval, or None for adaptive polling. `failing_since` is when
    the current run of errors began (None while healthy); `newest_entry_at` is the newest publication
    date seen, so a quiet feed is polled less; `ttl` is the feed's own RSS <ttl>, kept for 304s.
    `next_poll_reason` says why `next_poll_at` is when it is; `schedule_key` names the settings it was
    planned with (PollPolicy.schedule_key), so an edit of them plans the feed anew.
    """

    url: str
    name: str
    every: timedelta | None = None
    etag: str | None = None
    last_modified: str | None = None
    content_hash: str | None = None
    last_polled_at: datetime | None = None
    last_success_at: datetime | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None
    consecutive_errors: int = 0
    next_poll_at: datetime | None = None
    items_per_day: float | None = None
    failing_since: datetime | None = None
    newest_entry_at: datetime | None = None
    ttl: timedelta | None = None
    title: str | None = None
    next_poll_reason: PollReason | None = None
    schedule_key: str | None = None

    @property
    def outlet(self) -> str:
        return outlet_name(self.name, self.title, self.url)


def outlet_name(name: str | None, title: str | None, feed_url: str) -> str:
    """The one name an outlet goes by in alerts, story lines, status and exports: the configured name, else the
    feed's own title, else the host of the feed's address (`www.` left out)."""
    for given in (name, title):
        if given and given.strip():
            return given.strip()
    try:
        host = urlsplit(feed_url).hostname
    except ValueError:
        host = None
    return host.removeprefix("www.") if host else feed_url
