"""The chat front: commands and buttons to subscribe to topics, mute, choose digests, and ask why.

`register(application)` adds every handler; they reach config, database and rules through the `Runtime`
that app.py puts in `application.bot_data["runtime"]`. Topics are the rules in force; a topic is named by
its id or its title.
"""

from __future__ import annotations

import difflib
import logging
from collections.abc import Callable, Coroutine, Sequence
from datetime import timedelta
from html import escape
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import Application, CallbackQueryHandler, CommandHandler, ContextTypes

from bot.chat.access import NOT_ALLOWED, NOT_BOT_ADMIN, NOT_CHAT_ADMIN, chat_allowed, is_bot_admin, may_manage
from bot.config import Config, parse_duration
from bot.deliver.format import Headline, render_summary, render_why, when
from bot.deliver.telegram import WHY_PREFIX
from bot.match.rules import Rule
from bot.rulebook import RuleBook
from bot.store import chats, outbox
from bot.store.alerts import get_alert, recent_alerts
from bot.store.feeds import load_states
from bot.store.tables import utcnow

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
    ("recent", "The last 5 alerts of a topic: /recent <topic>"),
    ("why", "Why an alert was sent: /why <alert number>"),
    ("status", "Feeds, rules and outbox health (bot admins)"),
    ("reload", "Reload the rule files (bot admins)"),
)

HELP = (
    "I watch news feeds and send an alert when a story matches a topic you follow, "
    "naming the outlets that carry it and who reported it first.\n\n"
    "/topics lists the topics with buttons; /subscribe <topic> and /unsubscribe <topic> do the same by name.\n"
    "/mysubs shows what this chat follows; /mute <topic|all> 2h pauses alerts, /unmute resumes them.\n"
    "/digest hourly collects alerts into one message an hour (daily for once a day, off for at once).\n"
    "/recent <topic> shows its last 5 alerts; the Why? button under an alert (or /why <number>) explains it.\n"
    "In groups, only administrators can change subscriptions."
)


class ChatRuntime(Protocol):
    """What the handlers use of app.py's Runtime."""

    config: Config
    engine: AsyncEngine
    rulebook: RuleBook


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[object, object, None]]


def _runtime(context: ContextTypes.DEFAULT_TYPE) -> ChatRuntime:
    runtime: ChatRuntime = context.bot_data["runtime"]
    return runtime


def _rules(context: ContextTypes.DEFAULT_TYPE) -> Sequence[Rule]:
    return _runtime(context).rulebook.current.ruleset.rules


async def _reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup, do_quote=False)


def allowed(handler: Handler) -> Handler:
    """Refuse politely in chats outside `telegram.allowed_chats`; remember every chat that is let in."""

    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        runtime = _runtime(context)
        if chat is None:
            return
        if not chat_allowed(runtime.config.telegram, chat.id):
            if update.callback_query is not None:
                await update.callback_query.answer(NOT_ALLOWED)
            else:
                await _reply(update, escape(NOT_ALLOWED))
            return
        await chats.remember_chat(runtime.engine, chat.id, chat.type, chat.title)
        await handler(update, context)

    guarded.__doc__ = handler.__doc__
    return guarded


def managers_only(handler: Handler) -> Handler:
    """In groups, only chat administrators may change what the chat receives."""

    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await may_manage(update, context, _runtime(context).config.telegram):
            if update.callback_query is not None:
                await update.callback_query.answer(NOT_CHAT_ADMIN, show_alert=True)
            else:
                await _reply(update, escape(NOT_CHAT_ADMIN))
            return
        await handler(update, context)

    guarded.__doc__ = handler.__doc__
    return guarded


def bot_admins_only(handler: Handler) -> Handler:
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if not is_bot_admin(_runtime(context).config.telegram, user.id if user else None):
            await _reply(update, escape(NOT_BOT_ADMIN))
            return
        await handler(update, context)

    guarded.__doc__ = handler.__doc__
    return guarded


def find_topic(rules: Sequence[Rule], name: str) -> Rule | None:
    wanted = name.strip().casefold()
    return next((r for r in rules if wanted in (r.id.casefold(), r.title.casefold())), None)


def unknown_topic(rules: Sequence[Rule], name: str) -> str:
    """ "No topic called X", with the nearest ids or titles as suggestions."""
    names = {r.id.casefold(): r for r in rules} | {r.title.casefold(): r for r in rules}
    near = [names[n] for n in difflib.get_close_matches(name.casefold(), list(names), n=3, cutoff=0.5)]
    hint = ", ".join(dict.fromkeys(f"<code>{escape(r.id)}</code> ({escape(r.title)})" for r in near))
    suggestion = f" Did you mean {hint}?" if hint else " See /topics for the list."
    return f"No topic called “{escape(name)}”.{suggestion}"


def _thread_of(update: Update) -> int | None:
    message = update.effective_message
    return message.message_thread_id if message is not None and message.is_topic_message else None


