"""Where alerts go once stored: the terminal, Telegram's outbox, Apprise channels."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from bot.model import Alert


class Sink(Protocol):
    """Takes alerts that are already stored; must not lose them (write to an outbox or print)."""

    async def deliver(self, alerts: Sequence[Alert]) -> None: ...
