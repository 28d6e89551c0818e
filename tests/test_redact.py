"""What counts as a secret and how text is shown without it (bot/redact.py); tests/test_secrets_process.py
searches everything the program writes."""

from __future__ import annotations

from bot.redact import HIDDEN, Redactor, hidden_url


def test_a_url_is_shown_without_user_info_and_query_values() -> None:
    assert hidden_url("https://ann:pw@api.example:8443/rss?key=abc&lang=en#top") == (
        "https://***@api.example:8443/rss?key=***&lang=***#top"
    )
    assert hidden_url("https://api.example/rss") == "https://api.example/rss"
    assert hidden_url("not a url") == "not a url"


def test_secrets_are_taken_out_as_written_and_percent_encoded_and_short_values_are_left() -> None:
    redactor = Redactor()
    assert not redactor
    redactor.hide(["s3cret/value", "5m"], ["https://api.example/rss?key=s3cret/value&lang=en"])
    text = "GET https://api.example/rss?key=s3cret/value&lang=en; retry with s3cret%2Fvalue every 5m"
    assert redactor.redact(text) == f"GET https://api.example/rss?key=***&lang=***; retry with {HIDDEN} every 5m"


def test_a_secret_holding_another_is_taken_out_whole() -> None:
    redactor = Redactor()
    redactor.hide(["abcd", "abcdefgh"])
    assert redactor.redact("x abcdefgh y") == "x *** y"
