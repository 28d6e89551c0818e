"""Secrets never printed: what counts as one, and text with them taken out.

A secret is the bot token, an Apprise URL, or any value config.yaml took from an environment variable (`${VAR}`;
values of fewer than 4 characters cannot be secrets and are left alone); in a URL that took one, the user
info and every query value are hidden too (`https://***@api.example/rss?key=***&lang=***`). `Redactor` replaces
them in any text: log lines and their fields (bot/logs.py), the program's own output, /status, admin notices.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import quote, quote_plus, urlsplit, urlunsplit

HIDDEN = "***"
SHORTEST_SECRET = 4


def hidden_url(url: str) -> str:
    """The URL with its user info and query values replaced by ***; other text unchanged."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return HIDDEN
    if not parts.scheme or not parts.netloc:
        return url
    netloc = parts.netloc
    if "@" in netloc:
        netloc = f"{HIDDEN}@{netloc.rsplit('@', 1)[1]}"
    query = "&".join(
        f"{pair.split('=', 1)[0]}={HIDDEN}" if "=" in pair else pair for pair in parts.query.split("&")
    ) if parts.query else ""  # fmt: skip
    return urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def _spellings(secret: str) -> set[str]:
    """A secret as written and as it appears inside a URL (percent-encoded)."""
    return {secret, quote(secret, safe=""), quote_plus(secret, safe="")}


@dataclass
class Redactor:
    """Secret strings, and URLs shown with their secrets hidden; `redact` takes them out of a text."""

    secrets: list[str] = field(default_factory=list)
    urls: dict[str, str] = field(default_factory=dict)

    def hide(self, secrets: Iterable[str] = (), urls: Iterable[str] = ()) -> None:
        for url in urls:
            if url:
                self.urls.setdefault(url, hidden_url(url))
        for secret in secrets:
            for spelling in _spellings(secret) if len(secret) >= SHORTEST_SECRET else ():
                if spelling not in self.secrets:
                    self.secrets.append(spelling)
        self.secrets.sort(key=len, reverse=True)  # a secret that holds another goes first

    def __bool__(self) -> bool:
        return bool(self.secrets or self.urls)

    def redact(self, text: str) -> str:
        for url, shown in self.urls.items():
            text = text.replace(url, shown)
        for secret in self.secrets:
            text = text.replace(secret, HIDDEN)
        return text
