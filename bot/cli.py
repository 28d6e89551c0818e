"""The `newsbot` command: the daemon, one-off polls, the demo, and tools for rule files.

Every failure a user can cause ends as one sentence on stderr and a non-zero exit, never a traceback.
Start-up time matters (`newsbot --help` answers at once): this module imports only the standard library,
and each command imports the parts it uses (SQLAlchemy, telegram, httpx, trafilatura ...) when it runs.
"""

from __future__ import annotations

import argparse
import difflib
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, NoReturn

from bot import __version__
from bot.commands import (
    UsageError,
    cmd_demo,
    cmd_feeds_export,
    cmd_feeds_import,
    cmd_init,
    cmd_match,
    cmd_poll,
    cmd_rules_backtest,
    cmd_rules_check,
    cmd_rules_test,
    cmd_run,
    cmd_status,
    cmd_stories,
    cmd_trend,
)

CONFIG_SEARCH = "./config.yaml, else the file $NEWSBOT_CONFIG names, else built-in defaults"
RULES_DIR_HELP = "rules folder (default: the config's `rules`, ./rules without a config)"


class Parser(argparse.ArgumentParser):
    """argparse that takes options only by their whole name (`--onc` is not `--once`) and names the nearest
    command or option for a near miss ("did you mean 'status'?"). Every command's parser is one of these."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is None or value in action.choices:
            return
        known = [str(choice) for choice in action.choices]
        close = difflib.get_close_matches(str(value), known, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise argparse.ArgumentError(
            action, f"invalid choice: {value!r}{hint} (choose from {', '.join(map(repr, known))})"
        )

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        parsed, unknown = self.parse_known_args(args, namespace)
        if unknown:
            _chosen(self, parsed).unrecognized(unknown)
        return parsed

    def unrecognized(self, unknown: list[str]) -> NoReturn:
        options = {option.lstrip("-"): option for action in self._actions for option in action.option_strings}

        def hint(word: str) -> str:
            close = difflib.get_close_matches(word.split("=", 1)[0].lstrip("-"), list(options), n=1)
            return f"{word} (did you mean {options[close[0]]}?)" if close and word.startswith("-") else word

        hints = [hint(word) for word in unknown]
        self.error(f"unrecognized arguments: {' '.join(hints)}")


def _chosen(parser: Parser, parsed: argparse.Namespace) -> Parser:
    """The parser of the command (and action) the command line chose, for its own options."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction) and getattr(parsed, action.dest, None) in action.choices:
            return _chosen(action.choices[getattr(parsed, action.dest)], parsed)
    return parser


def build_parser() -> Parser:
    parser = Parser(
        prog="newsbot",
        description="Media-monitoring alerts from RSS, Atom, RDF and JSON feeds, matched by rules you edit.",
        epilog="`newsbot COMMAND --help` tells more of each command; README.md tells all.",
    )
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    _logging_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str,
        help: str,
        handler: object,
        group: argparse._SubParsersAction | None = None,
        epilog: str | None = None,
    ) -> argparse.ArgumentParser:
        sub = (group or commands).add_parser(name, help=help, description=help, epilog=epilog)
        sub.set_defaults(handler=handler)
        _logging_options(sub, top=False)
        return sub

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("-c", "--config", help=f"config file (default: {CONFIG_SEARCH})")

    run = command(
        "run",
        "run the bot: poll feeds on schedule, alert via Telegram or here (it says which at start)",
        cmd_run,
    )
    with_config(run)
    poll = command(
        "poll",
        "poll the feeds and print new alerts (also queued for Telegram; `run` sends them)",
        cmd_poll,
        epilog="exit status of --once: 0 when every feed was polled, 1 when any feed failed (each is named on "
        "stderr), 2 for a problem with the command line or the config",
    )
    with_config(poll)
    poll.add_argument("--once", action="store_true", help="one poll cycle, then exit")
    poll.add_argument(
        "--json",
        action="store_true",
        help="one JSON object per topic and story (and per spike), a line each (a story three topics matched is "
        "three lines with the same story.id)",
    )
    demo = command("demo", "poll the bundled demo feeds with the shipped rules and print the alerts", cmd_demo)
    demo.add_argument("--rules", help="rules folder (default: the starter rules that `newsbot init` writes)")
    init = command("init", "write a starter config.yaml and rules/ into a folder", cmd_init)
    init.add_argument("directory", nargs="?", default=".", metavar="DIR", help="where to write (default: here)")
    init.add_argument("--force", action="store_true", help="overwrite starter files that already exist")
    match = command("match", "show which rules match text files, and why", cmd_match)
    with_config(match)
    match.add_argument("files", nargs="+", metavar="FILE", help="text file: first line title, then body")
    match.add_argument("--json", action="store_true", help="one JSON object per match per line")

    rules = command("rules", "check, test and backtest rule files", None)
    rule_commands = rules.add_subparsers(dest="rules_command", required=True, metavar="ACTION")
    check = command(
        "check", "validate rule files: problems and warnings as file:line: message", cmd_rules_check, rule_commands
    )
    with_config(check)
    check.add_argument("directory", nargs="?", metavar="DIR", help=RULES_DIR_HELP)
    check.add_argument("--strict", action="store_true", help="fail (exit 1) on warnings too, not only on problems")
    test = command("test", "run the examples written in rule files", cmd_rules_test, rule_commands)
    with_config(test)
    test.add_argument("directory", nargs="?", metavar="DIR", help=RULES_DIR_HELP)
    back = command(
        "backtest",
        "what rules (including edited files not yet live) would have alerted on stored entries",
        cmd_rules_backtest,
        rule_commands,
    )
    with_config(back)
    back.add_argument("--since", default="7d", type=_period, help="stored entries of this period (default 7d)")
    back.add_argument(
        "--show", type=_at_least_zero, default=10, metavar="N", help="latest alerts to list per rule (default 10)"
    )
    back.add_argument("files", nargs="*", metavar="RULE_FILE", help="edited rule files to try instead of the live ones")

    feeds = command("feeds", "import or export the feed list as OPML", None)
    feed_commands = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    opml_in = command("import", "add the feeds of an OPML file to feeds.yaml", cmd_feeds_import, feed_commands)
    with_config(opml_in)
    opml_in.add_argument("file", metavar="FILE.opml")
    opml_out = command("export", "print the configured feeds as OPML", cmd_feeds_export, feed_commands)
    with_config(opml_out)

    stories = command("stories", "stories with their outlets, credits and origin", cmd_stories)
    with_config(stories)
    stories.add_argument("--since", default="2d", type=_period, help="stories that grew in this period (default 2d)")
    stories.add_argument("--json", action="store_true", help="one JSON object per story per line")
    stories.add_argument("--topic", help="only stories this topic (rule id or title) matched a member of")
    stories.add_argument(
        "--min-outlets", type=_at_least_one, default=1, metavar="N", help="only stories told by N or more outlets"
    )

    trend = command(
        "trend", "a topic's stories per hour or day with their usual count and spikes, as a chart", cmd_trend
    )
    with_config(trend)
    trend.add_argument("topics", nargs="+", metavar="TOPIC", help="rule id or title; several share one chart")
    trend.add_argument(
        "--since", default="14d", type=_period, help="the period (default 14d; up to 3d per hour, longer per day)"
    )
    trend.add_argument(
        "--until", type=_moment, metavar="TIME", help="the period ends then (ISO 8601, UTC unless it says; default now)"
    )
    trend.add_argument("--png", metavar="FILE", help="write the chart to FILE as a PNG instead of printing it")

    status = command(
        "status",
        "feed health (last success, next poll and why, errors), alert latency per topic, and on PostgreSQL the "
        "processes sharing the database",
        cmd_status,
    )
    with_config(status)
    status.add_argument("--since", default="7d", type=_period, help="latency over this period (default 7d)")
    status.add_argument(
        "--wide", action="store_true", help="every column: reasons in full, items per day, latency per feed"
    )
    return parser


