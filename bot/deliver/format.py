"""Story messages for Telegram: HTML for normal sends, plain text for the fallback, summaries for bursts.

Pure. Every piece of feed text goes through `html.escape`, so no feed can break or inject markup, and every
piece has a length cap, so a message never exceeds Telegram's 4096 characters (counted, as Telegram counts
them, in UTF-16 code units of the text left after the markup is parsed).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from html import escape, unescape

from bot.counts import plural
from bot.deliver.snippet import make_snippet
from bot.model import Alert, Entry, Headline, Match, Story

MAX_MESSAGE = 4096
_TITLE_CAP = 400
_NAME_CAP = 80
_URL_CAP = 1500
_OUTLETS_SHOWN = 12
_TOPICS_CAP = 400
BREAKING = "🔴 BREAKING"


def utf16_len(text: str) -> int:
    """Telegram's length unit: UTF-16 code units (an emoji outside the BMP counts twice, a lone surrogate once)."""
    return len(text.encode("utf-16-le", errors="surrogatepass")) // 2


def clip(text: str, cap: int) -> str:
    """At most `cap` UTF-16 units of `text`, ending with an ellipsis when cut."""
    text = " ".join(text.split())
    if utf16_len(text) <= cap:
        return text
    out, used = [], 0
    for char in text:
        used += utf16_len(char)
        if used > cap - 1:
            break
        out.append(char)
    return "".join(out).rstrip() + "…"


def _link(url: str) -> str | None:
    return url if url.startswith(("http://", "https://")) else None


def when(published: datetime | None) -> str:
    if published is None:
        return "time unknown"
    aware = published if published.tzinfo else published.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def story_line(story: Story) -> str | None:
    """ "3 outlets: MENAFN, X, Y; originally RIA News", or None for a story told by one outlet so far. A story
    told in several languages names them: "4 outlets in 2 languages: RIA News (ru), MENAFN (en), ...;
    originally RIA News (ru)"."""
    outlets = story.outlets
    if len(outlets) < 2:
        return None
    languages = story.languages
    several = len(languages) > 1
    spoken = {m.outlet: m.language for m in reversed(story.members) if m.language}

    def named(outlet: str) -> str:
        name = clip(outlet, _NAME_CAP)
        return f"{name} ({spoken[outlet]})" if several and outlet in spoken else name

    shown = ", ".join(named(o) for o in outlets[:_OUTLETS_SHOWN])
    more = f" and {len(outlets) - _OUTLETS_SHOWN} more" if len(outlets) > _OUTLETS_SHOWN else ""
    count = f"{len(outlets)} outlets" + (f" in {len(languages)} languages" if several else "")
    origin = clip(story.origin, _NAME_CAP)
    if several and story.origin_language:
        origin += f" ({story.origin_language})"
    return f"{count}: {shown}{more}; originally {origin}"


def topics_line(titles: Sequence[str]) -> str:
    """ "Topic: Estonia", or "Topics: Troop deployment, Kaja Kallas, Estonia" for a story that matched several."""
    names = clip(", ".join(clip(title, _NAME_CAP) for title in titles), _TOPICS_CAP)
    return f"Topic{'s' if len(titles) > 1 else ''}: {names}"


def lead_of(topics: Sequence[Alert]) -> tuple[Entry, Match]:
    """The article a story message shows (the first named topic's), and the words every named topic
    matched in it, so the snippet marks them all."""
    entry = topics[0].entry
    same = [alert.match for alert in topics if (alert.entry.feed_url, alert.entry.key) == (entry.feed_url, entry.key)]
    return entry, replace(same[0], clauses=tuple(hit for match in same for hit in match.clauses))


def headline_of(topics: Sequence[Alert]) -> Headline:
    """A story message's summary line: the lead article's title and outlet cut to length, and its topics."""
    entry = topics[0].entry
    names = clip(", ".join(alert.rule_title for alert in topics), _TOPICS_CAP)
    return Headline(clip(entry.title or entry.url, 200), entry.url, clip(entry.outlet, _NAME_CAP), names)


@dataclass(frozen=True, slots=True)
class Rendered:
    """One message in both forms: HTML for parse_mode=HTML, and the plain-text fallback."""

    html: str
    plain: str


def redacted(rendered: Rendered, redact: Callable[[str], str]) -> Rendered:
    """Both forms with secrets taken out (bot/logs.redact): a feed that never named itself is shown by its
    address, and that address may hold a key from the environment."""
    return Rendered(redact(rendered.html), redact(rendered.plain))


def render_story(story: Story | None, topics: Sequence[Alert]) -> Rendered:
    """One message for a story: breaking marker, bold linked title, outlet and time, the topics it matched,
    story line, snippet with the words every topic matched marked."""
    entry, match = lead_of(topics)
    title = clip(entry.title or entry.url or "(untitled)", _TITLE_CAP)
    url = _link(entry.url)
    meta = f"{clip(entry.outlet, _NAME_CAP)} · {when(entry.published)}"
    topic = topics_line([alert.rule_title for alert in topics])
    html_lines, plain_lines = [], []
    if story is not None and story.breaking:
        html_lines.append(f"<b>{BREAKING}</b>")
        plain_lines.append(BREAKING)
    linked = f'<a href="{escape(url)}">{escape(title)}</a>' if url else escape(title)
    html_lines += [f"<b>{linked}</b>", escape(meta), f"<i>{escape(topic)}</i>"]
    plain_lines += [title, *([url] if url and utf16_len(url) <= _URL_CAP else []), meta, topic]
    line = story_line(story) if story is not None else None
    if line:
        html_lines.append(escape(line))
        plain_lines.append(line)
    snippet = make_snippet(entry, match)
    if snippet.segments:
        marked = "".join(f"<b>{escape(s.text)}</b>" if s.marked else escape(s.text) for s in snippet.segments)
        html_lines += ["", marked]
        plain_lines += ["", snippet.text]
    return Rendered("\n".join(html_lines), "\n".join(plain_lines))


