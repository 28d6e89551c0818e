"""Spike messages as Telegram HTML, plain text, terminal lines and JSON: feed and rule text never becomes
markup, and every piece is capped."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime

from rich.console import Console

from bot.deliver.console import ConsoleSink
from bot.deliver.jsonl import JsonLinesSink
from bot.deliver.spike_text import render_spike, spike_headline, usual_words
from bot.model import SpikeAlert, Story, StoryMember
from tests.e2e.tg_html import parse

NOW = datetime(2026, 2, 17, 9, 12, tzinfo=UTC)
HOSTILE = Story(
    7, "<script>alert(1)</script> & [bold]loud[/bold]",
    (StoryMember(7, "Evil <i>Outlet</i>", "<b>Title</b>", "https://e.example/a?x=1&y=<2>", NOW),
     StoryMember(8, "Other & Co", "t", "javascript:alert(1)", NOW)),
    "RIA \x1b[31mNews",
)  # fmt: skip


def _spike(**changes: object) -> SpikeAlert:
    values: dict[str, object] = {
        "rule_id": "t", "rule_title": "Troops <b>$x$</b> & [red]co[/red]", "number": 1, "count": 14, "usual": 2.0,
        "started_at": NOW, "at": NOW, "story": HOSTILE,
    }  # fmt: skip
    values.update(changes)
    return SpikeAlert(**values)  # type: ignore[arg-type]


def test_usual_counts_in_words() -> None:
    assert [usual_words(u) for u in (None, 0.0, 0.4, 2.4, 2.6)] == [
        "no history yet", "usually none", "usually under 1", "usually 2", "usually 3",
    ]  # fmt: skip
    headline = spike_headline(_spike(count=1, usual=0.0))
    assert headline == "Troops <b>$x$</b> & [red]co[/red]: 1 story in the last hour, usually none"


def test_html_escapes_every_piece_and_links_only_web_addresses() -> None:
    rendered = render_spike(_spike())
    parsed = parse(rendered.html)  # Telegram's HTML subset, as the fake Bot API checks it
    assert parsed.text.splitlines() == [
        "📈 Troops <b>$x$</b> & [red]co[/red]: 14 stories in the last hour, usually 2 (7x)",
        "Surge since 2026-02-17 09:12 UTC",
        "Most told: <script>alert(1)</script> & [bold]loud[/bold]",
        "2 outlets: Evil <i>Outlet</i>, Other & Co; originally RIA \x1b[31mNews",
    ]
    assert '<a href="https://e.example/a?x=1&amp;y=&lt;2&gt;">' in rendered.html
    assert rendered.plain.splitlines()[3] == "https://e.example/a?x=1&y=<2>"
    long = render_spike(_spike(rule_title="T" * 5000, story=None))
    assert len(long.plain) < 400 and "Most told" not in long.plain


def test_the_terminal_and_json_lines_show_text_as_text() -> None:
    screen = io.StringIO()
    sink = ConsoleSink(Console(file=screen, width=200, force_terminal=True))
    sink.emit_spike(_spike())
    sink.emit_spike(_spike(count=17, grown=True))
    shown = screen.getvalue()
    assert "[red]co[/red]" in shown and "[bold]loud[/bold]" in shown  # not read as rich markup
    assert "\x1b[31mNews" not in shown  # a control sequence from a feed is removed
    assert "↳ Troops <b>$x$</b> & [red]co[/red]: 17 stories in the last hour" in shown
    out = io.StringIO()
    JsonLinesSink(out).emit_spike(_spike())
    record = json.loads(out.getvalue())
    assert record["spike"] == "t" and record["count"] == 14 and record["most_told"]["outlets"] == [
        "Evil <i>Outlet</i>", "Other & Co",
    ]  # fmt: skip
