"""Canonical article URLs, so one story reached through tracking links or AMP pages is one entry.

courlan does the general normalisation (scheme and host case, default ports, dot segments, tracking
parameters such as utm_*, fbclid, gclid, mc_cid, sorted query); this module adds what it leaves alone:
fragments and the AMP variants of a page.
"""

from __future__ import annotations

from urllib.parse import SplitResult, parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from courlan import normalize_url

_AMP_QUERY_KEYS = frozenset({"amp", "outputtype"})
_AMP_QUERY_VALUES = frozenset({"", "1", "true", "amp", "yes"})


def canonical_url(url: str, canonical: str | None = None) -> str:
    """The canonical form of `url`; a page's rel=canonical link, when known, wins over it.

    `canonical` may be relative: it is resolved against `url`. Anything that is not an http(s)
    URL is returned stripped but otherwise untouched, so odd GUID-like links survive.
    """
    chosen = urljoin(url, canonical.strip()) if canonical and canonical.strip() else url
    chosen = chosen.strip()
    if urlsplit(chosen).scheme.lower() not in ("http", "https"):
        return chosen
    try:
        normal = normalize_url(chosen)
    except ValueError:
        return chosen
    return _without_amp(urlsplit(normal)._replace(fragment=""))


def _without_amp(parts: SplitResult) -> str:
    """Drop the AMP markers: amp. host prefix, /amp path segments, .amp suffixes, ?amp=1 and kin."""
    netloc = parts.netloc.removeprefix("amp.")
    segments = [s for s in parts.path.split("/") if s.lower() != "amp"]
    last = segments[-1].lower() if segments else ""
    if last.endswith(".amp.html"):
        segments[-1] = segments[-1][: -len(".amp.html")] + ".html"
    elif last.endswith(".amp"):
        segments[-1] = segments[-1][: -len(".amp")]
    path = "/".join(segments)
    if parts.path.endswith("/") and not path.endswith("/"):
        path += "/"
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not (k.lower() in _AMP_QUERY_KEYS and v.lower() in _AMP_QUERY_VALUES)]
    query = parts.query if len(kept) == len(pairs) else urlencode(kept)
    return urlunsplit((parts.scheme, netloc, path or "/", query, ""))
