"""Logging: newsbot's own lines on stderr, as text or as one JSON object a line, and never a secret.

Text lines start with an ISO 8601 time; JSON lines (`--log-format json`, for daemons and log shippers) hold
`ts`, `level`, `logger`, `message` and the record's own fields (a poll's feed, status and milliseconds).
Other libraries (aiosqlite, httpx, telegram, ...) stay at WARNING unless asked for with `-vv`, so `-v`
shows what newsbot itself does.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Iterable
from datetime import datetime
from typing import Any, TextIO

from bot.redact import HIDDEN, Redactor

REDACTED = HIDDEN
OWN = "bot"
"""The logger every newsbot module logs under (`logging.getLogger(__name__)`)."""

_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class RedactSecrets(logging.Filter):
    """Takes every secret (bot/redact.py) out of a record's message, traceback and fields (httpx logs request
    URLs with the token)."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        if not self.redactor:
            return True
        message = record.getMessage()
        redacted = self.redactor.redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            # Tracebacks carry request URLs too; the formatter uses this text instead of formatting anew.
            record.exc_text = self.redactor.redact(logging.Formatter().formatException(record.exc_info))
        for name, value in fields(record).items():
            if isinstance(value, str):
                setattr(record, name, self.redactor.redact(value))
        return True


class RedactedStream:
    """stdout or stderr with every secret taken out of what is written (tables, JSON lines, errors)."""

    def __init__(self, stream: TextIO, redactor: Redactor) -> None:
        self.stream = stream
        self.redactor = redactor

    def write(self, text: str) -> int:
        self.stream.write(self.redactor.redact(text))
        return len(text)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def fields(record: logging.LogRecord) -> dict[str, Any]:
    """What a log call passed in `extra=`: the record's attributes that logging itself does not set."""
    return {name: value for name, value in vars(record).items() if name not in _STANDARD}


def timestamp(record: logging.LogRecord) -> str:
    """The record's time in ISO 8601, local time with its offset, to the millisecond."""
    return datetime.fromtimestamp(record.created).astimezone().isoformat(timespec="milliseconds")


class TextFormatter(logging.Formatter):
    """`2026-02-17T09:12:03.123+01:00 INFO    message`; another library's lines name their logger."""

    def format(self, record: logging.LogRecord) -> str:
        source = "" if record.name == OWN or record.name.startswith(OWN + ".") else f"[{record.name}] "
        line = f"{timestamp(record)} {record.levelname:<7} {source}{record.getMessage()}"
        trace = _traceback(self, record)
        return f"{line}\n{trace}" if trace else line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, the record's fields, and `exc` for a traceback."""

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "ts": timestamp(record),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        line.update((name, value) for name, value in fields(record).items() if name not in line)
        trace = _traceback(self, record)
        if trace:
            line["exc"] = trace
        return json.dumps(line, ensure_ascii=False, default=str)


def _traceback(formatter: logging.Formatter, record: logging.LogRecord) -> str:
    if record.exc_info and not record.exc_text:
        record.exc_text = formatter.formatException(record.exc_info)
    return record.exc_text or ""


_secrets = Redactor()
_redact = RedactSecrets(_secrets)


def setup_logging(verbosity: int = 0, *, quiet: bool = False, json_lines: bool = False) -> None:
    """Root logging to stderr. newsbot's own lines at INFO (`quiet`: WARNING, for one-off commands whose output
    is the result), DEBUG with `verbosity` 1 (-v); everything else at WARNING, DEBUG with `verbosity` 2 (-vv).
    """
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if json_lines else TextFormatter())
    handler.addFilter(_redact)
    logging.basicConfig(level=logging.DEBUG if verbosity >= 2 else logging.WARNING, handlers=[handler], force=True)
    own = logging.DEBUG if verbosity >= 1 else logging.WARNING if quiet else logging.INFO
    logging.getLogger(OWN).setLevel(own)


def hide_secrets(secrets: Iterable[str], urls: Iterable[str] = ()) -> None:
    """Never print these (the bot token, Apprise URLs, values from environment variables; `urls` are shown
    without user info and query values), in logs or in anything written to stdout and stderr: called once
    the config that holds them is read."""
    _secrets.hide(secrets, urls)
    if _secrets:
        for name in ("stdout", "stderr"):
            stream = getattr(sys, name)
            if not isinstance(stream, RedactedStream):
                setattr(sys, name, RedactedStream(stream, _secrets))


def redact(text: str) -> str:
    """`text` without the secrets `hide_secrets` was told (for /status and admin notices)."""
    return _secrets.redact(text)
