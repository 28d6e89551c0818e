"""The bot token never reaches a log line, however a library formats it, in text or in JSON lines."""

from __future__ import annotations

import json
import logging

import pytest

from bot.logs import REDACTED, hide_secrets, setup_logging

TOKEN = "123456:AAE-secret-token"


@pytest.mark.parametrize("json_lines", [False, True], ids=["text", "json"])
def test_token_is_redacted_from_formatted_log_lines(capsys: pytest.CaptureFixture[str], json_lines: bool) -> None:
    setup_logging(json_lines=json_lines)
    hide_secrets([TOKEN])
    logging.getLogger("httpx").warning('HTTP Request: POST https://api.telegram.org/bot%s/getMe "200"', TOKEN)
    logging.getLogger("bot").error("token %s in a message", TOKEN, extra={"url": f"https://x/bot{TOKEN}/"})
    try:
        raise ConnectionError(f"cannot reach https://api.telegram.org/bot{TOKEN}/getUpdates")
    except ConnectionError:
        logging.getLogger("telegram.ext").exception("polling failed")
    logged = capsys.readouterr().err
    assert TOKEN not in logged
    assert "polling failed" in logged and "ConnectionError" in logged
    assert logged.count(REDACTED) == (4 if json_lines else 3)  # text lines do not show the fields
    if json_lines:
        records = [json.loads(line) for line in logged.splitlines()]
        assert [record["logger"] for record in records] == ["httpx", "bot", "telegram.ext"]
        assert records[1]["url"] == f"https://x/bot{REDACTED}/"
        assert "ConnectionError" in records[2]["exc"]
