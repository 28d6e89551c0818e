"""The Telegram front as one unit for app.py: the PTB Application (long polling, handlers) and the
outbox senders, started on the running event loop and stopped together.

Usage in the daemon, with the sinks handed to the pipeline before the runtime opens:

    telegram_sink = TelegramSink(config.stories.edit_window)
    apprise_sink = AppriseSink(config.apprise)
    async with open_runtime(config, sinks...) as runtime, telegram_front(runtime, telegram_sink, apprise_sink):
        await run_scheduler(runtime, stop)
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from telegram import Update
from telegram.ext import AIORateLimiter, Application, ApplicationBuilder

from bot.chat.handlers import ChatRuntime, register
from bot.deliver.apprise import AppriseSender, AppriseSink
from bot.deliver.telegram import OutboxSender, TelegramSink

log = logging.getLogger(__name__)
STOP_WITHIN = 10.0


def build_application(runtime: ChatRuntime) -> Application:
    """PTB Application for the configured token and Bot API base URL, with the handlers registered.

    AIORateLimiter paces and retries command replies; alerts are paced by the outbox sender itself.
    """
    settings = runtime.config.telegram
    if settings.token is None:
        raise ValueError("telegram.token is not set; without it alerts go to the terminal")
    application = (
        ApplicationBuilder()
        .token(settings.token.get_secret_value())
        .base_url(settings.base_url)
        .rate_limiter(AIORateLimiter(max_retries=2))
        .build()
    )
    application.bot_data["runtime"] = runtime
    register(application)
    return application


@asynccontextmanager
async def telegram_front(
    runtime: ChatRuntime, telegram_sink: TelegramSink, apprise_sink: AppriseSink | None = None
) -> AsyncIterator[Application]:
    """Poll Telegram for commands and drain the outbox until the block exits."""
    application = build_application(runtime)
    sender = OutboxSender(application.bot, runtime.engine, bell=telegram_sink.queued)
    senders: list[OutboxSender | AppriseSender] = [sender]
    if apprise_sink is not None and apprise_sink.targets:
        senders.append(AppriseSender(runtime.engine, runtime.config.apprise, apprise_sink.queued))
    async with application:
        await application.start()
        assert application.updater is not None
        await application.updater.start_polling(allowed_updates=Update.ALL_TYPES)
        tasks = [asyncio.create_task(s.run(), name=f"outbox-{type(s).__name__}") for s in senders]
        log.info("Telegram front is up as @%s", application.bot.username)
        try:
            yield application
        finally:
            for each in senders:
                each.stop()
            _, late = await asyncio.wait(tasks, timeout=STOP_WITHIN)
            for task in late:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            await application.updater.stop()
            await application.stop()
