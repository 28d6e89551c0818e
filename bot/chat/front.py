"""The python-telegram-bot Application of the Telegram front: long polling and the command handlers.

app.py runs it on the daemon's event loop together with the outbox sender (bot/deliver/telegram_sender.py).
"""

from __future__ import annotations

from telegram.ext import Application, ApplicationBuilder

from bot.chat.access import chat_allowed
from bot.chat.flood import ChatOrderedUpdates, ReplyPacer
from bot.chat.handlers import register
from bot.chat.runtime import ChatRuntime


def build_application(runtime: ChatRuntime) -> Application:
    """PTB Application for the configured token and Bot API base URL, with the handlers registered.

    Updates of different chats run side by side, each chat's in order and within its command quota; replies
    are paced per chat (flood.py). Alerts go through the outbox sender's own Bot and pacing.
    """
    settings = runtime.config.telegram
    if settings.token is None:
        raise ValueError("telegram.token is not set; without it alerts go to the terminal")
    application = (
        ApplicationBuilder()
        .token(settings.token.get_secret_value())
        .base_url(settings.base_url)
        .rate_limiter(ReplyPacer(max_retries=2))
        .concurrent_updates(ChatOrderedUpdates(lambda chat_id: chat_allowed(runtime.config.telegram, chat_id)))
        .build()
    )
    application.bot_data["runtime"] = runtime
    register(application)
    return application
