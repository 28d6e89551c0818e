"""The terminal sink: alerts printed readably with rich when no Telegram token is configured."""

from __future__ import annotations

from rich.console import Console
from rich.panel import Panel
from rich.text import Text

from bot.deliver.format import story_line
from bot.deliver.sink import AfterCommitSink
from bot.deliver.snippet import Snippet, make_snippet, title_segments
from bot.model import Alert, Notice, Story
from bot.parse.clean import clean_text


def _styled(snippet: Snippet, base: str = "") -> Text:
    text = Text(style=base)
    for segment in snippet.segments:
        text.append(_shown(segment.text), style="bold yellow" if segment.marked else None)
    return text


def render_alert(alert: Alert) -> Panel:
    """One alert as a panel: topic, outlet and time, title, link, story line, snippet."""
    entry = alert.entry
    when = entry.published.strftime("%Y-%m-%d %H:%M UTC") if entry.published else "time unknown"
    body = Text()
    body.append_text(_styled(title_segments(entry, alert.match), base="bold"))
    body.append("\n")
    body.append(_shown(entry.url) or "(no link)", style="underline blue")
    story = alert.story
    line = story_line(story) if story is not None else None
    if line:
        body.append(f"\n{_shown(line)}", style="magenta")
    body.append("\n\n")
    body.append_text(_styled(make_snippet(entry, alert.match)))
    breaking = "BREAKING · " if story is not None and story.breaking else ""
    return Panel(
        body,
        title=Text(_shown(f"{breaking}{alert.rule_title}"), style="bold"),
        subtitle=Text(_shown(f"{entry.outlet} · {when}")),
        title_align="left",
        subtitle_align="right",
    )


def _shown(text: str) -> str:
    """Text for the terminal: plain Text objects (never rich markup, so `[/x]` in a name is just text),
    without control characters, which a terminal would obey (feed text is clean already; names and rule
    titles come from files)."""
    return clean_text(text)


def render_update(topic: str, story: Story) -> Text:
    """A story alerted before has gained an outlet: one line instead of a second alert."""
    line = Text("  ↳ ", style="magenta")
    line.append(f"{_shown(topic)}: ", style="bold")
    line.append(_shown(f"\"{story.title}\" now has {story_line(story) or story.outlets[0]}"))
    return line


class ConsoleSink(AfterCommitSink):
    """Prints alerts once the transaction that stored them has committed (the demo's and `poll`'s sink)."""

    name = "console"

    def __init__(self, console: Console | None = None) -> None:
        super().__init__()
        self.console = console or Console()

    def emit_notice(self, notice: Notice) -> None:
        self.console.print(Text(f"⚠ {_shown(notice.text)}", style="bold yellow"))

    def emit(self, alert: Alert) -> None:
        if alert.update and alert.story is not None:
            self.console.print(render_update(alert.rule_title, alert.story), highlight=False)
        else:
            self.console.print(render_alert(alert))