async def _topic_arg(update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str) -> Rule | None:
    """The topic named in the command's arguments, or None after telling the user what went wrong."""
    name = " ".join(context.args or [])
    if not name:
        await _reply(update, f"Usage: {escape(usage)}. /topics lists the topics.")
        return None
    rule = find_topic(_rules(context), name)
    if rule is None:
        await _reply(update, unknown_topic(_rules(context), name))
    return rule


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start and /help: what the bot does and how to use it."""
    await _reply(update, escape(HELP))


async def _topics_keyboard(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> InlineKeyboardMarkup:
    subscribed = {s.rule_id for s in await chats.subscriptions_of(_runtime(context).engine, chat_id)}
    rows = []
    for rule in _rules(context)[:MAX_TOPIC_BUTTONS]:
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
    await _reply(update, _topics_text(_rules(context)), await _topics_keyboard(context, chat.id))


async def topic_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A press on a /topics button: switch the subscription and refresh the buttons."""
    query, chat, user = update.callback_query, update.effective_chat, update.effective_user
    assert query is not None and query.data is not None and chat is not None and user is not None
    engine = _runtime(context).engine
    action, rule_id = query.data.split(":", 1)
    rule = find_topic(_rules(context), rule_id)
    if rule is None:
        await query.answer("That topic no longer exists.")
    elif action + ":" == SUBSCRIBE:
        await chats.subscribe(engine, chat.id, rule.id, _thread_of(update), user.id)
        await query.answer(f"Subscribed to {rule.title}.")
    else:
        await chats.unsubscribe(engine, chat.id, rule.id)
        await query.answer(f"Unsubscribed from {rule.title}.")
    await query.edit_message_reply_markup(await _topics_keyboard(context, chat.id))


async def subscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/subscribe <topic>: alerts of that topic come to this chat (in a forum, to this thread)."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None
    rule = await _topic_arg(update, context, "/subscribe <topic>")
    if rule is None:
        return
    thread = _thread_of(update)
    new = await chats.subscribe(_runtime(context).engine, chat.id, rule.id, thread, user.id if user else 0)
    where = " in this thread" if thread is not None else ""
    if new:
        await _reply(update, f"Subscribed to <b>{escape(rule.title)}</b>{where}. Alerts will arrive here.")
    else:
        await _reply(update, f"This chat already follows <b>{escape(rule.title)}</b>; alerts now go{where or ' here'}.")


