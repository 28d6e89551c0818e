"""Canonical article URLs, so one story reached through tracking links or AMP pages is one entry.

Written on urllib rather than courlan's normalize_url, which HTML-unescapes URLs ("?id=5&amp=1"
loses its `amp` key) and drops query parameters without a value ("story.php?1234" and
"story.php?1235" would merge). Query parameters are kept byte for byte, minus trackers and AMP markers,
and sorted; the fragment is dropped (`#publisher=newsstand`, `#ref=rss`).

Trackers are the ad networks' and analytics suites' parameters, the ones news feeds add to every link
(the corpus's 16 news feeds and 2,000 archived items: DW's `maca`, Al Jazeera's `traffic_source`, the BBC's
`at_medium`/`at_campaign`, heise's `wt_mc`, the Daily Mail's `ito` and `ns_*`, WSJ's `gaa_*`), plain
`ref`/`icid`/`cmpid`, generic keys whose value says the reader came from a feed (`src=rss`, `from=rss`,
`cmp=defrss`, `cid=public-rss_...`), and whatever the user adds in the config (`links: drop_params`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import SplitResult, unquote, urljoin, urlsplit, urlunsplit

_DEFAULT_PORTS = {"http": 80, "https": 443}
_TRACKING_PREFIXES = (
    "utm_", "mc_", "_hs", "hsa_", "pk_", "mtm_", "ns_", "oly_", "vero_", "itm_", "at_", "wt_", "wt.", "gaa_",
)  # fmt: skip
_TRACKING_KEYS = frozenset(
    {
        "fbclid", "gclid", "gclsrc", "dclid", "gbraid", "wbraid", "msclkid", "yclid", "twclid", "ttclid",
        "igshid", "igsh", "li_fat_id", "mkt_tok", "_ga", "_gl", "_openstat", "ref", "ref_src", "ref_url",
        "referrer", "cmpid", "icid", "ncid", "ocid", "s_cid", "smid", "xtor", "sr_share", "maca",
        "traffic_source", "ito", "dmcid", "itid", "feed_tracker", "srcc", "_bhlid", "srsltid", "rssfeed",
    }
)  # fmt: skip
_FEED_MARKER_KEYS = frozenset({"src", "source", "from", "partner", "cmp", "cid", "ch", "feature", "via", "rss"})
"""Keys that mean something on some sites, dropped only when their value says "from the feed"."""
_FEED_WORDS = frozenset({"rss", "defrss", "feed", "feeds", "rssfeed", "atom"})
_AMP_KEYS = frozenset({"amp", "outputtype"})
_ESCAPES = {code: f"%{code:02X}" for code in [*range(0x21), 0x7F, *b'"<>\\^`{|}']}
"""ASCII that may not stand in a URL (spaces, quotes, controls): percent-encoded, as browsers send them and as
Telegram requires ("Wrong HTTP URL" otherwise). Non-ASCII stays as written."""
_AMP_VALUES = frozenset({"", "1", "true", "yes", "amp"})


@dataclass(frozen=True, slots=True)
class DropParams:
    """Query parameters the user drops besides the built-in trackers (config `links: drop_params`): exact
    names, and prefixes written with a trailing `*` (`sr_*`). Names compare case-insensitively."""

    names: frozenset[str] = frozenset()
    prefixes: tuple[str, ...] = field(default=())

    @classmethod
    def of(cls, params: Iterable[str]) -> DropParams:
        listed = [param.strip().lower() for param in params]
        return cls(
            frozenset(p for p in listed if not p.endswith("*")),
            tuple(sorted(p[:-1] for p in listed if p.endswith("*"))),
        )

    def drops(self, key: str) -> bool:
        return key in self.names or (bool(self.prefixes) and key.startswith(self.prefixes))


BUILT_IN = DropParams()
"""No parameters beyond the built-in trackers."""


def resolve_link(base: str, link: str, drop: DropParams = BUILT_IN) -> str:
    """An item's link resolved against the feed's address and made canonical; "" for none, and for a link
    no URL parser can read (`http://[::1/x`): the item keeps its text, and no later stage meets the link."""
    if not isinstance(link, str) or not link.strip():
        return ""
    try:
        url = canonical_url(urljoin(base, link), drop=drop)
        urlsplit(url).port  # noqa: B018  (raises for a port out of range)
    except ValueError:
        return ""
    return url


def canonical_url(url: str, canonical: str | None = None, drop: DropParams = BUILT_IN) -> str:
    """The canonical form of `url`; a page's rel=canonical link, when known, wins over it.

    `canonical` may be relative: it is resolved against `url`. Anything that is not an http(s)
    URL is returned stripped but otherwise untouched, so GUID-like links survive. `drop` names the
    parameters the user wants gone besides the built-in trackers.
    """
    try:
        chosen = (urljoin(url, canonical.strip()) if canonical and canonical.strip() else url).strip()
    except ValueError:  # a rel=canonical that is no URL
        chosen = url.strip()
    try:
        parts = urlsplit(chosen)
        port = parts.port
    except ValueError:
        return chosen
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS or not parts.hostname:
        return chosen
    host = parts.hostname.rstrip(".").removeprefix("amp.")
    userinfo = parts.netloc.rpartition("@")[0]
    netloc = (f"{userinfo}@" if userinfo else "") + host
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = urlsplit(urljoin(f"{scheme}://{netloc}/", parts.path or "/")).path  # resolves ./ and ../
    query = _clean_query(parts, drop)
    return urlunsplit((scheme, netloc, _without_amp_path(path).translate(_ESCAPES), query.translate(_ESCAPES), ""))


def _without_amp_path(path: str) -> str:
    """Drop /amp path segments and the .amp / .amp.html suffixes of AMP page names."""
    segments = [s for s in path.split("/") if s.lower() != "amp"]
    last = segments[-1].lower() if segments else ""
    if last.endswith(".amp.html"):
        segments[-1] = segments[-1][: -len(".amp.html")] + ".html"
    elif last.endswith(".amp"):
        segments[-1] = segments[-1][: -len(".amp")]
    cleaned = "/".join(segments)
    if path.endswith("/") and not cleaned.endswith("/"):
        cleaned += "/"
    return cleaned if cleaned.startswith("/") else "/" + cleaned


def _clean_query(parts: SplitResult, drop: DropParams) -> str:
    kept = []
    for token in parts.query.split("&"):
        key, _, value = token.partition("=")
        key = unquote(key).lower()
        if not token or _is_tracker(key, value) or drop.drops(key):
            continue
        if key in _AMP_KEYS and unquote(value).lower() in _AMP_VALUES:
            continue
        kept.append(token)
    return "&".join(sorted(kept))


def _is_tracker(key: str, value: str) -> bool:
    if key in _TRACKING_KEYS or key.startswith(_TRACKING_PREFIXES):
        return True
    return key in _FEED_MARKER_KEYS and _says_feed(unquote(value).lower(), key)


def _says_feed(value: str, key: str) -> bool:
    """`rss`, `defrss`, `rss_ugc...`, `public-rss_20200116`, `f_feed_MZ`: the value names a feed (`rss=1` too)."""
    if key == "rss" and value in _AMP_VALUES:
        return True
    words = "".join(c if c.isalnum() else " " for c in value).split()
    return any(word in _FEED_WORDS or word.startswith("rss") for word in words)
