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

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, REDACTED)
        return text

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.secrets:
            return True
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Tracebacks carry request URLs too; the formatter uses this text instead of formatting anew.
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
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
