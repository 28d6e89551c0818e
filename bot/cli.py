"""The `newsbot` command: the daemon, one-off polls, the demo, and tools for rule files.

Every failure a user can cause ends as one sentence on stderr and a non-zero exit, never a traceback.
Start-up time matters (`newsbot --help` answers at once): this module imports only the standard library,
and each command imports the parts it uses (SQLAlchemy, telegram, httpx, trafilatura ...) when it runs.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot import __version__
from bot.counts import plural

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.config import Config
    from bot.deliver.sink import Sink
    from bot.match.rules import Rule
    from bot.model import Entry, StoredEntry

T = TypeVar("T")

CONFIG_SEARCH = "./config.yaml, else the file $NEWSBOT_CONFIG names, else built-in defaults"
RULES_DIR_HELP = "rules folder (default: the config's `rules`, ./rules without a config)"


class UsageError(Exception):
    """A problem with the command line or its files; the message is shown as is."""


def _query(config: Config, query: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run one store query for a command: open the database (migrating it if needed), query, close."""
    import asyncio

    from bot.store.db import open_database

    async def run() -> T:
        engine = await open_database(config.database_url)
        try:
            return await query(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _config(args: argparse.Namespace) -> Config:
    """The config of `-c FILE`, else ./config.yaml, else $NEWSBOT_CONFIG, else the embedded defaults."""
    from bot.config import find_config, load_config
    from bot.logs import hide_secrets

    config = load_config(find_config(Path(args.config) if args.config else None))
    hide_secrets(config.secrets())
    return config


def _no_config_file(config: Config) -> None:
    """Refuse a command that needs feeds when there are none and no config file was found at all."""
    from bot.config import where_config_was_sought

    if config.config_file is None and not config.feeds:
        raise UsageError(
            f"no feeds configured: no config file found ({where_config_was_sought()}); "
            "`newsbot init` writes one, or name yours with -c FILE"
        )


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import delivery, run_daemon

    config = _config(args)
    _no_config_file(config)
    asyncio.run(run_daemon(config, delivery(config, None), front=True))
    return 0


def _poll_once(config: Config, sink: Sink, show_progress: bool) -> int:
    import asyncio

    from bot.app import poll_once
    from bot.cli_views import poll_progress, show_poll_reports

    with poll_progress(len(config.feeds), show_progress) as advance:
        reports = asyncio.run(poll_once(config, sink, advance))
    return show_poll_reports(reports)


def cmd_poll(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import delivery, print_sink, run_daemon

    config = _config(args)
    _no_config_file(config)
    if not config.feeds:
        raise UsageError(f"no feeds configured: add some under `feeds:` in {config.config_file}")
    # Alerts are printed, and also queued for Telegram subscribers and Apprise channels that `run` delivers.
    chosen = delivery(config, print_sink(args.json))
    if args.once:
        return _poll_once(config, chosen.sink, show_progress=not args.json)
    asyncio.run(run_daemon(config, chosen, front=False))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    import tempfile

    from bot import starter
    from bot.cli_views import err
    from bot.deliver.console import ConsoleSink
    from bot.demo.server import demo_config, serve_demo_feeds

    rules = Path(args.rules) if args.rules else starter.RULES
    if not rules.is_dir():
        raise UsageError(f"{rules}: no such rules folder")
    with tempfile.TemporaryDirectory(prefix="newsbot-demo-") as folder, serve_demo_feeds() as base_url:
        config = demo_config(base_url, Path(folder) / "demo.db", rules)
        feeds = plural(len(config.feeds), "bundled feed")
        err.print(f"Demo: {feeds} served at {base_url}, rules from {rules}/", highlight=False)
        status = _poll_once(config, ConsoleSink(), show_progress=True)
    err.print(
        "Next: `newsbot init DIR` writes a config.yaml and these rules into DIR; add your feeds there and run "
        "`newsbot run -c DIR/config.yaml`."
    )
    return status


def cmd_init(args: argparse.Namespace) -> int:
    from bot import starter
    from bot.cli_views import out

    folder = Path(args.directory)
    try:
        written = starter.write_starter(folder, force=args.force)
    except starter.InitError as exc:
        raise UsageError(str(exc)) from None
    config = folder / starter.CONFIG_NAME
    files = plural(len(written) - 1, "rule and entity file")
    out.print(f"Wrote {config} and {files} in {folder / 'rules'}.", highlight=False)
    out.print(f"Next: add your feeds to {config}, then `newsbot run -c {config}`.", highlight=False)
    return 0


def _rules_dir(args: argparse.Namespace) -> Path:
    """DIR when given, else the rules folder of the config (see _config)."""
    return Path(args.directory) if args.directory else _config(args).rules_dir


def cmd_rules_check(args: argparse.Namespace) -> int:
    from bot.cli_views import err, out, problems
    from bot.rulebook.load import load_ruleset

    ruleset = load_ruleset(_rules_dir(args))
    problems(ruleset.findings())
    rules, entities = plural(len(ruleset.rules), "rule"), plural(len(ruleset.gazetteer.entities), "entity", "entities")
    warned = f", {plural(len(ruleset.warnings), 'warning')}" if ruleset.warnings else ""
    found = plural(len(ruleset.errors), "problem") + warned
    failed = bool(ruleset.errors) or (args.strict and bool(ruleset.warnings))
    (err if failed or ruleset.warnings else out).print(f"{rules} and {entities} loaded, {found}", highlight=False)
    return 1 if failed else 0


def cmd_rules_test(args: argparse.Namespace) -> int:
    from bot.cli_views import out, problems
    from bot.match.examples import run_examples
    from bot.rulebook.load import load_ruleset

    ruleset = load_ruleset(_rules_dir(args))
    problems(ruleset.errors)
    results = run_examples(ruleset)
    failures = [result for result in results if not result.passed]
    problems(failure.error() for failure in failures)
    passed = f"{len(results) - len(failures)}/{plural(len(results), 'example')}"
    out.print(f"{passed} {'passes' if len(results) == 1 else 'pass'} in {plural(len(ruleset.rules), 'rule')}")
    return 1 if failures or ruleset.errors else 0


def cmd_rules_backtest(args: argparse.Namespace) -> int:
    from bot import clock
    from bot.cli_views import problems, show_backtest
    from bot.config import parse_duration
    from bot.rulebook.backtest import backtest, draft_changes, with_rule_files
    from bot.rulebook.load import load_ruleset
    from bot.store.entries import entries_since
    from bot.store.stories import entry_stories

    config = _config(args)
    live = load_ruleset(config.rules_dir)
    ruleset, found = with_rule_files(live, [Path(name) for name in args.files])
    problems(found)
    if found:
        return 1
    since = clock.now() - parse_duration(args.since)

    async def stored(engine: AsyncEngine) -> tuple[list[StoredEntry], dict[int, int]]:
        return await entries_since(engine, since), await entry_stories(engine, since)

    entries, stories = _query(config, stored)
    drafts = {rule.id for rule in ruleset.rules if rule.path in set(args.files)} if args.files else None
    results = backtest(ruleset, entries, stories, drafts)
    changes = draft_changes(results, backtest(live, entries, stories, drafts)) if drafts else []
    show_backtest(results, changes, len(entries), args.since, args.show)
    return 0


def cmd_stories(args: argparse.Namespace) -> int:
    from bot import clock
    from bot.cli_views import show_stories
    from bot.config import parse_duration
    from bot.ingest.views import recent_stories

    config = _config(args)
    rule = _topic(config, args.topic) if args.topic else None
    since = clock.now() - parse_duration(args.since)
    found = _query(config, lambda engine: recent_stories(engine, since, config.stories, rule.id if rule else None))
    shown = [story for story in found if len(story.outlets) >= args.min_outlets]
    show_stories(shown, args.json, args.since, topic=rule.title if rule else None, min_outlets=args.min_outlets)
    return 0


def _topic(config: Config, wanted: str) -> Rule:
    """The rule a --topic names, by id or title (any case)."""
    from bot.rulebook.load import load_ruleset

    rules = load_ruleset(config.rules_dir).rules
    folded = wanted.strip().casefold()
    for rule in rules:
        if folded in (rule.id.casefold(), rule.title.casefold()):
            return rule
    known = ", ".join(rule.id for rule in rules) or f"none: {config.rules_dir} has no rules"
    raise UsageError(f"no topic {wanted!r} (topics by id or title; known: {known})")


def _text_entry(path: Path) -> Entry:
    """A text file as an entry: its first non-empty line is the title, the rest the body."""
    from bot.model import Entry

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    title, _, body = text.strip().partition("\n")
    return Entry(
        feed_url=path.resolve().as_uri(), outlet=path.name, url=path.resolve().as_uri(), title=title, summary=body
    )


def cmd_match(args: argparse.Namespace) -> int:
    from bot.cli_views import problems, show_matches
    from bot.match.matcher import Matcher
    from bot.rulebook.load import load_ruleset

    config = _config(args)
    ruleset = load_ruleset(config.rules_dir)
    problems(ruleset.errors)
    matcher = Matcher(ruleset)
    matched_any = False
    for name in args.files:
        entry = _text_entry(Path(name))
        matches = matcher.match(entry)
        matched_any |= bool(matches)
        show_matches(name, entry, matches, args.json)
    return 0 if matched_any else 1


def cmd_feeds_import(args: argparse.Namespace) -> int:
    from bot.cli_views import out, problems
    from bot.feeds.feeds_file import add_feeds
    from bot.feeds.opml import read_opml

    config = _config(args)
    source = Path(args.file)
    try:
        imported = read_opml(source.read_bytes(), str(source))
    except OSError as exc:
        raise UsageError(f"{source}: cannot read it ({exc.strerror})") from None
    problems(imported.skipped)
    target = config.feeds_file_path or Path("feeds.yaml")
    inline = {feed.url for feed in config.feeds}
    added = add_feeds(target, imported.feeds, inline)
    out.print(f"{plural(len(added), 'feed')} added to {target} ({len(imported.feeds) - len(added)} already there)")
    if config.feeds_file is None and config.config_file is None:
        out.print(f"Point your config at it with `feeds_file: {target}`.")
    return 0


def cmd_feeds_export(args: argparse.Namespace) -> int:
    from bot.feeds.opml import write_opml

    config = _config(args)
    sys.stdout.write(write_opml(config.feeds, _stored_titles(config)))
    return 0


def _stored_titles(config: Config) -> dict[str, str | None]:
    """The feeds' own titles as last polled, by URL, for feeds without a configured name (no database is
    created for it)."""
    from bot.store.db import database_exists
    from bot.store.feeds import load_states

    if all(feed.name for feed in config.feeds) or not database_exists(config.database_url):
        return {}
    return {state.url: state.title for state in _query(config, load_states)}


def cmd_status(args: argparse.Namespace) -> int:
    from bot import clock
    from bot.cli_views import problems, show_status
    from bot.config import parse_duration
    from bot.rulebook.load import load_ruleset
    from bot.status.health import health_report

    config = _config(args)
    since = clock.now() - parse_duration(args.since)
    show_status(_query(config, lambda engine: health_report(engine, since)), clock.now(), args.since)
    problems(load_ruleset(config.rules_dir).errors)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot", description="Media-monitoring alerts from RSS/Atom feeds, matched by rules you edit."
    )
    parser.add_argument("--version", action="version", version=f"newsbot {__version__}")
    _logging_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(
        name: str, help: str, handler: object, group: argparse._SubParsersAction | None = None
    ) -> argparse.ArgumentParser:
        sub = (group or commands).add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        _logging_options(sub, top=False)
        return sub

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("-c", "--config", help=f"config file (default: {CONFIG_SEARCH})")

    run = command("run", "run the bot: poll feeds on schedule, alert via Telegram or the terminal", cmd_run)
    with_config(run)
    poll = command("poll", "poll the feeds and print new alerts (also queued for Telegram; `run` sends them)", cmd_poll)
    with_config(poll)
    poll.add_argument("--once", action="store_true", help="one poll cycle, then exit")
    poll.add_argument("--json", action="store_true", help="one JSON object per alert per line")
    demo = command("demo", "poll the bundled demo feeds with the shipped rules and print the alerts", cmd_demo)
    demo.add_argument("--rules", help="rules folder (default: the starter rules that `newsbot init` writes)")
    init = command("init", "write a starter config.yaml and rules/ into a folder", cmd_init)
    init.add_argument("directory", nargs="?", default=".", metavar="DIR", help="where to write (default: here)")
    init.add_argument("--force", action="store_true", help="overwrite starter files that already exist")
    match = command("match", "show which rules match text files, and why", cmd_match)
    with_config(match)
    match.add_argument("files", nargs="+", metavar="FILE", help="text file: first line title, then body")
    match.add_argument("--json", action="store_true", help="one JSON object per match per line")

    rules = command("rules", "check and test rule files", None)
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
    back.add_argument("--show", type=int, default=10, help="latest alerts to list per rule (default 10)")
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

    status = command("status", "feed health and alert latency", cmd_status)
    with_config(status)
    status.add_argument("--since", default="7d", type=_period, help="latency over this period (default 7d)")
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
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r}: give 1 or more")
    return value


def _period(text: str) -> str:
    """A --since value, checked where it is read: a bad one is argparse's one-line usage error."""
    from bot.config import parse_duration

    try:
        parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


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
