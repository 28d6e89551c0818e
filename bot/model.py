"""The objects that cross pipeline stages: fetch -> parse -> match -> stories -> deliver.

Every stage takes and returns these frozen dataclasses; no stage passes raw dicts to another.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
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
    language: str | None = None
    """The language the story index read it in (the feed's, else detected); None before it was filed."""
    joined: str | None = None
    """What joined it to its story, in words ("" when it opened the story, None when filed before this was
    kept)."""


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One outlet's article inside a story: with its language and what joined it to the story, once filed."""

    entry_id: int
    outlet: str
    title: str
    url: str
    published: datetime | None
    credits: tuple[Credit, ...] = ()
    language: str | None = None
    joined: str | None = None


@dataclass(frozen=True, slots=True)
class Story:
    """One event as told by one or more outlets; members are in order of first publication."""

    id: int
    title: str
    members: tuple[StoryMember, ...]
    origin: str
    breaking: bool = False
    origin_language: str | None = None

    @property
    def outlets(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(m.outlet for m in self.members))

    @property
    def languages(self) -> tuple[str, ...]:
        """The languages its members are in, in order of first publication (members of unknown language
        aside)."""
        return tuple(dict.fromkeys(m.language for m in self.members if m.language))


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
    `name` is the configured name ("" for none) and `title` the name the feed gives itself as last parsed
    (`site_name` of its title and link); `outlet` is what users see. `every` is the configured interval, or
    None for adaptive polling. `failing_since` is when the current run of errors began (None while healthy);
    `newest_entry_at` is the newest publication date seen, so a quiet feed is polled less; `ttl` is the feed's
    own RSS <ttl>, kept for 304s.
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


def outlet_name(name: str | None, site: str | None, feed_url: str) -> str:
    """The one name an outlet goes by in alerts, story lines, status, logs and exports: the configured name, else
    the name the feed gives itself (`site_name`, kept as the feed's title once it has been parsed), else, for a
    feed not read yet, its address without the scheme: never a bare host that several feeds may share."""
    for given in (name, site):
        if given and given.strip():
            return given.strip()
    return _address(feed_url)


_SEPARATORS = re.compile(r" (?:[-\u2013\u2014|>/]|::) |: | [-\u2013\u2014|]$")
"""Between a site's name and the rest of a feed title (its spaces made single first): " - ", " – ", " — ",
" | ", " > ", " / ", ": ", or one at the end. Fixed-length alternatives: linear in the title's length."""
_GENERIC = frozenset(
    "world news top stories story latest breaking headlines home homepage front page all international national "
    "local politics business economy finance markets tech technology science health sport sports opinion culture "
    "entertainment lifestyle travel weather video videos live updates feed rss category section topics asia europe "
    "africa americas middle east us uk and more of the in on crime recent articles edition english global".split()
)
"""Words that name a section of a site, not the site ("World", "Top Stories", "Latest News")."""
_HOST_NOISE = frozenset({"www", "feeds", "feed", "rss", "news", "en", "english", "m", "api", "online", "world"})


def site_name(title: str, link: str | None, feed_url: str) -> str:
    """The short name a feed gives itself, for a feed without a configured name: of the parts of its title
    split at " - ", " – ", " | ", " > ", ": " ..., the first that resembles the host of the channel's link (or of
    the feed's address), else the first that is not a section name ("World", "Top Stories"), else the host of
    the channel's link (`www.` left out), else of the feed's address.

    "Al Jazeera – Breaking News, World News and Video from Al Jazeera" is "Al Jazeera"; "World - CBSNews.com"
    is "CBSNews.com"; "World" at washingtonpost.com is "washingtonpost.com".
    """
    hosts = [host for host in (_host(link), _host(feed_url)) if host]
    parts = [part for part in _SEPARATORS.split(" ".join(title.split())) if part]
    labels = {label for host in hosts for label in _labels(host)}
    for part in parts:
        if _resembles(part, labels):
            return part
    for part in parts:
        if not set(_words(part)) <= _GENERIC:
            return part
    return hosts[0] if hosts else _address(feed_url)


def _host(url: str | None) -> str:
    """The host of a URL in lower case, without `www.`; "" for none."""
    try:
        host = urlsplit(url or "").hostname or ""
    except ValueError:
        return ""
    return host.removeprefix("www.")


def _address(url: str) -> str:
    """A feed's address as people read it: without the scheme and `www.` ("news.err.ee/rss")."""
    rest = url.split("://", 1)[-1]
    return rest.removeprefix("www.").rstrip("/") or url


def _labels(host: str) -> list[str]:
    """The distinctive labels of a host name: not the top-level domain, an address, or www/feeds/rss/news."""
    if not host or host.replace(".", "").isdigit() or ":" in host:
        return []
    labels = host.split(".")[:-1]
    return [label.replace("-", "") for label in labels if label not in _HOST_NOISE and len(label) >= 2]


def _words(text: str) -> list[str]:
    """Words in lower case, accents left out ("EL PAÍS" -> ["el", "pais"])."""
    folded = unicodedata.normalize("NFKD", text.casefold())
    plain = "".join(char for char in folded if not unicodedata.combining(char))
    return [word for word in re.split(r"[^\w]+", plain) if word]


def _resembles(part: str, labels: set[str]) -> bool:
    """Whether a part of a title names the site at these host labels: "Al Jazeera" and aljazeera, "NYT" and
    nytimes, "BBC News" and bbc, "Deutsche Welle" and dw (initials), "The Christian Science Monitor" and
    csmonitor."""
    words = _words(part)
    squashed = "".join(words)
    initials = "".join(word[0] for word in words if word not in ("the", "of", "and"))
    for label in labels:
        if len(label) >= 3 and label in squashed:
            return True
        if len(squashed) >= 3 and squashed in label:
            return True
        if len(initials) >= 2 and label.startswith(initials):
            return True
    return False