def _fit(head: tuple[str, str], items: Sequence[tuple[str, str]]) -> Rendered:
    """The head, then as many (html, plain) lines as fit in one message, then "… and N more".

    Each plain line is at least as long as what its HTML line shows, so budgeting on plain covers both.
    """
    html_lines, plain_lines = [head[0]], [head[1]]
    used = utf16_len(head[1])
    for index, (html, plain) in enumerate(items):
        if used + 1 + utf16_len(plain) > MAX_MESSAGE - 40:
            rest = f"… and {len(items) - index} more"
            html_lines.append(escape(rest))
            plain_lines.append(rest)
            break
        used += 1 + utf16_len(plain)
        html_lines.append(html)
        plain_lines.append(plain)
    return Rendered("\n".join(html_lines), "\n".join(plain_lines))


_TAG = re.compile(r"<[^<>]*>")


def visible_length(html_text: str) -> int:
    """What Telegram counts of an HTML message: its text without tags and entities, in UTF-16 units."""
    return utf16_len(unescape(_TAG.sub("", html_text)))


def fit_message(lines: Sequence[str]) -> str:
    """HTML lines joined into one message, as many whole lines as Telegram takes, then "… and N more"."""
    kept: list[str] = []
    used = 0
    for index, line in enumerate(lines):
        size = visible_length(line) + 1
        if used + size > MAX_MESSAGE - 40:
            kept.append(escape(f"… and {plural(len(lines) - index, 'more line')}"))
            break
        kept.append(line)
        used += size
    return "\n".join(kept)


def render_summary(heading: str, headlines: Sequence[Headline]) -> Rendered:
    """Many alerts in one message (a folded burst or a digest): one line each with its link."""
    head = clip(heading, _TITLE_CAP)
    items = []
    for line in headlines:
        title = clip(line.title, 200)
        tail = f" — {clip(line.outlet, _NAME_CAP)} [{clip(line.topic, _NAME_CAP)}]"
        url = _link(line.url)
        linked = f'<a href="{escape(url)}">{escape(title)}</a>' if url else escape(title)
        plain_url = f"\n  {url}" if url and utf16_len(url) <= _URL_CAP else ""
        items.append((f"• {linked}{escape(tail)}", f"• {title}{tail}{plain_url}"))
    return _fit((f"<b>{escape(head)}</b>", head), items)


def render_why(story: Story | None, topics: Sequence[Alert]) -> Rendered:
    """Why a story message was sent: each topic it names with its rule, the clauses as written and the words
    that satisfied them (and where), then the story's origin and every member with its outlet and credits (and
    its language, when the story spans several), and what joined it to the story."""
    items: list[tuple[str, str]] = []
    for alert in topics:
        rule, rule_id = clip(alert.rule_title, _NAME_CAP), clip(alert.rule_id, _NAME_CAP)
        where = ""
        if alert.entry.key != topics[0].entry.key:  # matched in another member of the story
            where = " in " + clip(f"{alert.entry.outlet}: {alert.entry.title}", 200)
        html = f"<b>{escape(rule)}</b> (rule <code>{escape(rule_id)}</code>){escape(where)}"
        items.append((html, f"{rule} (rule {rule_id}){where}"))
        for hit in alert.match.clauses:
            clause = clip(hit.clause, 300)
            words = clip(", ".join(dict.fromkeys(f"{s.text} ({s.field})" for s in hit.spans)), 300)
            items.append((f"• <code>{escape(clause)}</code>: <b>{escape(words)}</b>", f"• {clause}: {words}"))
    if story is not None:
        origin = clip(story.origin, _NAME_CAP)
        items.append((f"Story: originally <b>{escape(origin)}</b>", f"Story: originally {origin}"))
        several = len(story.languages) > 1
        for member in story.members:
            credits = "; ".join(c.source + (f" via {c.via}" if c.via else "") for c in member.credits)
            outlet = f"{member.outlet} [{member.language}]" if several and member.language else member.outlet
            text = clip(f"{outlet}: {member.title}" + (f" (credits {credits})" if credits else ""), 250)
            items.append((f"• {escape(text)}", f"• {text}"))
            if member.joined is not None:
                joined = clip(f"joined by {member.joined}" if member.joined else "opened the story", 250)
                items.append((f"  <i>{escape(joined)}</i>", f"  {joined}"))
    heading = clip(", ".join(alert.rule_title for alert in topics), _TOPICS_CAP)
    return _fit((f"<b>Why: {escape(heading)}</b>", f"Why: {heading}"), items)
