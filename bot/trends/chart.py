"""A trend as a PNG chart: stories per hour or day as bars (one topic) or lines (several), the usual count drawn
as a dashed line, spikes in red.

matplotlib (Agg, no display) is imported when a chart is drawn, so commands that draw none start without it
(it takes about half a second). Rule titles are drawn as plain text: mathtext is off (a `$` in a title is a
dollar sign, never markup), control characters are removed and lengths capped. One chart is drawn at a
time (matplotlib's global state), in the caller's thread: the chat front draws in a worker thread.
"""

from __future__ import annotations

import io
import logging
import math
import threading
import warnings
from typing import Any

from bot.parse.clean import clean_text
from bot.trends.series import TopicSeries, Trend

WIDTH, HEIGHT, DPI = 8.0, 3.6, 100
"""The PNG is 800 x 360 pixels: readable in a chat, a few tens of kB."""
BAR, SPIKE, USUAL = "#4a7ab5", "#d62728", "#444444"
COLOURS = ("#4a7ab5", "#e69f00", "#009e73", "#cc79a7", "#56b4e9", "#8c564b", "#7f7f7f", "#bcbd22")
_TITLE_CAP, _NAME_CAP = 70, 40
_LOCK = threading.Lock()


def plain(text: str, cap: int) -> str:
    """Text as the chart shows it: one line, no control characters, at most `cap` characters."""
    line = " ".join(clean_text(text).split())
    return line if len(line) <= cap else line[: cap - 1].rstrip() + "…"


def period_words(trend: Trend) -> str:
    """ "stories per day, 4–17 Feb 2026 (UTC)"."""
    unit = "hour" if trend.step.total_seconds() <= 3600 else "day"
    first, last = trend.start, trend.until
    span = f"{first:%d %b %H:%M} – {last:%d %b %Y %H:%M}" if unit == "hour" else f"{first:%d %b} – {last:%d %b %Y}"
    return f"stories per {unit}, {span} (UTC)"


def render_png(trend: Trend, heading: str) -> bytes:
    """The chart as PNG bytes; a trend without stories is drawn as a note saying so."""
    import matplotlib

    with _LOCK, warnings.catch_warnings(), matplotlib.rc_context({"text.parse_math": False, "text.usetex": False}):
        warnings.simplefilter("ignore")  # glyphs missing from the font (CJK titles) are drawn as boxes
        logging.getLogger("matplotlib").setLevel(logging.ERROR)
        return _draw(trend, heading)


def _draw(trend: Trend, heading: str) -> bytes:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.dates import AutoDateLocator, ConciseDateFormatter, date2num
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(WIDTH, HEIGHT), dpi=DPI, layout="constrained")
    FigureCanvasAgg(figure)
    axes = figure.subplots()
    figure.suptitle(plain(heading, _TITLE_CAP), fontsize=12, fontweight="bold", x=0.01, ha="left")
    axes.set_title(period_words(trend), fontsize=9, loc="left", color="#555555")
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.spines[["top", "right"]].set_visible(False)
    starts = trend.starts
    width = trend.step.total_seconds() / 86400
    middles = [date2num(start) + width / 2 for start in starts]
    if trend.empty or not starts:
        names = ", ".join(plain(topic.title, _NAME_CAP) for topic in trend.topics) or "these topics"
        axes.text(0.5, 0.5, f"No stories of {names} in this period", ha="center", va="center",
                  transform=axes.transAxes, fontsize=11, color="#555555")  # fmt: skip
        axes.set_ylim(0, 1)
    elif len(trend.topics) == 1:
        _bars(axes, trend.topics[0], middles, width)
    else:
        for index, topic in enumerate(trend.topics):
            _line(axes, topic, middles, COLOURS[index % len(COLOURS)])
    if starts:
        axes.set_xlim(date2num(starts[0]), date2num(starts[-1]) + width)
        locator = AutoDateLocator(minticks=4, maxticks=10)
        axes.xaxis.set_major_locator(locator)
        axes.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    if not trend.empty and starts:
        handles, _ = axes.get_legend_handles_labels()
        if any(any(topic.spikes) for topic in trend.topics):
            from matplotlib.patches import Patch

            handles.append(Patch(color=SPIKE, label="spike"))
        beside = {"bbox_to_anchor": (1.0, 1.0)} if len(trend.topics) > 1 else {}
        axes.legend(handles=handles, loc="upper left", fontsize=8, frameon=False, **beside)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _gaps(values: tuple[float | None, ...]) -> list[float]:
    return [math.nan if value is None else value for value in values]


def _bars(axes: Any, topic: TopicSeries, middles: list[float], width: float) -> None:
    colours = [SPIKE if spike else BAR for spike in topic.spikes]
    axes.bar(middles, topic.counts, width=width * 0.85, color=colours, label="stories")
    axes.step(middles, _gaps(topic.usual), where="mid", color=USUAL, linestyle="--", linewidth=1.2,
              label="usual: same hours, earlier days")  # fmt: skip


def _line(axes: Any, topic: TopicSeries, middles: list[float], colour: str) -> None:
    name = f"{plain(topic.title, _NAME_CAP)} ({topic.total})"
    axes.plot(middles, topic.counts, color=colour, linewidth=1.6, marker="o", markersize=2.5, label=name)
    axes.plot(middles, _gaps(topic.usual), color=colour, linewidth=1.0, linestyle="--", alpha=0.7)
    marked = [(x, count) for x, count, spike in zip(middles, topic.counts, topic.spikes, strict=True) if spike]
    if marked:
        xs, ys = zip(*marked, strict=True)
        axes.scatter(xs, ys, color=SPIKE, marker="^", s=40, zorder=3)
