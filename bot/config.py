"""config.yaml as pydantic models: `${VAR}` substitution from the environment, defaults that run the demo,
and errors that name the key at fault (`feeds.2.every: ...`).

Secrets come only from environment variables; the Telegram token is a SecretStr so it never lands in logs.
"""

from __future__ import annotations

import ipaddress
import math
import re
from datetime import datetime, timedelta
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    ValidationInfo,
    field_validator,
    model_validator,
)

DEFAULT_DATABASE = "sqlite:///data/newsbot.db"
DEFAULT_BOT_API = "https://api.telegram.org/bot"

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|min|h|d|w)?\s*$")
_UNIT_SECONDS = {"ms": 0.001, "s": 1, None: 1, "m": 60, "min": 60, "h": 3600, "d": 86400, "w": 604800}
MAX_DURATION = timedelta(days=365)
"""Longest duration any key takes: beyond it, arithmetic on dates overflows (and no interval needs it)."""
EVERY_FLOOR = timedelta(seconds=10)
"""Shortest `every` for a feed on another machine: more often is no courtesy to its server (and a bare
`every: 5` is 5 seconds, not minutes). Feeds on this machine (file://, localhost, 127.x) may go lower."""


class ConfigError(Exception):
    """Config file problems, each one line naming the file (and line) and the key; str() is one a line."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = problems


def parse_duration(value: object) -> timedelta:
    """Read `90s`, `10m`, `2h`, `1d`, `1w` or a bare number of seconds."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("expected a duration like 30s, 10m, 2h or 1d")
    if isinstance(value, int | float):
        seconds = float(value)
    else:
        match = _DURATION.match(str(value))
        if not match:
            raise ValueError(f"{value!r} is not a duration; write it like 30s, 10m, 2h or 1d")
        number, unit = match.groups()
        seconds = float(number) * _UNIT_SECONDS[unit]
    if not math.isfinite(seconds) or seconds < 0:
        raise ValueError(f"{value!r} is not a duration; write it like 30s, 10m, 2h or 1d")
    if seconds > MAX_DURATION.total_seconds():
        raise ValueError(f"{value!r} is too long; durations go up to 365d")
    return timedelta(seconds=seconds)


def format_duration(span: timedelta) -> str:
    """A duration in the config's own notation (90s, 10m, 2h, 1d, 1w), largest exact unit first:
    parse_duration reads it back."""
    seconds = int(span.total_seconds())
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds and seconds % size == 0 and seconds == span.total_seconds():
            return f"{seconds // size}{unit}"
    return f"{span.total_seconds():g}s"


def human_duration(span: timedelta) -> str:
    """Short human durations for people: 40 s, 45 min, 6 h, 3 d."""
    if span < timedelta(minutes=1):
        return f"{int(span.total_seconds())} s"
    minutes = int(span.total_seconds() // 60)
    if minutes < 60:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} d"


def relative_time(moment: datetime | None, now: datetime, *, seconds: bool = False) -> str:
    """ "5 min ago", "in 2 h", or "never" when there is no such moment yet; with `seconds`, moments less than
    a minute away read "12 s ago" (heartbeats)."""
    if moment is None:
        return "never"
    delta = moment - now
    span = abs(delta)
    text = f"{int(span.total_seconds())} s" if seconds and span < timedelta(minutes=1) else human_duration(span)
    return f"in {text}" if delta > timedelta(0) else f"{text} ago"


Duration = Annotated[timedelta, BeforeValidator(parse_duration)]


def _positive(value: timedelta) -> timedelta:
    if value <= timedelta(0):
        raise ValueError("must be longer than 0 s")
    return value


PositiveDuration = Annotated[timedelta, BeforeValidator(parse_duration), AfterValidator(_positive)]


