"""Folding queued messages into one summary: a burst a chat's pace cannot take, or a chat's digest."""

from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.deliver.format import render_summary
from bot.store.outbox import FoldConflict, Folding, NewMessage, Status, fold

log = logging.getLogger(__name__)


async def fold_into_summary(engine: AsyncEngine, folding: Folding, chat_id: int, heading: str, status: Status) -> bool:
    """Replace the rows of `folding` (still in `status`) by one summary message; False if they moved on."""
    rendered = render_summary(heading, folding.headlines)
    summary = NewMessage(
        key=f"tg:{chat_id}:summary:{folding.ids[0]}",
        rule_id="*",
        html=rendered.html,
        plain=rendered.plain,
        chat_id=chat_id,
        thread_id=folding.thread_id,
    )
    try:
        async with engine.begin() as conn:
            await fold(conn, folding, summary, status)
    except FoldConflict as exc:
        log.warning("%s", exc)
        return False
    return True