async def unsubscribe(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unsubscribe <topic>."""
    chat = update.effective_chat
    assert chat is not None
    rule = await _topic_arg(update, context, "/unsubscribe <topic>")
    if rule is None:
        return
    if await chats.unsubscribe(_runtime(context).engine, chat.id, rule.id):
        await _reply(update, f"Unsubscribed from <b>{escape(rule.title)}</b>.")
    else:
        await _reply(update, f"This chat was not subscribed to <b>{escape(rule.title)}</b>.")


async def mysubs(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mysubs: this chat's topics, mutes and digest mode."""
    chat = update.effective_chat
    assert chat is not None
    engine = _runtime(context).engine
    titles = {r.id: r.title for r in _rules(context)}
    subs = await chats.subscriptions_of(engine, chat.id)
    if not subs:
        await _reply(update, "This chat follows no topics yet. /topics lists them.")
        return
    lines = ["<b>This chat follows</b>"]
    for sub in subs:
        title = titles.get(sub.rule_id, f"{sub.rule_id} (rule file gone)")
        thread = f" → thread {sub.thread_id}" if sub.thread_id is not None else ""
        lines.append(f"• {escape(title)} — <code>{escape(sub.rule_id)}</code>{thread}")
    settings = await chats.chat_settings(engine, chat.id, utcnow())
    if settings is not None:
        for rule_id, until in settings.mutes:
            name = "all topics" if rule_id == chats.ALL_TOPICS else titles.get(rule_id, rule_id)
            lines.append(f"Muted: {escape(name)} until {when(until)}")
        lines.append(f"Digest: {settings.digest}")
    await _reply(update, "\n".join(lines))


async def mute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/mute <topic|all> <duration>: no alerts for that long (2h, 1d, 30m ...)."""
    chat = update.effective_chat
    assert chat is not None
    args = context.args or []
    usage = "Usage: /mute &lt;topic|all&gt; &lt;duration&gt;, e.g. /mute all 2h or /mute troop-deployment 1d."
    if len(args) < 2:
        await _reply(update, usage)
        return
    try:
        duration = parse_duration(args[-1])
    except ValueError:
        await _reply(update, f"“{escape(args[-1])}” is not a duration. {usage}")
        return
    if not timedelta(0) < duration <= MAX_MUTE:
        await _reply(update, "A mute lasts between a minute and a year.")
        return
    name = " ".join(args[:-1])
    if name.casefold() == "all":
        rule_id, title = chats.ALL_TOPICS, "all topics"
    else:
        rule = find_topic(_rules(context), name)
        if rule is None:
            await _reply(update, unknown_topic(_rules(context), name))
            return
        rule_id, title = rule.id, rule.title
    until = utcnow() + duration
    await chats.mute(_runtime(context).engine, chat.id, rule_id, until)
    await _reply(update, f"Muted {escape(title)} until {when(until)}. /unmute lifts it.")


async def unmute(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/unmute: lift every mute of this chat."""
    chat = update.effective_chat
    assert chat is not None
    count = await chats.unmute(_runtime(context).engine, chat.id)
    await _reply(update, "Alerts resume." if count else "Nothing was muted.")


async def digest(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/digest off|hourly|daily."""
    chat = update.effective_chat
    assert chat is not None
    modes: dict[str, chats.DigestMode] = {"off": "off", "hourly": "hourly", "daily": "daily"}
    mode = modes.get((context.args or [""])[0].lower())
    if mode is None:
        await _reply(update, "Usage: /digest off, /digest hourly or /digest daily.")
        return
    await chats.set_digest(_runtime(context).engine, chat.id, mode)
    if mode == "off":
        await _reply(update, "Alerts will arrive one by one, as they happen.")
    else:
        await _reply(update, f"Alerts will be collected and sent as one {mode} digest.")


async def recent(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/recent <topic>: its last 5 alerts, to catch up on what came before subscribing."""
    rule = await _topic_arg(update, context, "/recent <topic>")
    if rule is None:
        return
    alerts = await recent_alerts(_runtime(context).engine, rule.id, limit=5)
    if not alerts:
        await _reply(update, f"No alerts for <b>{escape(rule.title)}</b> yet.")
        return
    rendered = render_summary(f"Last {len(alerts)} alerts: {rule.title}", [Headline.of(a) for a in alerts])
    await _reply(update, rendered.html)


async def _explain(update: Update, context: ContextTypes.DEFAULT_TYPE, alert_id: str) -> None:
    alert = await get_alert(_runtime(context).engine, int(alert_id)) if alert_id.isdigit() else None
    if alert is None:
        await _reply(update, f"No alert number {escape(alert_id)}.")
        return
    await _reply(update, render_why(alert).html)


async def why(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/why <alert number>: the rule, the clauses that matched and the matched words."""
    args = context.args or []
    if not args:
        await _reply(update, "Usage: /why &lt;alert number&gt;, or press Why? under an alert.")
        return
    await _explain(update, context, args[0])


async def why_button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """The Why? button under an alert."""
    query = update.callback_query
    assert query is not None and query.data is not None
    await query.answer()
    await _explain(update, context, query.data.removeprefix(WHY_PREFIX))


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status (bot admins): each feed's last success, last error and next poll; rule errors; outbox."""
    runtime = _runtime(context)
    lines = ["<b>Feeds</b>"]
    for feed in await load_states(runtime.engine):
        line = f"• {escape(feed.name)}: ok {when(feed.last_success_at)}, next {when(feed.next_poll_at)}"
        if feed.last_error:
            line += f"\n  error {when(feed.last_error_at)}: {escape(feed.last_error[:200])}"
        lines.append(line)
    errors = runtime.rulebook.current.ruleset.errors
    lines.append(f"<b>Rules</b>: {len(_rules(context))} loaded, {len(errors)} with errors")
    lines += [f"• {escape(str(e))}" for e in errors[:20]]
    waiting = await outbox.backlog(runtime.engine)
    lines.append(
        f"<b>Outbox</b>: {waiting.get('pending', 0)} to send, {waiting.get('held', 0)} held for digests, "
        f"{waiting.get('failed', 0)} failed"
    )
    text = "\n".join(lines)
    await _reply(update, text if len(text) < 4000 else text[:3990].rsplit("\n", 1)[0])


async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload (bot admins): read the rule files again; a broken file is reported and its previous version
    keeps running."""
    ruleset = (await _runtime(context).rulebook.reload()).ruleset
    problems = "".join(f"\n• {escape(str(e))}" for e in ruleset.errors[:20])
    await _reply(update, f"Reloaded {len(ruleset.rules)} rules, {len(ruleset.errors)} with errors.{problems}")


async def publish_commands(context: ContextTypes.DEFAULT_TYPE) -> None:
    """Tell Telegram the command list (setMyCommands) so clients offer it."""
    await context.bot.set_my_commands([BotCommand(name, text) for name, text in COMMANDS])


def register(application: Application) -> None:
    """Add every command and button handler; publish the command list once the bot runs."""
    plain = {"start": start, "help": start, "topics": topics, "mysubs": mysubs, "recent": recent, "why": why}
    managed = {"subscribe": subscribe, "unsubscribe": unsubscribe, "mute": mute, "unmute": unmute, "digest": digest}
    admin = {"status": status, "reload": reload}
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
    if application.job_queue is None:
        raise RuntimeError("python-telegram-bot was installed without its job-queue extra")
    application.job_queue.run_once(publish_commands, when=0)