def _logging_options(parser: argparse.ArgumentParser, *, top: bool) -> None:
    """-v and --log-format, before the command or after it (a command's own take precedence)."""
    parser.add_argument(
        "-v",
        "--verbose",
        action="count",
        default=0 if top else argparse.SUPPRESS,
        help="-v: newsbot's own debug lines (each feed's poll: fetch, parse, match, alerts, in ms); "
        "-vv: every library's debug lines too",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text" if top else argparse.SUPPRESS,
        help="text (default: ISO 8601 time, level, message) or json (one object per line, for daemons)",
    )


def _at_least_one(text: str) -> int:
    """A count of at least 1, checked where it is read."""
    return _whole_number(text, 1)


def _at_least_zero(text: str) -> int:
    """A count of 0 or more, checked where it is read."""
    return _whole_number(text, 0)


def _whole_number(text: str, least: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < least:
        raise argparse.ArgumentTypeError(f"{text!r}: give {least} or more")
    return value


def _period(text: str) -> str:
    """A --since value, checked where it is read: a bad one is argparse's one-line usage error."""
    from bot.config import parse_duration

    try:
        parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def _moment(text: str) -> datetime:
    """An --until value: an ISO 8601 date or time, in UTC unless it names its offset."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        example = "write it like 2024-03-15 or 2024-03-15T12:00"
        raise argparse.ArgumentTypeError(f"{text!r} is not a date or time; {example}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _user_error(exc: Exception) -> str | None:
    """What to tell the user about a problem they can fix; None for anything else (a bug keeps its traceback).
    Database and Telegram errors can only come from a command that imported their libraries."""
    from bot.config import ConfigError
    from bot.feeds.opml import OpmlError

    if isinstance(exc, ConfigError | OpmlError | UsageError):
        return str(exc)
    if "sqlalchemy" in sys.modules:
        from sqlalchemy.exc import DBAPIError

        from bot.store.db import DatabaseError, database_reason

        if isinstance(exc, DatabaseError):
            return str(exc)
        if isinstance(exc, DBAPIError):
            return database_reason(exc)
    if "telegram" in sys.modules:
        from telegram.error import InvalidToken

        if isinstance(exc, InvalidToken):
            return "Telegram refused the bot token; check telegram.token"
    return None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from bot.logs import setup_logging

    # The daemons log what they do; one-off commands only warnings, unless -v.
    quiet = args.handler not in (cmd_run, cmd_poll) or getattr(args, "once", False)
    setup_logging(args.verbose, quiet=quiet, json_lines=args.log_format == "json")
    try:
        return int(args.handler(args))
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        message = _user_error(exc)
        if message is None:
            raise
        from bot.cli_views import err

        for line in message.splitlines():
            err.print(f"newsbot: {line}", style="red", markup=False, highlight=False)
        return 2
