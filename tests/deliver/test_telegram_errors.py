"""What each Bot API error means for a message, its chat and the chat's worker."""

from __future__ import annotations

import pytest
from telegram.error import BadRequest, ChatMigrated, Forbidden, NetworkError, RetryAfter, TelegramError, TimedOut

from bot.deliver.telegram_errors import Outcome, classify


@pytest.mark.parametrize(
    ("error", "plain", "outcome"),
    [
        (RetryAfter(7), False, Outcome.HOLD_CHAT),
        (Forbidden("Forbidden: bot was blocked by the user"), False, Outcome.CHAT_GONE),
        (BadRequest("Bad Request: chat not found"), False, Outcome.CHAT_GONE),
        (BadRequest("Bad Request: can't parse entities: unclosed tag"), False, Outcome.PLAIN_TEXT),
        (BadRequest("Bad Request: can't parse entities: unclosed tag"), True, Outcome.REFUSED),
        (BadRequest("Bad Request: message is not modified"), False, Outcome.ALREADY_THERE),
        (BadRequest("Bad Request: message text is empty"), False, Outcome.REFUSED),
        (ChatMigrated(-1005), False, Outcome.CHAT_MOVED),
        (TimedOut(), False, Outcome.RETRY_LATER),
        (NetworkError("Bad Gateway"), False, Outcome.RETRY_LATER),
        (TelegramError("Internal Server Error"), False, Outcome.RETRY_LATER),
    ],
)
def test_each_error_has_one_meaning(error: TelegramError, plain: bool, outcome: Outcome) -> None:
    assert classify(error, plain=plain).outcome is outcome


def test_a_429_holds_the_chat_for_as_long_as_telegram_asks() -> None:
    assert classify(RetryAfter(7), plain=False).wait == 7.0


def test_a_migrated_group_names_its_new_id() -> None:
    assert classify(ChatMigrated(-1005), plain=False).new_chat_id == -1005
