"""Who may do what: allowed chats and bot admins from the config, chat administrators in groups.

Refusals are one polite sentence; callers send them as they are.
"""

from __future__ import annotations

from telegram import Chat, ChatMember, Update
from telegram.ext import ContextTypes

from bot.config import TelegramConfig

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
