"""What the command line shows: rich tables and lines on the terminal, JSON lines for scripts.

Text from feeds and rule files is printed without markup, so no name or title can style the terminal.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TextColumn
from rich.table import Table
from rich.text import Text

from bot.counts import plural

# What the views show, and how, is imported by the views that run (start-up time: see cli.py).
if TYPE_CHECKING:
    from bot.config import Config
    from bot.ingest.pipeline import FeedPollReport
    from bot.model import Entry, Match, Story
    from bot.rulebook.backtest import DraftChange, RuleHits
    from bot.status.health import HealthReport, Latency
    from bot.status.members import ProcessReport
    from bot.trends.series import Trend

out = Console(soft_wrap=True)
err = Console(stderr=True, soft_wrap=True)


def problems(found: Iterable[object]) -> None:
    """Print `file:line: message` problems on stderr, unwrapped so editors and grep can use them."""
    for problem in found:
        err.print(str(problem), markup=False, highlight=False)


@contextmanager
def poll_progress(feeds: int, show: bool) -> Iterator[Callable[[], None]]:
    """A progress bar over the feeds of one poll cycle; yields the callback a finished feed calls."""
    with Progress(
        TextColumn("[progress.description]{task.description}"),
        BarColumn(),
        TextColumn("{task.completed}/{task.total} feeds"),
        console=err,
        disable=not show,
        transient=True,
    ) as progress:
        task = progress.add_task("polling", total=feeds)
        yield lambda: progress.advance(task)


def show_poll_reports(reports: Sequence[FeedPollReport], config: Config | None = None) -> int:
    """Failed feeds, the cycle's totals, and why a first poll alerted nothing; the exit status: 1 when any feed
    failed (scripts and cron jobs can tell), else 0."""
    failed = [r for r in reports if r.error]
    for report in failed:
        err.print(f"feed {report.feed_url}: {report.error}", style="red", markup=False, highlight=False)
    stories = [story for report in reports for story in report.stories]
    new = [story for story in stories if not story.earlier]
    alerted = plural(len(new), "new story", "new stories")
    topics = plural(sum(len(story.fresh) for story in new), "topic alert")
    err.print(
        f"{plural(len(reports), 'feed')} polled, {len(failed)} failed, {alerted} alerted ({topics}), "
        f"{len(stories) - len(new)} updated",
        highlight=False,
    )
    held = [report for report in reports if report.held_back]
    if held:
        err.print(_held_back(held, config), markup=False, highlight=False)
    return 1 if failed else 0


def _held_back(held: Sequence[FeedPollReport], config: Config | None) -> str:
    """Why entries of new feeds raised no alert: "30 entries stored without alerts (ERR News's first poll) ..."."""
    stored = plural(sum(report.held_back for report in held), "entry", "entries")
    whose = f"{held[0].outlet}'s first poll" if len(held) == 1 else f"first polls of {len(held)} feeds"
    feeds = {feed.url: feed for feed in config.feeds} if config else {}
    backlogs = sorted({feeds[report.feed_url].backlog for report in held if report.feed_url in feeds})
    backlog = "/".join(str(number) for number in backlogs) or "0"
    where = f" in {config.config_file}" if config and config.config_file else ""
    return (
        f"{stored} stored without alerts ({whose}): a feed's first poll alerts at most `backlog` ({backlog}) of "
        "its entries, so a new feed never floods you with old news; `newsbot rules backtest` shows what they "
        f"match, and `backlog: N` on a new feed{where} alerts on its N newest at its first poll; later polls "
        "alert on every new entry"
    )


def show_backtest(
    results: Sequence[RuleHits], changes: Sequence[DraftChange], entries: int, period: str, show: int
) -> None:
    """Per rule its matches and alerts (one per story), the latest alerts with their matched words, and for
    draft rule files what they would change against the live rule; before any poll, what to do instead."""
    if not entries:
        err.print(
            f"no entries stored in the last {period}: the backtest runs the rules over stored entries, and "
            "`newsbot poll --once` or `newsbot run` stores them (or try a longer --since)",
            markup=False,
            highlight=False,
        )
        return
    stored = plural(entries, "entry", "entries")
    paths = [Path(_shown_path(result.rule.path)) for result in results]
    folders = {str(path.parent) for path in paths}
    # Rules named after their files in one folder need no file column: the title names the folder.
    by_file = len(folders) > 1 or any(path.stem != result.rule.id for path, result in zip(paths, results, strict=True))
    where = "" if by_file or not folders else f", rules in {next(iter(folders))}/"
    table = Table(title=f"Backtest over {stored} stored in the last {period}{where}", caption="alerts: one per story")
    table.add_column("rule", overflow="fold")
    table.add_column("matches", justify="right")
    table.add_column("alerts", justify="right")
    if by_file:
        table.add_column("file", overflow="fold")
    for path, result in zip(paths, results, strict=True):
        cells = [escape(result.rule.id), str(len(result.hits)), str(len(result.alerts))]
        table.add_row(*cells, *([escape(str(path))] if by_file else []))
    out.print(table)
    for result in results:
        for hit in result.alerts[-show:] if show else ():
            words = ", ".join(dict.fromkeys(span.text for span in hit.match.spans))
            entry = hit.stored.entry
            out.print(f"[green]{escape(result.rule.id)}[/green]  {escape(entry.outlet)}: {escape(entry.title)}")
            out.print(f"    {entry.url}  [{words}]", markup=False, highlight=False)
    for change in changes:
        _show_change(change, show)


def _shown_path(path: str) -> str:
    """A rule file's path relative to the current folder when it is under it (links kept: `rules/x.yaml`, not
    where a linked folder points), else as it is."""
    try:
        return str(Path(path).absolute().relative_to(Path.cwd()))
    except ValueError:
        return path


def _show_change(change: DraftChange, show: int) -> None:
    draft = len(change.draft.alerts)
    rule_id = change.draft.rule.id
    if change.live is None:
        out.print(f"{rule_id}: draft: {plural(draft, 'alert')} (no live rule has this id)", highlight=False)
    else:
        live = len(change.live.alerts)
        difference = f"{abs(draft - live)} {'fewer' if draft < live else 'more'}" if draft != live else "as many"
        out.print(
            f"{rule_id}: live: {plural(live, 'alert')}, draft: {plural(draft, 'alert')}; {difference}: "
            f"{len(change.dropped)} dropped, {len(change.added)} added",
            markup=False,
            highlight=False,
        )
    for sign, hits in (("-", change.dropped), ("+", change.added)):
        for hit in hits[-show:] if show else ():
            entry = hit.stored.entry
            when = entry.published.strftime("%Y-%m-%d %H:%M") if entry.published else "undated"
            out.print(f"  {sign} {entry.title}  ({entry.outlet}, {when})  {entry.url}", markup=False, highlight=False)


def show_stories(
    stories: Sequence[Story], as_json: bool, period: str, *, topic: str | None = None, min_outlets: int = 1
) -> None:
    from bot.deliver.format import story_line
    from bot.deliver.jsonl import dump_line, story_record

    for story in stories:
        if as_json:
            dump_line(story_record(story), sys.stdout)
            continue
        breaking = "[red]BREAKING[/red] " if story.breaking else ""
        out.print(f"{breaking}[bold]{escape(story.title)}[/bold]")
        outlet = story.outlets[0]
        line = story_line(story) or (outlet if story.origin == outlet else f"{outlet}; originally {story.origin}")
        out.print(f"  {line}", highlight=False, markup=False)
        for member in story.members:
            when = member.published.strftime("%Y-%m-%d %H:%M") if member.published else "undated"
            credits = f"  (credits {', '.join(c.source for c in member.credits)})" if member.credits else ""
            out.print(f"  {when}  {member.outlet}: {member.title}{credits}", highlight=False, markup=False)
            out.print(f"      {member.url}", highlight=False, markup=False)
    if not as_json:
        told = f" told by {min_outlets}+ outlets" if min_outlets > 1 else ""
        about = f" on {topic}" if topic else ""
        counted = plural(len(stories), "story", "stories")
        err.print(f"{counted}{about}{told} in the last {period}", highlight=False, markup=False)


def show_matches(name: str, entry: Entry, matches: Sequence[Match], as_json: bool) -> None:
    from bot.deliver.jsonl import json_line, match_record

    if as_json:  # one write per file: a flush per line cost as much as the matching
        sys.stdout.write("".join(json_line({"file": name, **match_record(entry, match)}) for match in matches))
        sys.stdout.flush()
        return
    matching = f"{plural(len(matches), 'rule')} {'matches' if len(matches) == 1 else 'match'}"
    lines = [Text.assemble((name, "bold"), f": {matching}")]
    for match in matches:
        lines.append(Text.assemble("  ", (match.rule_id, "green"), f" ({match.rule_title})"))
        for hit in match.clauses:
            words = ", ".join(f"{s.text!r} ({s.field} {s.start}-{s.end})" for s in hit.spans) or "(no words)"
            lines.append(Text(f"    {hit.clause}  ->  {words}"))
    # One write per file: rendering each line through the console cost several times the matching.
    if out.color_system is None:  # no colours (a pipe, NO_COLOR): the lines are the output
        sys.stdout.write("".join(f"{line.plain}\n" for line in lines))
    else:
        out.print(Text("\n").join(lines), highlight=False)


def _latency(latency: Latency | None) -> str:
    from bot.config import human_duration  # pydantic: only for the commands that read a config

    if latency is None:
        return "-"
    return f"{human_duration(latency.p50)} / {human_duration(latency.p95)} (n={latency.count})"


def show_processes(report: ProcessReport, now: datetime, *, wide: bool = False) -> None:
    """The processes sharing the database (on SQLite the one `run`), and the work waiting between them; pid and
    start time with `wide`."""
    from bot.config import relative_time
    from bot.status.members import work_waiting

    if not report.processes:
        return
    table = Table(title=f"Processes ({work_waiting(report)})", box=_box(wide), show_edge=wide)
    columns = ("process", "host", "pid", "roles", "polling now", "started", "last heartbeat")
    shown = columns if wide else ("process", "host", "roles", "polling now", "last heartbeat")
    for column in shown:
        table.add_column(column, no_wrap=not wide, overflow="fold")
    for health in report.processes:
        process = health.process
        beat = relative_time(process.heartbeat_at, now, seconds=True)
        cells = {
            "process": process.id,
            "host": escape(process.host),
            "pid": str(process.pid),
            "roles": ", ".join(process.roles) or "-",
            "polling now": f"{health.polling} feeds",
            "started": relative_time(process.started_at, now),
            "last heartbeat": f"{beat} (stale)" if health.stale else beat,
        }
        table.add_row(*(cells[column] for column in shown), style="red" if health.stale else None)
    out.print(table)


def show_status(report: HealthReport, now: datetime, period: str, *, wide: bool = False) -> None:
    """Feed health and alert latency per topic. At 80 columns, a line per feed (name, last success, next poll
    and why in a word, errors in a row) and each failing feed's error in full below; `wide`: every column,
    the reasons in full and the latency per feed."""
    if wide:
        _feeds_wide(report, now, period)
    else:
        _feeds_narrow(report, now)
    if not report.topics:  # an empty table told a newcomer nothing
        out.print(f"Topics: no alerts in the last {period}", markup=False, highlight=False)
        return
    topics = Table(
        title=f"Topics (latency: publication -> alert, p50 / p95, last {period})", box=_box(wide), show_edge=wide
    )
    topics.add_column("topic", overflow="fold")
    topics.add_column("latency", no_wrap=True)
    for rule_id, latency in report.topics:
        topics.add_row(escape(rule_id), _latency(latency))
    out.print(topics)


def _box(wide: bool) -> box.Box:
    """Ruled tables when there is room; at 80 columns, lines without vertical rules (each saves a column)."""
    return box.HEAVY_HEAD if wide else box.SIMPLE_HEAD


def _feeds_wide(report: HealthReport, now: datetime, period: str) -> None:
    from bot.config import relative_time
    from bot.status.schedule import next_poll

    feeds = Table(title=f"Feeds (latency: publication -> alert, p50 / p95, last {period})")
    for column in ("feed", "last success", "next poll", "items/day", "latency", "error"):
        feeds.add_column(column)
    for feed in report.feeds:
        failing = f"{feed.last_error} (since {relative_time(feed.failing_since, now)})" if feed.last_error else ""
        rate = f"{feed.items_per_day:.1f}" if feed.items_per_day is not None else "-"
        feeds.add_row(
            escape(feed.name),
            relative_time(feed.last_success_at, now),
            next_poll(feed.next_poll_at, feed.why, now),
            rate,
            _latency(feed.latency),
            escape(failing),
            style="red" if feed.last_error else None,
        )
    out.print(feeds)


def _feeds_narrow(report: HealthReport, now: datetime) -> None:
    from bot.config import relative_time
    from bot.status.schedule import next_poll

    feeds = Table(title="Feeds", box=_box(False), show_edge=False)
    feeds.add_column("feed", no_wrap=True, overflow="ellipsis", min_width=12)
    for column in ("last success", "next poll", "errors"):
        feeds.add_column(column, no_wrap=True, overflow="ellipsis")
    for feed in report.feeds:
        feeds.add_row(
            escape(feed.name),
            relative_time(feed.last_success_at, now),
            next_poll(feed.next_poll_at, feed.why_short, now),
            plural(feed.consecutive_errors, "error") if feed.last_error else "",
            style="red" if feed.last_error else None,
        )
    out.print(feeds)
    for feed in report.feeds:
        if feed.last_error:
            since = relative_time(feed.failing_since, now)
            out.print(f"{feed.name}: {feed.last_error}; failing since {since}", style="red", markup=False)
    if report.feeds:
        err.print("`newsbot status --wide`: the reasons in full, items per day, latency per feed")


_BAR_WIDTH = 40


def show_trend(trend: Trend, period: str) -> None:
    """Per topic, one row per hour or day: the stories as a bar and a number, the usual count, the spikes."""
    from rich.text import Text

    from bot.trends.chart import period_words, plain

    hourly = trend.step.total_seconds() <= 3600
    for topic in trend.topics:
        title = plain(topic.title, 90)
        if topic.total == 0:
            out.print(f"{title}: no stories in {period}.", markup=False, highlight=False)
            continue
        table = Table(title=Text(f"{title}: {period_words(trend)}"), title_justify="left")
        for column, justify in (("hour" if hourly else "day", "left"), ("stories", "right"), ("", "left"),
                                ("usual", "right"), ("", "left")):  # fmt: skip
            table.add_column(column, justify=justify)  # type: ignore[arg-type]
        top = max(topic.counts)
        for start, count, usual, spike in zip(trend.starts, topic.counts, topic.usual, topic.spikes, strict=True):
            bar = "█" * round(count / top * _BAR_WIDTH) if top else ""
            table.add_row(
                start.strftime("%d %b %H:%M" if hourly else "%a %d %b"), str(count),
                Text(bar, style="red" if spike else "blue"), "-" if usual is None else f"{usual:.1f}",
                Text("▲ spike", style="bold red") if spike else "",
            )  # fmt: skip
        out.print(table)
        spikes = plural(sum(topic.spikes), "spike")
        out.print(
            f"{plural(topic.total, 'story', 'stories')}, {spikes}; usual: the same hours of the earlier days",
            markup=False, highlight=False,
        )  # fmt: skip
