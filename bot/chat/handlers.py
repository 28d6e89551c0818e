"""The chat front: commands and buttons to subscribe to topics, mute, choose digests, and ask why.

`register(application)` adds every handler with its guards (access.py); they reach config, database and
rules through the runtime in `application.bot_data["runtime"]` (runtime.py). Operator commands live in
admin.py, topic names in topics.py.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Sequence
from datetime import timedelta
from html import escape

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot import clock
from bot.alerts.messages import Follow, named_topics
from bot.chat.access import allowed, bot_admins_only, managers_only
from bot.chat.admin import reload, rules, status
from bot.chat.runtime import reply, rules_of, runtime_of
from bot.chat.topics import find_topic, open_topics, thread_of, topic_arg, unknown_topic
from bot.chat.trends import spikes, trend
from bot.config import parse_duration
from bot.counts import plural
from bot.deliver.format import clip, headline_of, render_summary, render_why, when
from bot.deliver.telegram_sender import STORY_WHY, WHY_PREFIX
from bot.match.rules import Rule
from bot.model import Alert
from bot.status.story_views import alert_with_story, received, recent_story_alerts, story_with_alerts
from bot.store import chats

log = logging.getLogger(__name__)

SUBSCRIBE, UNSUBSCRIBE = "sub:", "unsub:"
MAX_MUTE = timedelta(days=365)
MAX_TOPIC_BUTTONS = 50

COMMANDS = (
    ("start", "What this bot does"),
    ("help", "How to use it"),
    ("topics", "Topics you can subscribe to"),
    ("subscribe", "Subscribe to a topic: /subscribe <topic>"),
    ("unsubscribe", "Stop a topic: /unsubscribe <topic>"),
    ("mysubs", "This chat's subscriptions"),
    ("mute", "Pause alerts: /mute <topic|all> <2h|1d>"),
    ("unmute", "Lift all mutes"),
    ("digest", "Alerts at once or as a digest: /digest off|hourly|daily"),
    ("recent", "The last 5 stories of your topics, or of one: /recent [topic]"),
    ("trend", "A chart of a topic's stories per hour or day: /trend [topic] [period]"),
    ("spikes", "A message when a topic suddenly grows: /spikes on|off"),
    ("why", "Why an alert was sent: /why <alert number>"),
    ("status", "Feeds, rules and outbox health (bot admins)"),
    ("reload", "Reload the rule files (bot admins)"),
    ("rules", "Rules with their alerts in the last 24 h and 7 days (bot admins)"),
)

HELP = (
    "I watch news feeds and send an alert when a story matches a topic you follow, "
    "naming the outlets that carry it and who reported it first.\n\n"
    "/topics lists the topics with buttons; /subscribe <topic> and /unsubscribe <topic> do the same by name.\n"
    "/mysubs shows what this chat follows; /mute <topic|all> 2h pauses alerts, /unmute resumes them.\n"
    "/digest hourly collects alerts into one message an hour (daily for once a day, off for at once).\n"
    "Each story comes once, naming every topic of yours it matched; when more outlets report it, that message "
    "is updated.\n"
    "/recent shows the last 5 stories of your topics (/recent <topic>: of one); the Why? button under a story "
    "explains it.\n"
    "/trend draws your topics' stories per day over 14 days, with their usual count and spikes (/trend <topic> 3d: "
    "one topic, per hour). When a topic you follow suddenly grows, one message says so and is updated while it "
    "grows; /spikes off stops those messages.\n"
    "In groups, only administrators can change subscriptions."
)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot does and how to use it."""
    await reply(update, escape(HELP))


