"""The bot token never reaches a log line, however a library formats it."""

from __future__ import annotations

import logging

import pytest

from bot.logs import REDACTED, setup_logging

TOKEN = "123456:AAE-secret-token"


def test_token_is_redacted_from_formatted_log_lines(capsys: pytest.CaptureFixture[str]) -> None:
    setup_logging(verbose=False, secrets=[TOKEN])
    logging.getLogger("httpx").warning('HTTP Request: POST https://api.telegram.org/bot%s/getMe "200"', TOKEN)
    logging.getLogger("bot").error("token %s in a message", TOKEN)
    logged = capsys.readouterr().err
    assert TOKEN not in logged
    assert logged.count(REDACTED) == 2
