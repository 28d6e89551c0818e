"""/trend and /spikes: a topic's volume as a chart, and whether this chat is told when a topic suddenly grows.

The chart is drawn in a worker thread (about half a second of CPU), so commands of other chats are answered
meanwhile; it goes out with sendPhoto and a short caption whose rule titles are escaped.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Sequence
from datetime import timedelta
from html import escape

from telegram import Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot import clock
from bot.chat.runtime import reply, runtime_of
from bot.chat.topics import find_topic, open_topics, unknown_topic
from bot.config import parse_duration
from bot.counts import plural
from bot.deliver.format import clip
from bot.store import chats
from bot.trends.chart import render_png
from bot.trends.series import LONGEST, Trend, load_trend

DEFAULT_PERIOD = timedelta(days=14)
TREND_USAGE = "Usage: /trend [topic] [period], e.g. /trend troop-deployment 3d (up to 180d; default 14d)."
_CAPTION = 1024
MOST_TOPICS = 8
"""Topics drawn on one chart at most (the chat's first followed ones): more lines cannot be told apart."""
_PERIOD = re.compile(r"\d{1,6}(\.\d{1,3})?(m|min|h|d|w)", re.IGNORECASE)
_NAME_CAP = 60


def split_period(args: Sequence[str]) -> tuple[str, timedelta | None]:
    """The topic name and the period of `/trend [topic] [period]`: the last word is the period when it is a
    number with a unit (the period is None when it is one but out of range)."""
    if not args or not _PERIOD.fullmatch(args[-1]):
        return " ".join(args), DEFAULT_PERIOD
    try:
        period = parse_duration(args[-1].lower())
    except ValueError:
        return " ".join(args[:-1]), None
    return " ".join(args[:-1]), period if timedelta(hours=1) <= period <= LONGEST else None


def period_words(period: timedelta) -> str:
    """ "14d", "36h", "90m": the period in the unit a person gives it in."""
    minutes = int(period.total_seconds() // 60)
    for unit, size in (("d", 24 * 60), ("h", 60)):
        if minutes % size == 0:
            return f"{minutes // size}{unit}"
    return f"{minutes}m"


def trend_caption(trend: Trend, heading: str, period: str) -> str:
    """ "<b>Troop deployment</b>, last 14d: 123 stories, 2 spikes" (one part per topic for several), escaped and
    within Telegram's 1,024 characters for a caption."""
    parts = []
    for topic in trend.topics:
        spikes = f", {plural(sum(topic.spikes), 'spike')}" if any(topic.spikes) else ""
        name = f"{clip(topic.title, _NAME_CAP)}: " if len(trend.topics) > 1 else ""
        parts.append(f"{name}{plural(topic.total, 'story', 'stories')}{spikes}")
    head = clip(heading, _NAME_CAP)
    body = clip(f", last {period}: " + "; ".join(parts), _CAPTION - _NAME_CAP - 20)
    return f"<b>{escape(head)}</b>{escape(body)}"


async def trend(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/trend [topic] [period]: a chart of the topic's stories per hour or day, its usual count and spikes;
    without a topic, the topics this chat follows on one chart."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None
    name, period = split_period(context.args or [])
    if period is None:
        await reply(update, escape(TREND_USAGE))
        return
    runtime = runtime_of(context)
    open_to_chat = open_topics(context, chat.id)
    if name:
        rule = find_topic(open_to_chat, name)
        if rule is None:
            await reply(update, unknown_topic(open_to_chat, name))
            return
        topics, heading = {rule.id: rule.title}, rule.title
    else:
        titles = {rule.id: rule.title for rule in open_to_chat}
        followed = [sub.rule_id for sub in await chats.subscriptions_of(runtime.engine, chat.id)]
        open_followed = [rule_id for rule_id in followed if rule_id in titles]
        topics = {rule_id: titles[rule_id] for rule_id in open_followed[:MOST_TOPICS]}
        many = len(open_followed) > MOST_TOPICS
        heading = f"This chat's first {MOST_TOPICS} topics" if many else "This chat's topics"
        if not topics:
            await reply(update, f"This chat follows no topics yet. /topics lists them. {escape(TREND_USAGE)}")
            return
    found = await load_trend(runtime.engine, topics, period, clock.now(), runtime.config.spikes)
    shown = period_words(period)
    if found.empty:
        await reply(update, f"No stories of <b>{escape(clip(heading, 200))}</b> in the last {shown}: nothing to draw.")
        return
    png = await asyncio.to_thread(render_png, found, heading)
    if message is not None:
        caption = trend_caption(found, heading, shown)
        await message.reply_photo(png, caption=caption, parse_mode=ParseMode.HTML, do_quote=False)


async def spikes(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/spikes on|off: whether this chat gets a message when a topic it follows suddenly grows."""
    chat = update.effective_chat
    assert chat is not None
    engine = runtime_of(context).engine
    choice = (context.args or [""])[0].lower()
    if choice not in ("on", "off"):
        settings = await chats.chat_settings(engine, chat.id, clock.now())
        state = "on" if settings is None or settings.spikes else "off"
        await reply(update, f"Spike messages are {state} in this chat. Usage: /spikes on or /spikes off.")
        return
    await chats.set_spikes(engine, chat.id, choice == "on")
    if choice == "on":
        await reply(
            update,
            "This chat will get one message when a topic it follows suddenly grows (say 14 stories in an hour "
            "where 2 are usual), updated while it grows.",
        )
    else:
        await reply(update, "No more spike messages in this chat; story alerts go on as before.")