async def _topics_keyboard(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> InlineKeyboardMarkup:
    subscribed = {s.rule_id for s in await chats.subscriptions_of(runtime_of(context).engine, chat_id)}
    rows = []
    for rule in open_topics(context, chat_id)[:MAX_TOPIC_BUTTONS]:
        data = f"{UNSUBSCRIBE if rule.id in subscribed else SUBSCRIBE}{rule.id}"
        if len(data.encode()) <= 64:
            mark = "✅" if rule.id in subscribed else "➕"
            rows.append([InlineKeyboardButton(f"{mark} {rule.title}", callback_data=data)])
    return InlineKeyboardMarkup(rows)


def _topics_text(rules: Sequence[Rule]) -> str:
    lines = ["<b>Topics</b> (✅ subscribed; press to switch):"]
    lines += [f"• {escape(r.title)} — <code>{escape(r.id)}</code>" for r in rules[:MAX_TOPIC_BUTTONS]]
    if len(rules) > MAX_TOPIC_BUTTONS:
        lines.append(f"… and {len(rules) - MAX_TOPIC_BUTTONS} more: use /subscribe &lt;topic&gt;.")
    if not rules:
        lines = ["There are no topics yet: the operator has not added rule files."]
    return "\n".join(lines)


async def topics(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/topics: every topic with a subscribe/unsubscribe button."""
    chat = update.effective_chat
    assert chat is not None
    await reply(update, _topics_text(open_topics(context, chat.id)), await _topics_keyboard(context, chat.id))


async def topic_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on a /topics button: switch the subscription and refresh the buttons."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and query.data is not None and chat is not None and user is not None
    engine = runtime_of(context).engine
    action, rule_id = query.data.split(":", 1)
    rule = find_topic(open_topics(context, chat.id), rule_id)
    if rule is None:
        await query.answer("That topic no longer exists.")
        return
    if action + ":" == SUBSCRIBE:
        await chats.subscribe(engine, chat.id, rule.id, thread_of(update), user.id)
        await query.answer(f"Subscribed to {clip(rule.title, 150)}.")
    else:
        await chats.unsubscribe(engine, chat.id, rule.id)
        await query.answer(f"Unsubscribed from {clip(rule.title, 150)}.")
    try:
        await query.edit_message_reply_markup(await _topics_keyboard(context, chat.id))
    except BadRequest as error:  # the buttons already say so (a second press, or a forged one)
        if "not modified" not in error.message:
            raise


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe <topic>: alerts of that topic come to this chat (in a forum, to this thread)."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    rule = await topic_arg(update, context, "/subscribe <topic>")
    if rule is None:
        return
    thread = thread_of(update)
    new = await chats.subscribe(runtime_of(context).engine, chat.id, rule.id, thread, user.id if user else 0)
    where = " in this thread" if thread is not None else ""
    if new:
        await reply(update, f"Subscribed to <b>{escape(rule.title)}</b>{where}. Alerts will arrive here.")
    else:
        await reply(update, f"This chat already follows <b>{escape(rule.title)}</b>; alerts now go{where or ' here'}.")


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unsubscribe <topic>."""
    chat = update.effective_chat
    assert chat is not None
    engine = runtime_of(context).engine
    followed = [sub.rule_id for sub in await chats.subscriptions_of(engine, chat.id)]
    rule = await topic_arg(update, context, "/unsubscribe <topic>", also=followed)  # one closed to it since, too
    if rule is None:
        return
    if await chats.unsubscribe(runtime_of(context).engine, chat.id, rule.id):
        await reply(update, f"Unsubscribed from <b>{escape(rule.title)}</b>.")
    else:
        await reply(update, f"This chat was not subscribed to <b>{escape(rule.title)}</b>.")


async def mysubs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mysubs: this chat's topics, mutes and digest mode."""
    chat = update.effective_chat
    assert chat is not None
    engine = runtime_of(context).engine
    titles = {r.id: r.title for r in rules_of(context)}
    subs = await chats.subscriptions_of(engine, chat.id)
    if not subs:
        await reply(update, "This chat follows no topics yet. /topics lists them.")
        return
    lines = ["<b>This chat follows</b>"]
    for sub in subs:
        title = titles.get(sub.rule_id, f"{sub.rule_id} (rule file gone)")
        thread = f" → thread {sub.thread_id}" if sub.thread_id is not None else ""
        lines.append(f"• {escape(title)} — <code>{escape(sub.rule_id)}</code>{thread}")
    settings = await chats.chat_settings(engine, chat.id, clock.now())
    if settings is not None:
        for rule_id, until in settings.mutes:
            name = "all topics" if rule_id == chats.ALL_TOPICS else titles.get(rule_id, rule_id)
            lines.append(f"Muted: {escape(name)} until {when(until)}")
        lines.append(f"Digest: {settings.digest}")
        lines.append(f"Spike messages: {'on' if settings.spikes else 'off'} (/spikes on|off)")
    await reply(update, "\n".join(lines))


async def mute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mute <topic|all> <duration>: no alerts for that long (2h, 1d, 30m ...)."""
    chat = update.effective_chat
    assert chat is not None
    args = context.args or []
    usage = "Usage: /mute &lt;topic|all&gt; &lt;duration&gt;, e.g. /mute all 2h or /mute troop-deployment 1d."
    if len(args) < 2:
        await reply(update, usage)
        return
    try:
        duration = parse_duration(args[-1])
    except ValueError:
        await reply(update, f"“{escape(clip(args[-1], 30))}” is not a duration. {usage}")
        return
    if not timedelta(0) < duration <= MAX_MUTE:
        await reply(update, "A mute lasts between a minute and a year.")
        return
    name = " ".join(args[:-1])
    if name.casefold() == "all":
        rule_id, title = chats.ALL_TOPICS, "all topics"
    else:
        topics = open_topics(context, chat.id)
        rule = find_topic(topics, name)
        if rule is None:
            await reply(update, unknown_topic(topics, name))
            return
        rule_id, title = rule.id, rule.title
    until = clock.now() + duration
    await chats.mute(runtime_of(context).engine, chat.id, rule_id, until)
    await reply(update, f"Muted {escape(title)} until {when(until)}. /unmute lifts it.")


async def unmute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unmute: lift every mute of this chat."""
    chat = update.effective_chat
    assert chat is not None
    count = await chats.unmute(runtime_of(context).engine, chat.id)
    await reply(update, "Alerts resume." if count else "Nothing was muted.")


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/digest off|hourly|daily."""
    chat = update.effective_chat
    assert chat is not None
    modes: dict[str, chats.DigestMode] = {"off": "off", "hourly": "hourly", "daily": "daily"}
    mode = modes.get((context.args or [""])[0].lower())
    if mode is None:
        await reply(update, "Usage: /digest off, /digest hourly or /digest daily.")
        return
    await chats.set_digest(runtime_of(context).engine, chat.id, mode)
    if mode == "off":
        await reply(update, "Alerts will arrive one by one, as they happen.")
    else:
        await reply(update, f"Alerts will be collected and sent as one {mode} digest.")


async def _follows(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> tuple[Follow, ...]:
    """The topics this chat follows and may still see, in the order it subscribed (the order its messages
    name them)."""
    subscribed = await chats.subscriptions_of(runtime_of(context).engine, chat_id)
    closed = _closed_to(context, chat_id)
    return tuple(Follow(s.rule_id) for s in subscribed if s.rule_id not in closed)


def _closed_to(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> frozenset[str]:
    """The topics whose alerts may not be shown to this chat: their rules name other `chats:` (a rule no
    longer in force names nobody: its alerts stay with the chats that received them)."""
    return frozenset(rule.id for rule in rules_of(context) if not rule.open_to(chat_id))


async def recent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/recent [topic]: the last 5 stories of a topic (without one: of the topics this chat follows), one line
    per story naming the followed topics it matched, to catch up on what came before."""
    chat = update.effective_chat
    assert chat is not None
    follows = await _follows(context, chat.id)
    if context.args:
        rule = await topic_arg(update, context, "/recent [topic]")
        if rule is None:
            return
        wanted, title = [rule.id], rule.title
        if rule.id not in {f.rule_id for f in follows}:
            follows = (*follows, Follow(rule.id))
    elif follows:
        wanted, title = [f.rule_id for f in follows], "this chat's topics"
    else:
        await reply(update, "This chat follows no topics yet. /topics lists them; /recent &lt;topic&gt; shows one.")
        return
    runtime = runtime_of(context)
    stories = await recent_story_alerts(runtime.engine, wanted, runtime.config.stories, limit=5)
    if not stories:
        await reply(update, f"No alerts for <b>{escape(title)}</b> yet.")
        return
    lines = []
    closed = _closed_to(context, chat.id)
    for story in stories:
        shown = [alert for alert in story.alerts if alert.rule_id not in closed]
        if shown:
            lines.append(headline_of(named_topics(shown, follows) or shown))
    await reply(update, render_summary(f"Last {plural(len(lines), 'story', 'stories')}: {title}", lines).html)


def _number(text: str) -> int | None:
    """An alert or story number as typed: ASCII digits only ("²" is a digit to Python, not to SQL), at most
    18 of them (the store's 64-bit ids)."""
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 18 else None


async def _may_see(context: ContextTypes.DEFAULT_TYPE, chat_id: int, alerts: Sequence[Alert]) -> list[Alert]:
    """The alerts of a story (or the one alert) this chat may read the Why? of: of topics open to it, when it
    follows one of them or received a message about the story or the alert; none otherwise."""
    closed = _closed_to(context, chat_id)
    shown = [alert for alert in alerts if alert.rule_id not in closed]
    if not shown:
        return []
    if {f.rule_id for f in await _follows(context, chat_id)} & {alert.rule_id for alert in shown}:
        return shown
    engine = runtime_of(context).engine
    story = shown[0].story.id if shown[0].story is not None else None
    alert_id = shown[0].id if len(alerts) == 1 else None
    return shown if await received(engine, chat_id, story, alert_id) else []


async def _explain_alert(update: Update, context: ContextTypes.DEFAULT_TYPE, alert_id: str) -> None:
    """Why an alert was raised (the /why command, and Why? buttons under messages sent before stories
    named their topics together), for an alert this chat may see."""
    chat = update.effective_chat
    assert chat is not None
    runtime = runtime_of(context)
    number = _number(alert_id)
    alert = await alert_with_story(runtime.engine, number, runtime.config.stories) if number is not None else None
    if alert is None or not await _may_see(context, chat.id, [alert]):
        await reply(update, f"No alert number {escape(clip(alert_id, 30))} was sent to this chat.")
        return
    await reply(update, render_why(alert.story, [alert]).html)


async def _explain_story(update: Update, context: ContextTypes.DEFAULT_TYPE, story_id: str) -> None:
    """Why a story message was sent: each topic this chat follows that matched it (every topic open to the
    chat when it follows none of them any more), and all the story's outlets."""
    chat = update.effective_chat
    assert chat is not None
    runtime = runtime_of(context)
    number = _number(story_id)
    found = await story_with_alerts(runtime.engine, number, runtime.config.stories) if number is not None else None
    shown = await _may_see(context, chat.id, found.alerts) if found is not None else []
    if found is None or not shown:
        await reply(update, "That story is no longer stored, or was not sent to this chat.")
        return
    topics = named_topics(shown, await _follows(context, chat.id)) or shown
    await reply(update, render_why(found.story, topics).html)


async def why(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/why <alert number>: the rule, the clauses that matched and the matched words."""
    args = context.args or []
    if not args:
        await reply(update, "Usage: /why &lt;alert number&gt;, or press Why? under an alert.")
        return
    await _explain_alert(update, context, args[0])


async def why_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Why? button under a story message (`why:s{story}`), or under an older alert (`why:{alert}`)."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    data = query.data.removeprefix(WHY_PREFIX)
    if data.startswith(STORY_WHY):
        await _explain_story(update, context, data.removeprefix(STORY_WHY))
    else:
        await _explain_alert(update, context, data)


async def publish_commands(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tell Telegram the command list (setMyCommands) so clients offer it."""
    await context.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])


SORRY = "Sorry, that went wrong on my side; the operator will find it in the log."


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A handler failed (a bug, or the database away): log it with its traceback, answer in one sentence."""
    log.error("a chat command failed", exc_info=context.error)
    if not isinstance(update, Update):
        return
    with contextlib.suppress(TelegramError):
        if update.callback_query is not None:
            await update.callback_query.answer(SORRY)
        else:
            await reply(update, escape(SORRY))


def register(application: Application) -> None:
    """Add every command and button handler, and the answer when one fails; publish the command list once
    the bot runs."""
    plain = {
        "start": start, "help": start, "topics": topics, "mysubs": mysubs, "recent": recent, "why": why, "trend": trend,
    }  # fmt: skip
    managed = {
        "subscribe": subscribe, "unsubscribe": unsubscribe, "mute": mute, "unmute": unmute, "digest": digest,
        "spikes": spikes,
    }  # fmt: skip
    admin = {"status": status, "reload": reload, "rules": rules}
    for name, handler in plain.items():
        application.add_handler(CommandHandler(name, allowed(handler)))
    for name, handler in managed.items():
        application.add_handler(CommandHandler(name, allowed(managers_only(handler))))
    for name, handler in admin.items():
        application.add_handler(CommandHandler(name, bot_admins_only(handler)))
    application.add_handler(CallbackQueryHandler(allowed(why_button), pattern=f"^{WHY_PREFIX}"))
    application.add_handler(
        CallbackQueryHandler(allowed(managers_only(topic_button)), pattern=f"^({SUBSCRIBE}|{UNSUBSCRIBE})")
    )
    application.add_error_handler(on_error)
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    application.job_queue.run_once(publish_commands, when=0)
