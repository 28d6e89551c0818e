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
    try:
        raise ConnectionError(f"cannot reach https://api.telegram.org/bot{TOKEN}/getUpdates")
    except ConnectionError:
        logging.getLogger("telegram.ext").exception("polling failed")
    logged = "".join(capsys.readouterr().err.split())  # rich wraps lines at the terminal's width
    assert TOKEN not in logged
    assert "pollingfailed" in logged and "ConnectionError" in logged
    assert logged.count("".join(REDACTED.split())) == 3
