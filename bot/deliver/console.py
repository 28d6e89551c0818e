"""The terminal sink: one panel per story, naming every topic it matched, when no Telegram token is configured.

A story printed before that grew (or matched another topic) gets one line, not a second panel; so does a
topic's surge that grew after its spike panel.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.deliver.format import lead_of, story_line, topics_line
from bot.deliver.sink import AfterCommitSink
from bot.deliver.snippet import Snippet, make_snippet, title_segments
from bot.deliver.spike_text import render_spike, spike_headline
from bot.model import Alert, Notice, SpikeAlert, Story, StoryAlert
from bot.parse.clean import clean_text


def _styled(snippet: Snippet, base: str = "") -> Text:
    text = Text(style=base)
    for segment in snippet.segments:
        text.append(_shown(segment.text), style="bold yellow" if segment.marked else None)
    return text


def render_story(story: Story | None, topics: Sequence[Alert]) -> Panel:
    """A story as a panel: its topics, outlet and time, title, link, story line, snippet."""
    entry, match = lead_of(topics)
    when = entry.published.strftime("%Y-%m-%d %H:%M UTC") if entry.published else "time unknown"
    body = Text()
    body.append_text(_styled(title_segments(entry, match), base="bold"))
    body.append("\n")
    body.append(_shown(entry.url) or "(no link)", style="underline blue")
    line = story_line(story) if story is not None else None
    if line:
        body.append(f"\n{_shown(line)}", style="magenta")
    body.append("\n\n")
    body.append_text(_styled(make_snippet(entry, match)))
    breaking = "BREAKING · " if story is not None and story.breaking else ""
    return Panel(
        body,
        title=Text(_shown(f"{breaking}{topics_line([alert.rule_title for alert in topics])}"), style="bold"),
        subtitle=Text(_shown(f"{entry.outlet} · {when}")),
        title_align="left",
        subtitle_align="right",
    )


def _shown(text: str) -> str:
    """Text for the terminal: plain Text objects (never rich markup, so `[/x]` in a name is just text),
    without control characters, which a terminal would obey (feed text is clean already; names and rule
    titles come from files)."""
    return clean_text(text)


def render_update(story: StoryAlert) -> Text:
    """A story printed before has gained an outlet or a topic: one line instead of a second panel."""
    lead = story.alerts[0]
    title = story.story.title if story.story is not None else lead.entry.title
    changes = []
    if story.grown and story.story is not None:
        changes.append(f"now has {story_line(story.story) or story.story.outlets[0]}")
    if story.fresh:
        changes.append(f"now also {topics_line([alert.rule_title for alert in story.fresh])}")
    line = Text("  ↳ ", style="magenta")
    line.append(f"{_shown(topics_line([alert.rule_title for alert in story.alerts]))}: ", style="bold")
    line.append(_shown(f"\"{title}\" {'; '.join(changes)}"))
    return line


class ConsoleSink(AfterCommitSink):
    """Prints stories once the transaction that stored them has committed (the demo's and `poll`'s sink)."""

    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        super().__init__()
        self.console = console or Console()

    def emit_notice(self, notice: Notice) -> None:
        self.console.print(Text(f"⚠ {_shown(notice.text)}", style="bold yellow"))

    def emit_spike(self, spike: SpikeAlert) -> None:
        if spike.grown:
            self.console.print(Text(f"  ↳ {_shown(spike_headline(spike))}", style="bold red"), highlight=False)
            return
        title, _, body = render_spike(spike).plain.partition("\n")
        self.console.print(Panel(Text(_shown(body)), title=Text(_shown(title), style="bold red"), title_align="left"))

    def emit(self, story: StoryAlert) -> None:
        if story.earlier:
            self.console.print(render_update(story), highlight=False)
        else:
            self.console.print(render_story(story.story, story.alerts))
