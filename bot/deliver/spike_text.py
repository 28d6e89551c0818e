"""Spike messages: "Troop deployment: 14 stories in the last hour, usually 2 (7x)", and the hour's most told
story with its outlets. Pure; feed text and rule titles are escaped and cut to length as in story messages."""

from __future__ import annotations

from html import escape
from typing import Any

from bot.deliver.format import Rendered, clip, story_line, when
from bot.model import SpikeAlert

SPIKE = "📈"
_TITLE_CAP = 300
_NAME_CAP = 80


def usual_words(usual: float | None) -> str:
    """ "usually 2", "usually under 1", "usually none"; "no history yet" without any."""
    if usual is None:
        return "no history yet"
    if usual == 0:
        return "usually none"
    if usual < 1:
        return "usually under 1"
    return f"usually {round(usual)}"


def spike_headline(spike: SpikeAlert) -> str:
    """ "Troop deployment: 14 stories in the last hour, usually 2 (7x)"."""
    stories = "1 story" if spike.count == 1 else f"{spike.count} stories"
    ratio = f" ({spike.count / spike.usual:.0f}x)" if spike.usual is not None and spike.usual >= 1 else ""
    return f"{clip(spike.rule_title, _NAME_CAP)}: {stories} in the last hour, {usual_words(spike.usual)}{ratio}"


def render_spike(spike: SpikeAlert) -> Rendered:
    """A spike message: the headline, when the surge began, and the hour's most told story (linked title,
    its outlets and origin)."""
    headline = spike_headline(spike)
    since = f"Surge since {when(spike.started_at)}"
    html_lines = [f"{SPIKE} <b>{escape(headline)}</b>", escape(since)]
    plain_lines = [f"{SPIKE} {headline}", since]
    story = spike.story
    if story is not None and story.members:
        lead = story.members[0]
        title = clip(story.title or lead.title or lead.url or "(untitled)", _TITLE_CAP)
        url = lead.url if lead.url.startswith(("http://", "https://")) else None
        linked = f'<a href="{escape(url)}">{escape(title)}</a>' if url else escape(title)
        told = story_line(story) or clip(lead.outlet, _NAME_CAP)
        html_lines += [f"Most told: {linked}", escape(told)]
        plain_lines += [f"Most told: {title}", *([url] if url and len(url) <= 1500 else []), told]
    return Rendered("\n".join(html_lines), "\n".join(plain_lines))


def spike_record(spike: SpikeAlert) -> dict[str, Any]:
    """A spike as one JSON object (`poll --json`): the topic, counts, surge and most told story."""
    story = spike.story
    return {
        "spike": spike.rule_id,
        "rule_title": spike.rule_title,
        "surge": spike.number,
        "count": spike.count,
        "usual": spike.usual,
        "grown": spike.grown,
        "started": spike.started_at.isoformat(),
        "at": spike.at.isoformat(),
        "most_told": None
        if story is None
        else {"id": story.id, "title": story.title, "outlets": list(story.outlets), "origin": story.origin},
    }
