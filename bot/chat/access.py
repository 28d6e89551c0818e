"""Who may do what: allowed chats and bot admins from the config, chat administrators in groups.

Refusals are one polite sentence; callers send them as they are.
"""

from __future__ import annotations

from html import escape

from telegram import Chat, ChatMember, Update
from telegram.ext import ContextTypes

from bot.chat.flood import Refusals
from bot.chat.runtime import Handler, reply, runtime_of
from bot.config import TelegramConfig
from bot.store.chats import remember_chat

NOT_ALLOWED = "Sorry, this bot serves only the chats its operator has allowed."
NOT_BOT_ADMIN = "Sorry, only the bot's administrators can do that."
NOT_CHAT_ADMIN = "Sorry, in a group only its administrators can change what the group receives."
_MANAGERS = (ChatMember.ADMINISTRATOR, ChatMember.OWNER)


def chat_allowed(config: TelegramConfig, chat_id: int) -> bool:
    """An empty `telegram.allowed_chats` lets anyone use the bot."""
    return not config.allowed_chats or chat_id in config.allowed_chats


def is_bot_admin(config: TelegramConfig, user_id: int | None) -> bool:
    return user_id is not None and user_id in config.admins


async def may_manage(update: Update, context: ContextTypes.DEFAULT_TYPE, config: TelegramConfig) -> bool:
    """In a private chat its user; in a group its administrators (an anonymous admin writes as the group
    itself); bot admins everywhere."""
    chat, user, message = update.effective_chat, update.effective_user, update.effective_message
    if chat is None:
        return False
    if chat.type == Chat.PRIVATE:
        return True
    if message is not None and message.sender_chat is not None and message.sender_chat.id == chat.id:
        return True
    if user is None:
        return False
    if is_bot_admin(config, user.id):
        return True
    member = await context.bot.get_chat_member(chat.id, user.id)
    return member.status in _MANAGERS


def refusals_of(context: ContextTypes.DEFAULT_TYPE) -> Refusals:
    """When each chat outside `telegram.allowed_chats` was last refused (one refusal per chat per hour)."""
    refusals: Refusals = context.bot_data.setdefault("refusals", Refusals())
    return refusals


def allowed(handler: Handler) -> Handler:
    """Refuse politely in chats outside `telegram.allowed_chats` (once an hour per chat: a flood of them
    gets one answer); remember every chat that is let in."""

    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        chat = update.effective_chat
        runtime = runtime_of(context)
        if chat is None:
            return
        if not chat_allowed(runtime.config.telegram, chat.id):
            if update.callback_query is not None:
                await update.callback_query.answer(NOT_ALLOWED)
            elif refusals_of(context).due(chat.id):
                await reply(update, escape(NOT_ALLOWED))
            return
        await remember_chat(runtime.engine, chat.id, chat.type, chat.title)
        await handler(update, context)

    guarded.__doc__ = handler.__doc__
    return guarded


def managers_only(handler: Handler) -> Handler:
    """In groups, only chat administrators may change what the chat receives."""

    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        if not await may_manage(update, context, runtime_of(context).config.telegram):
            if update.callback_query is not None:
                await update.callback_query.answer(NOT_CHAT_ADMIN, show_alert=True)
            else:
                await reply(update, escape(NOT_CHAT_ADMIN))
            return
        await handler(update, context)

    guarded.__doc__ = handler.__doc__
    return guarded


def bot_admins_only(handler: Handler) -> Handler:
    async def guarded(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        user = update.effective_user
        if not is_bot_admin(runtime_of(context).config.telegram, user.id if user else None):
            await reply(update, escape(NOT_BOT_ADMIN))
            return
        await handler(update, context)

    guarded.__doc__ = handler.__doc__
    return guarded
