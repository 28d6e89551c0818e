"""Topics are the rules in force, named by id or title; an unknown name gets the nearest as suggestions.

A chat sees only the topics open to it (a rule's `chats:` names the chats that may see and follow it); to
the others a topic it may not see does not exist.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.runtime import reply, rules_of
from bot.match.rules import Rule


def open_topics(context: ContextTypes.DEFAULT_TYPE, chat_id: int) -> list[Rule]:
    """The topics this chat may see and follow."""
    return [rule for rule in rules_of(context) if rule.open_to(chat_id)]


def find_topic(rules: Sequence[Rule], name: str) -> Rule | None:
    wanted = name.strip().casefold()
    return next((r for r in rules if wanted in (r.id.casefold(), r.title.casefold())), None)


_NAME_SHOWN = 60
"""Characters of an unknown topic name compared and quoted: a 4,000-character argument costs no more."""


def unknown_topic(rules: Sequence[Rule], name: str) -> str:
    """ "No topic called X", with the nearest ids or titles as suggestions."""
    name = name if len(name) <= _NAME_SHOWN else name[: _NAME_SHOWN - 1] + "…"
    names = {r.id.casefold(): r for r in rules} | {r.title.casefold(): r for r in rules}
    near = [names[n] for n in difflib.get_close_matches(name.casefold(), list(names), n=3, cutoff=0.5)]
    hint = ", ".join(dict.fromkeys(f"<code>{escape(r.id)}</code> ({escape(r.title)})" for r in near))
    suggestion = f" Did you mean {hint}?" if hint else " See /topics for the list."
    return f"No topic called “{escape(name)}”.{suggestion}"


def thread_of(update: Update) -> int | None:
    message = update.effective_message
    return message.message_thread_id if message is not None and message.is_topic_message else None


async def topic_arg(
    update: Update, context: ContextTypes.DEFAULT_TYPE, usage: str, also: Sequence[str] = ()
) -> Rule | None:
    """The topic named in the command's arguments (among those open to the chat, and the rule ids `also`),
    or None after telling the user what went wrong."""
    name = " ".join(context.args or [])
    if not name:
        await reply(update, f"Usage: {escape(usage)}. /topics lists the topics.")
        return None
    chat = update.effective_chat
    topics = [rule for rule in rules_of(context) if (chat is not None and rule.open_to(chat.id)) or rule.id in also]
    rule = find_topic(topics, name)
    if rule is None:
        await reply(update, unknown_topic(topics, name))
    return rule
