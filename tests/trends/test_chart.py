"""The chart: a PNG of the trend with its bars, usual count and spikes, rule titles drawn as text (matplotlib
would read `$...$` as mathtext and fail on a broken formula), and a note instead of an empty chart."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

from PIL import Image

from bot.trends.chart import BAR, SPIKE, render_png
from bot.trends.series import TopicSeries, Trend
from tests.e2e.png import check_png

START = datetime(2026, 2, 4, tzinfo=UTC)
MATH = "Cost $\\frac{1}{$ of \x1b[31m troops"
"""Mathtext that cannot be parsed, and a terminal escape: as text, both are harmless."""


def _trend(*topics: TopicSeries, step: timedelta = timedelta(days=1)) -> Trend:
    return Trend(START, step, START + 14 * step, 14 * step, topics)


def _count(png: bytes, colour: str) -> int:
    wanted = tuple(int(colour[i : i + 2], 16) for i in (1, 3, 5))
    image = Image.open(io.BytesIO(png)).convert("RGB")
    return sum(count for count, found in image.getcolors(800 * 360) or [] if found == wanted)


def test_titles_are_text_never_mathtext_and_bars_are_drawn() -> None:
    counts = (3, 4, 2, 5, 3, 4, 2, 3, 5, 4, 3, 2, 4, 19)
    topic = TopicSeries("t", MATH, counts, (None, *(3.5,) * 13), (False,) * 13 + (True,))
    png = render_png(_trend(topic), MATH)
    assert (check_png(png).width, check_png(png).height) == (800, 360)
    assert _count(png, BAR) > 2000 and _count(png, SPIKE) > 1000
    quiet = render_png(_trend(TopicSeries("t", "Quiet", (1,) * 14, (1.0,) * 14, (False,) * 14)), "Quiet")
    assert _count(quiet, SPIKE) == 0


def test_several_topics_are_lines_and_no_stories_is_a_note() -> None:
    lines = _trend(
        *(TopicSeries(f"t{n}", f"{MATH} {n}", tuple(range(14)), (2.0,) * 14, (False,) * 13 + (True,)) for n in range(9))
    )
    check_png(render_png(lines, MATH))
    empty = render_png(_trend(TopicSeries("t", MATH, (0,) * 14, (None,) * 14, (False,) * 14)), MATH)
    check_png(empty)
    assert _count(empty, BAR) == 0
    hourly = _trend(TopicSeries("t", "x", (0, 1) * 36, (0.5,) * 72, (False,) * 72), step=timedelta(hours=1))
    assert _count(render_png(hourly, "x"), BAR) > 500