def _parse_size(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    match = re.match(r"^\s*(\d+(?:\.\d+)?)\s*(b|kb|mb|gb)?\s*$", str(value).lower())
    if not match:
        raise ValueError(f"{value!r} is not a size; write it like 512kb or 10mb")
    number, unit = match.groups()
    factor = {"b": 1, None: 1, "kb": 1024, "mb": 1024**2, "gb": 1024**3}[unit]
    return int(float(number) * factor)


ByteSize = Annotated[int, BeforeValidator(_parse_size)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def on_this_machine(url: str) -> bool:
    """Whether a feed URL points at this machine: a file, localhost or a loopback address."""
    if url.startswith("file://"):
        return True
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class FeedConfig(_Strict):
    """One feed to follow: polled `every` as written (at least EVERY_FLOOR unless it is on this machine);
    without it, the poller adapts the interval to how often the feed publishes."""

    url: str
    name: str | None = None
    every: PositiveDuration | None = None
    backlog: int = Field(default=0, ge=0)
    fulltext: bool = True

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, url: str) -> str:
        if not re.match(r"^(https?|file)://", url):
            raise ValueError(f"{url!r} must start with http://, https:// or file://")
        if url.startswith("http"):
            try:
                parts = urlsplit(url)
                parts.port  # noqa: B018  (raises for a port out of range)
            except ValueError as error:
                raise ValueError(f"{url!r} is not a valid URL ({error})") from None
            if not parts.hostname:
                raise ValueError(f"{url!r} has no host name")
        return url

    @field_validator("every")
    @classmethod
    def _not_too_often(cls, every: timedelta | None, info: ValidationInfo) -> timedelta | None:
        url = info.data.get("url")
        if every is not None and every < EVERY_FLOOR and url is not None and not on_this_machine(url):
            raise ValueError(
                f"{format_duration(every)} is too often for a feed on another server: write "
                f"{format_duration(EVERY_FLOOR)} or more, or leave `every` out to let newsbot adapt the interval"
            )
        return every


class PollingConfig(_Strict):
    """How politely and how often feeds are polled."""

    min_interval: PositiveDuration = timedelta(minutes=2)
    max_interval: PositiveDuration = timedelta(hours=2)
    jitter: float = Field(default=0.1, ge=0, le=0.5)
    concurrency: int = Field(default=100, ge=1)
    per_host: int = Field(default=4, ge=1)
    connect_timeout: PositiveDuration = timedelta(seconds=10)
    read_timeout: PositiveDuration = timedelta(seconds=20)
    total_timeout: PositiveDuration = timedelta(seconds=60)
    max_bytes: ByteSize = Field(default=10 * 1024 * 1024, ge=1)
    max_redirects: int = Field(default=5, ge=0)
    max_items_per_poll: int = Field(default=200, ge=1)
    outage_notice_after: Duration = timedelta(hours=6)

    @model_validator(mode="after")
    def _ordered(self) -> PollingConfig:
        if self.min_interval > self.max_interval:
            raise ValueError("min_interval must not be longer than max_interval")
        return self


class TelegramConfig(_Strict):
    """The Telegram front. Without a token, alerts go to the terminal instead."""

    token: SecretStr | None = None
    base_url: str = DEFAULT_BOT_API
    admins: list[int] = Field(default_factory=list)
    allowed_chats: list[int] = Field(default_factory=list)

    @field_validator("token", mode="before")
    @classmethod
    def _empty_is_none(cls, value: Any) -> Any:
        return None if value in ("", None) else value

    @property
    def enabled(self) -> bool:
        return self.token is not None


class AppriseTarget(_Strict):
    """An outbound-only channel (Slack, Discord, e-mail, Matrix, ntfy ...) for some topics."""

    url: SecretStr
    topics: list[str] = Field(default_factory=list)


class StoriesConfig(_Strict):
    """How articles from many outlets are grouped into one story."""

    window: Duration = timedelta(hours=48)
    edit_window: Duration = timedelta(hours=24)
    breaking_outlets: int = Field(default=3, ge=2)
    breaking_within: Duration = timedelta(minutes=60)
    meaning: bool = True


class SpikesConfig(_Strict):
    """When a topic's volume is a spike (bot/alerts/spikes.py): its stories in the last hour against the same
    hour of the previous `baseline_days` days."""

    enabled: bool = True
    min_stories: int = Field(default=5, ge=1, le=100_000)
    min_ratio: float = Field(default=3.0, ge=1.0, le=1000.0)
    p_value: float = Field(default=0.001, gt=0.0, lt=1.0)
    baseline_days: int = Field(default=14, ge=1, le=60)
    cooldown: PositiveDuration = timedelta(hours=6)


_PARAM = re.compile(r"[a-z0-9_.\-\[\]]+\*?")


def _param_name(value: str) -> str:
    name = value.strip().lower()
    if not _PARAM.fullmatch(name):
        raise ValueError(
            f"{value!r} is not a query parameter name: letters, digits, '_', '-', '.', '[' and ']', "
            "with an optional '*' at the end for every name that starts so"
        )
    return name


class LinksConfig(_Strict):
    """How article links are made canonical: query parameters to drop besides the built-in trackers."""

    drop_params: list[Annotated[str, AfterValidator(_param_name)]] = Field(default_factory=list)


class ClusterConfig(_Strict):
    """Several `newsbot run` processes on one PostgreSQL database (unused on SQLite, where newsbot is one
    process)."""

    heartbeat: PositiveDuration = timedelta(seconds=3)
    lease: PositiveDuration = timedelta(seconds=60)

    @property
    def stale_after(self) -> timedelta:
        """A process silent this long is shown as stale (it has missed three heartbeats)."""
        return 3 * self.heartbeat

    @property
    def role_timeout(self) -> timedelta:
        """The server frees the roles of a process silent this long (a frozen process, a host gone)."""
        return max(3 * self.heartbeat, timedelta(seconds=10))

    @model_validator(mode="after")
    def _lease_outlasts_heartbeats(self) -> ClusterConfig:
        if self.lease < 3 * self.heartbeat:
            raise ValueError("lease must be at least 3 heartbeats: a live process renews its claims every heartbeat")
        return self


class Config(_Strict):
    """The whole config file. Relative paths are resolved against the config file's folder."""

    database: str = DEFAULT_DATABASE
    rules: Path = Path("rules")
    feeds: list[FeedConfig] = Field(default_factory=list)
    feeds_file: Path | None = None
    polling: PollingConfig = PollingConfig()
    telegram: TelegramConfig = TelegramConfig()
    apprise: list[AppriseTarget] = Field(default_factory=list)
    stories: StoriesConfig = StoriesConfig()
    spikes: SpikesConfig = SpikesConfig()
    links: LinksConfig = LinksConfig()
    cluster: ClusterConfig = ClusterConfig()
    metrics_port: int | None = Field(default=None, ge=1, le=65535)
    base_dir: Path = Path(".")  # set by the loader, not by the file
    config_file: Path | None = None  # set by the loader, not by the file
    from_env: tuple[tuple[str, str, tuple[str, ...]], ...] = Field(default=(), repr=False)
    """Set by the loader: each value that took ${VAR}s, as written, as read, and the environment values taken."""

    @field_validator("database")
    @classmethod
    def _sqlalchemy_url(cls, url: str) -> str:
        if not re.match(r"^(sqlite|postgresql)(\+\w+)?://", url):
            raise ValueError(f"{url!r} is not a SQLite or PostgreSQL URL (sqlite:///path or postgresql://...)")
        return url

    def secrets(self) -> list[str]:
        """What must never be printed: the bot token, the Apprise URLs (they carry credentials), and every value
        that took text from an environment variable."""
        found = [target.url.get_secret_value() for target in self.apprise]
        if self.telegram.token is not None:
            found.append(self.telegram.token.get_secret_value())
        return found + [secret for _, value, taken in self.from_env for secret in (value, *taken)]

    def secret_urls(self) -> list[str]:
        """The URLs that took text from an environment variable: shown without user info and query values."""
        return [value for _, value, _ in self.from_env if "://" in value]

    def as_written(self, value: str) -> str:
        """A value as the config file wrote it (`${VAR}` and all) when it took text from the environment."""
        return next((written for written, read, _ in self.from_env if read == value), value)

    def path(self, relative: Path) -> Path:
        return relative if relative.is_absolute() else self.base_dir / relative

    @property
    def feeds_file_path(self) -> Path | None:
        """`feeds_file`, else `feeds.yaml` beside a config file (loaded when it exists)."""
        if self.feeds_file is not None:
            return self.path(self.feeds_file)
        return self.base_dir / "feeds.yaml" if self.config_file else None

    @property
    def rules_dir(self) -> Path:
        return self.path(self.rules)

    @property
    def database_url(self) -> str:
        """The URL with relative SQLite paths resolved against the config's folder."""
        prefix = "sqlite:///"
        if self.database.startswith(prefix) and not self.database.startswith(prefix + "/"):
            rest = self.database[len(prefix) :]
            if rest and rest != ":memory:":
                return prefix + str(self.path(Path(rest)).resolve())
        return self.database
