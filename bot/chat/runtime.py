"""What the chat handlers share: the runtime app.py puts in `bot_data`, the rules in force, and replies."""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Sequence
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine
from telegram import InlineKeyboardMarkup, Update
from telegram.constants import ParseMode
from telegram.ext import ContextTypes

from bot.config import Config
from bot.match.rules import Rule
from bot.rulebook.book import RuleBook


class ChatRuntime(Protocol):
    """What the handlers use of app.py's Runtime."""

    config: Config
    engine: AsyncEngine
    rulebook: RuleBook


Handler = Callable[[Update, ContextTypes.DEFAULT_TYPE], Coroutine[object, object, None]]


def runtime_of(context: ContextTypes.DEFAULT_TYPE) -> ChatRuntime:
    """The runtime app.py put in `bot_data["runtime"]`."""
    runtime: ChatRuntime = context.bot_data["runtime"]
    return runtime


def rules_of(context: ContextTypes.DEFAULT_TYPE) -> Sequence[Rule]:
    """The rules in force now (a /reload swaps them)."""
    return runtime_of(context).rulebook.current.ruleset.rules


async def reply(update: Update, text: str, markup: InlineKeyboardMarkup | None = None) -> None:
    """Answer in the chat (and forum thread) of the update, as HTML, without quoting the command."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(text, parse_mode=ParseMode.HTML, reply_markup=markup, do_quote=False)
