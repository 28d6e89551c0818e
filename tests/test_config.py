"""Config loading: defaults, ${VAR} substitution, and errors that name the file and key."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.config import EVERY_FLOOR, ConfigError
from bot.config_file import load_config, parse_config
from bot.starter import EXAMPLE_CONFIG as EXAMPLE


def test_example_config_is_valid_and_documents_the_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("TELEGRAM_BOT_TOKEN", raising=False)
    monkeypatch.delenv("NEWSBOT_DATABASE_URL", raising=False)
    config = load_config(EXAMPLE)
    assert config.telegram.token is None
    assert config.rules_dir == EXAMPLE.parent / "rules"
    assert config.database_url == f"sqlite:///{EXAMPLE.parent / 'data' / 'newsbot.db'}"
    monkeypatch.setenv("NEWSBOT_DATABASE_URL", "postgresql://newsbot:secret@127.0.0.1:5432/newsbot")
    assert load_config(EXAMPLE).database_url == "postgresql://newsbot:secret@127.0.0.1:5432/newsbot"


def test_environment_substitution_and_secret_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NB_TOKEN", "123:secret")
    config = parse_config("telegram:\n  token: ${NB_TOKEN}\n", "c.yaml", Path("/srv"))
    assert config.telegram.token is not None
    assert config.telegram.token.get_secret_value() == "123:secret"
    assert "secret" not in repr(config) and "secret" not in str(config.telegram)


def test_default_after_colon_dash_and_unset_variable_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NB_UNSET", raising=False)
    config = parse_config("database: ${NB_UNSET:-sqlite:///x.db}\n", "c.yaml", Path("/srv"))
    assert config.database_url == "sqlite:////srv/x.db"
    with pytest.raises(ConfigError, match=r"^c\.yaml:2: feeds\.0\.url: environment variable NB_UNSET is not set$"):
        parse_config("feeds:\n  - url: ${NB_UNSET}\n", "c.yaml", Path("/srv"))
    assert parse_config("# ${NB_UNSET} in a comment\n", "c.yaml", Path("/srv")).feeds == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("feeds:\n  - url: http://a/x\n    every: soon\n", "c.yaml:3: feeds.0.every: 'soon' is not a duration"),
        (
            "feeds:\n  - url: https://news.example.org/rss\n    every: 5s\n",
            "c.yaml:3: feeds.0.every: 5s is too often for a feed on another server: write 10s or more",
        ),
        ("feeds:\n  - url: ftp://a/x\n", "c.yaml:2: feeds.0.url: 'ftp://a/x' must start with http://"),
        ("feeds:\n  - name: x\n", "c.yaml:2: feeds.0.url: this key is required"),
        ("telegram:\n  tokn: x\n", "c.yaml:2: telegram.tokn: unknown key"),
        ("database: mysql://x\n", "c.yaml:1: database: 'mysql://x' is not a SQLite or PostgreSQL URL"),
        ("polling:\n  min_interval: 3h\n", "c.yaml:1: polling: min_interval must not be longer than max_interval"),
        ("cluster:\n  heartbeat: 30s\n", "c.yaml:1: cluster: lease must be at least 3 heartbeats"),
        ("feeds: [\n", "c.yaml:1: the '[' at line 1 column 8 is never closed"),
        ("- a\n- b\n", "c.yaml: expected a mapping"),
        ("links:\n  drop_params: [\"a b\"]\n", "c.yaml:2: links.drop_params.0: 'a b' is not a query parameter name"),
        ("links:\n  drop_params: [\"*\"]\n", "c.yaml:2: links.drop_params.0: '*' is not a query parameter name"),
        ("links:\n  drop_params: sr_share\n", "c.yaml:2: links.drop_params: Input should be a valid list"),
    ],
)
def test_errors_name_the_key(text: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml", Path("/srv"))
    assert str(caught.value).startswith(message)


def test_durations_and_feeds_file(tmp_path: Path) -> None:
    (tmp_path / "feeds.yaml").write_text("- url: http://127.0.0.1/a.xml\n  every: 90s\n- url: file:///x.xml\n")
    (tmp_path / "config.yaml").write_text("feeds_file: feeds.yaml\nfeeds:\n  - url: https://b/\n    every: 1d\n")
    config = load_config(tmp_path / "config.yaml")
    assert [f.every for f in config.feeds] == [timedelta(days=1), timedelta(seconds=90), None]
    (tmp_path / "feeds.yaml").write_text("- url: http://a/\n  backlog: -1\n")
    with pytest.raises(ConfigError, match=r"feeds\.yaml:2: feeds\.0\.backlog: Input should be greater"):
        load_config(tmp_path / "config.yaml")


def test_every_is_at_least_the_floor_except_for_feeds_on_this_machine() -> None:
    local = ["http://127.0.0.1:8080/a.xml", "http://localhost/b.xml", "http://[::1]/c.xml", "file:///srv/d.xml"]
    text = "feeds:\n" + "".join(f"  - url: {url}\n    every: 1s\n" for url in local)
    text += "  - url: https://news.example.org/rss\n    every: 10s\n"
    config = parse_config(text, "c.yaml", Path("/srv"))
    assert [feed.every for feed in config.feeds] == [timedelta(seconds=1)] * 4 + [EVERY_FLOOR]
    with pytest.raises(ConfigError, match=r"^feeds\.yaml:4: feeds\.1\.every: 9s is too often"):
        text = "feeds:\n  - url: http://127.0.0.2/x\n  - url: http://10.0.0.1/y\n    every: 9s\n"
        parse_config(text, "feeds.yaml", Path("/"))


def test_missing_file_is_one_sentence(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"nope\.yaml: cannot read the config file \(No such file"):
        load_config(tmp_path / "nope.yaml")


@pytest.mark.parametrize("value", ["true", "false"])
def test_removed_embeddings_key_is_one_sentence_naming_what_replaced_it(value: str) -> None:
    """`stories.embeddings` switched on the MiniLM blend, removed for the meaning signal: a config that still
    holds it, on or off, gets one line naming the file, line and key and the key to use instead."""
    with pytest.raises(ConfigError) as caught:
        parse_config(f"stories:\n  meaning: true\n  embeddings: {value}\n", "c.yaml", Path("/srv"))
    assert caught.value.problems == (
        "c.yaml:3: stories.embeddings: this key was removed with the MiniLM embeddings it switched on; stories "
        "join by meaning with `stories.meaning` (true by default, false for words, names and entities alone) "
        "instead",
    )


def test_every_problem_at_once_with_its_line(monkeypatch: pytest.MonkeyPatch) -> None:
    """All of a file's problems in one go, in the order of their lines; a value holding an unset ${VAR} is
    reported as that, not also as the URL it fails to be."""
    monkeypatch.delenv("NB_UNSET", raising=False)
    text = (
        "feeds:\n"
        "  - url: http://a/x\n"
        "    every: soon\n"
        "  - name: no url\n"
        "  - url: ${NB_UNSET}\n"
        "telegram:\n"
        "  tokn: x\n"
        "polling:\n"
        "  max_items_per_poll: 0\n"
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "c.yaml", Path("/srv"))
    assert caught.value.problems == (
        "c.yaml:3: feeds.0.every: 'soon' is not a duration; write it like 30s, 10m, 2h or 1d",
        "c.yaml:4: feeds.1.url: this key is required",
        "c.yaml:5: feeds.2.url: environment variable NB_UNSET is not set",
        "c.yaml:7: telegram.tokn: unknown key; did you mean `token`?",
        "c.yaml:9: polling.max_items_per_poll: Input should be greater than or equal to 1",
    )


def test_feeds_file_problems_at_once_with_their_lines(tmp_path: Path) -> None:
    feeds = tmp_path / "feeds.yaml"
    feeds.write_text("- url: http://a/\n  backlog: -1\n- url: gopher://b/\n- url: http://c/\n  evry: 1h\n")
    (tmp_path / "config.yaml").write_text("feeds_file: feeds.yaml\n")
    with pytest.raises(ConfigError) as caught:
        load_config(tmp_path / "config.yaml")
    assert caught.value.problems == (
        f"{feeds}:2: feeds.0.backlog: Input should be greater than or equal to 0",
        f"{feeds}:3: feeds.1.url: 'gopher://b/' must start with http://, https:// or file://",
        f"{feeds}:5: feeds.2.evry: unknown key; did you mean `every`?",
    )
    (tmp_path / "feeds.yaml").write_text("feeds:\n  - url: http://a/\n    backlog: -1\n")
    with pytest.raises(ConfigError, match=r"feeds\.yaml:3: feeds\.0\.backlog: Input should be greater"):
        load_config(tmp_path / "config.yaml")


def test_links_drop_params_are_read_in_lower_case() -> None:
    config = parse_config("links:\n  drop_params: [SR_share, Campaign_*]\n", "c.yaml", Path("/srv"))
    assert config.links.drop_params == ["sr_share", "campaign_*"]
    assert parse_config("", "c.yaml", Path("/srv")).links.drop_params == []
