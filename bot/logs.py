"""Logging for the daemon: rich output, and secrets (the bot token) never reach a log line."""

from __future__ import annotations

import logging
from collections.abc import Iterable

from rich.console import Console
from rich.logging import RichHandler

REDACTED = "[token hidden]"


class RedactSecrets(logging.Filter):
    """Replaces every configured secret in a record's final message (httpx logs request URLs with the token)."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = [secret for secret in secrets if secret]

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = message
        for secret in self.secrets:
            redacted = redacted.replace(secret, REDACTED)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


def setup_logging(verbose: bool, secrets: Iterable[str] = (), *, quiet: bool = False) -> None:
    """Root logging to stderr through rich; chatty libraries stay at WARNING unless `verbose`.

    `quiet` (one-off commands whose output is the alerts) shows only warnings and errors.
    """
    handler = RichHandler(console=Console(stderr=True), show_path=False, rich_tracebacks=False, markup=False)
    handler.addFilter(RedactSecrets(secrets))
    level = logging.DEBUG if verbose else logging.WARNING if quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s", handlers=[handler], force=True)
    for noisy in ("httpx", "httpcore", "apscheduler", "telegram", "aiosqlite", "asyncio", "alembic"):
        logging.getLogger(noisy).setLevel(logging.DEBUG if verbose else logging.WARNING)
