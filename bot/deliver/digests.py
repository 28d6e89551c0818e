"""Digests: for chats in digest mode whose period has passed, the held alerts of each thread folded into one
message ("Your daily digest: 12 alerts since ...")."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.counts import plural
from bot.deliver.folding import fold_into_summary
from bot.deliver.format import when
from bot.store.chats import digest_chats, mark_digest_sent
from bot.store.outbox import held_threads, to_fold

DIGEST_PERIODS = {"hourly": timedelta(hours=1), "daily": timedelta(days=1)}


async def send_digests(engine: AsyncEngine, now: datetime) -> None:
    """Queue the digests that are due; the sender sends them like any message."""
    for settings in await digest_chats(engine):
        period = DIGEST_PERIODS[settings.digest]
        last = settings.digest_sent_at
        if last is not None and now - last < period:
            continue
        since = f"since {when(last)}" if last else "so far"
        for thread_id in await held_threads(engine, settings.chat_id):
            folding = await to_fold(engine, settings.chat_id, "held", thread_id)
            if folding.ids:
                heading = f"Your {settings.digest} digest: {plural(len(folding.ids), 'alert')} {since}"
                await fold_into_summary(engine, folding, settings.chat_id, heading, "held")
        async with engine.begin() as conn:
            await mark_digest_sent(conn, settings.chat_id, now)
