"""The Telegram front as one unit for the daemon: the PTB Application (long polling, handlers) and the
outbox sender, started on the running event loop and stopped together.

    telegram_sink = TelegramSink(config.stories.edit_window, config.telegram.allowed_chats, config.telegram.admins)
    async with open_runtime(config, telegram_sink) as runtime, telegram_front(runtime, telegram_sink):
        await run_scheduler(runtime, stop)
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Bot, Update
from telegram.error import InvalidToken, NetworkError
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder
from telegram.request import HTTPXRequest

from bot.chat.handlers import register
from bot.chat.runtime import ChatRuntime
from bot.config import TelegramConfig
from bot.deliver.pacing import Pace, Pacer
from bot.deliver.senders import running
from bot.deliver.telegram import OutboxSender, TelegramSink

log = logging.getLogger(__name__)
OUTBOX_PACE = Pace(global_per_second=25)  # the other 5/s are left to command replies
RETRY_FIRST, RETRY_MAX = 2.0, 300.0
"""Seconds before retrying an unreachable Bot API: doubling from the first to the most."""


def _token(settings: TelegramConfig) -> str:
    if settings.token is None:
        raise ValueError("telegram.token is not set; without it alerts go to the terminal")
    return settings.token.get_secret_value()


def outbox_bot(settings: TelegramConfig) -> Bot:
    """The outbox's own Bot, outside AIORateLimiter: that limiter halts every request while it waits out
    one chat's 429, whereas the sender holds only that chat and paces the rest itself."""
    return Bot(_token(settings), base_url=settings.base_url, request=HTTPXRequest(connection_pool_size=32))


def build_application(runtime: ChatRuntime) -> Application:
    """PTB Application for the configured token and Bot API base URL, with the handlers registered.

    AIORateLimiter paces and retries command replies; alerts go through `outbox_bot` and its own pacing.
    """
    settings = runtime.config.telegram
    application = (
        ApplicationBuilder()
        .token(_token(settings))
        .base_url(settings.base_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    application.bot_data["runtime"] = runtime
    register(application)
    return application


@asynccontextmanager
async def telegram_front(runtime: ChatRuntime, telegram_sink: TelegramSink) -> AsyncIterator[Application]:
    """Poll Telegram for commands and drain the outbox until the block exits."""
    application = build_application(runtime)
    bot = outbox_bot(runtime.config.telegram)
    sender = OutboxSender(bot, runtime.engine, Pacer(OUTBOX_PACE), bell=telegram_sink.queued)
    async with application, bot:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        log.info("Telegram front is up as @%s", application.bot.username)
        try:
            async with running([sender]):
                yield application
        finally:
            await application.updater.stop()
            await application.stop()


async def keep_front_up(runtime: ChatRuntime, telegram_sink: TelegramSink, stop: asyncio.Event) -> None:
    """Run the Telegram front until `stop` is set. While the Bot API cannot be reached (at start or after the
    front went down), say so and retry with backoff; polling goes on meanwhile and alerts wait in the outbox.
    A token Telegram refuses is raised: no retry can fix it."""
    delay = RETRY_FIRST
    while not stop.is_set():
        try:
            async with telegram_front(runtime, telegram_sink):
                delay = RETRY_FIRST
                await stop.wait()
            return
        except InvalidToken:
            raise
        except NetworkError as error:  # TimedOut is a NetworkError too
            log.warning(
                "Telegram is unreachable (%s); polling goes on and alerts wait in the outbox; retrying in %.0f s",
                error.message,
                delay,
            )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(delay * 2, RETRY_MAX)
