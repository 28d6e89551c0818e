"""The `newsbot` command: the daemon, one-off polls, the demo, and tools for rule files.

Every failure a user can cause ends as one sentence on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TypeVar

from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine
from telegram.error import InvalidToken

from bot import __version__, clock, starter
from bot.app import delivery, poll_once, print_sink, run_daemon
from bot.cli_views import (
    err,
    out,
    poll_progress,
    problems,
    show_backtest,
    show_matches,
    show_poll_reports,
    show_status,
    show_stories,
)
from bot.config import Config, ConfigError, load_config, parse_duration
from bot.deliver.console import ConsoleSink
from bot.deliver.sink import Sink
from bot.demo.server import demo_config, serve_demo_feeds
from bot.feeds.feeds_file import add_feeds
from bot.feeds.opml import OpmlError, read_opml, write_opml
from bot.ingest.views import recent_stories
from bot.logs import setup_logging
from bot.match.examples import run_examples
from bot.match.matcher import Matcher
from bot.model import Entry
from bot.rulebook.backtest import backtest, with_rule_files
from bot.rulebook.load import load_ruleset
from bot.status.health import health_report
from bot.store.db import DatabaseError, database_reason, open_database
from bot.store.entries import entries_since

T = TypeVar("T")


class UsageError(Exception):
    """A problem with the command line or its files; the message is shown as is."""


def _query(config: Config, query: Callable[[AsyncEngine], Awaitable[T]]) -> T:
    """Run one store query for a command: open the database (migrating it if needed), query, close."""

    async def run() -> T:
        engine = await open_database(config.database_url)
        try:
            return await query(engine)
        finally:
            await engine.dispose()

    return asyncio.run(run())


def _config(args: argparse.Namespace) -> Config:
    return load_config(Path(args.config) if args.config else None)


def cmd_run(args: argparse.Namespace) -> int:
    config = _config(args)
    setup_logging(args.verbose, config.secrets())
    asyncio.run(run_daemon(config, delivery(config, None), front=True))
    return 0


def _poll_once(config: Config, sink: Sink, show_progress: bool) -> int:
    with poll_progress(len(config.feeds), show_progress) as advance:
        reports = asyncio.run(poll_once(config, sink, advance))
    return show_poll_reports(reports)


def cmd_poll(args: argparse.Namespace) -> int:
    config = _config(args)
    setup_logging(args.verbose, config.secrets(), quiet=args.once)
    if not config.feeds:
        raise UsageError("no feeds configured: add some under `feeds:` in the config file")
    # Alerts are printed, and also queued for Telegram subscribers and Apprise channels that `run` delivers.
    chosen = delivery(config, print_sink(args.json))
    if args.once:
        return _poll_once(config, chosen.sink, show_progress=not args.json)
    asyncio.run(run_daemon(config, chosen, front=False))
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    setup_logging(args.verbose, quiet=True)
    rules = Path(args.rules) if args.rules else starter.RULES
    if not rules.is_dir():
        raise UsageError(f"{rules}: no such rules folder")
    with tempfile.TemporaryDirectory(prefix="newsbot-demo-") as folder, serve_demo_feeds() as base_url:
        config = demo_config(base_url, Path(folder) / "demo.db", rules)
        err.print(f"Demo: {len(config.feeds)} bundled feeds served at {base_url}, rules from {rules}/", highlight=False)
        status = _poll_once(config, ConsoleSink(), show_progress=True)
    err.print(
        "Next: `newsbot init DIR` writes a config.yaml and these rules into DIR; add your feeds there and run "
        "`newsbot run -c DIR/config.yaml`."
    )
    return status


def cmd_init(args: argparse.Namespace) -> int:
    folder = Path(args.directory)
    try:
        written = starter.write_starter(folder, force=args.force)
    except starter.InitError as exc:
        raise UsageError(str(exc)) from None
    config = folder / starter.CONFIG_NAME
    out.print(f"Wrote {config} and {len(written) - 1} rule and entity files in {folder / 'rules'}.", highlight=False)
    out.print(f"Next: add your feeds to {config}, then `newsbot run -c {config}`.", highlight=False)
    return 0


def cmd_rules_check(args: argparse.Namespace) -> int:
    ruleset = load_ruleset(Path(args.directory))
    problems(ruleset.errors)
    entities = len(ruleset.gazetteer.entities)
    summary = f"{len(ruleset.rules)} rules and {entities} entities loaded, {len(ruleset.errors)} problems"
    (err if ruleset.errors else out).print(summary, highlight=False)
    return 1 if ruleset.errors else 0


def cmd_rules_test(args: argparse.Namespace) -> int:
    ruleset = load_ruleset(Path(args.directory))
    problems(ruleset.errors)
    results = run_examples(ruleset)
    failures = [result for result in results if not result.passed]
    problems(failure.error() for failure in failures)
    out.print(f"{len(results) - len(failures)}/{len(results)} examples pass in {len(ruleset.rules)} rules")
    return 1 if failures or ruleset.errors else 0


def cmd_rules_backtest(args: argparse.Namespace) -> int:
    config = _config(args)
    live = load_ruleset(config.rules_dir)
    ruleset, found = with_rule_files(live, [Path(name) for name in args.files])
    problems(found)
    if found:
        return 1
    since = clock.now() - parse_duration(args.since)
    entries = _query(config, lambda engine: entries_since(engine, since))
    only = {rule.id for rule in ruleset.rules if rule.path in set(args.files)} if args.files else None
    show_backtest(backtest(ruleset, entries, only), len(entries), args.since, args.show)
    return 0


def cmd_stories(args: argparse.Namespace) -> int:
    config = _config(args)
    since = clock.now() - parse_duration(args.since)
    stories = _query(config, lambda engine: recent_stories(engine, since, config.stories))
    show_stories(stories, args.json, args.since)
    return 0


def _text_entry(path: Path) -> Entry:
    """A text file as an entry: its first non-empty line is the title, the rest the body."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    title, _, body = text.strip().partition("\n")
    return Entry(
        feed_url=path.resolve().as_uri(), outlet=path.name, url=path.resolve().as_uri(), title=title, summary=body
    )


def cmd_match(args: argparse.Namespace) -> int:
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
    out.print(f"{len(added)} feeds added to {target} ({len(imported.feeds) - len(added)} already there)")
    if config.feeds_file is None and config.config_file is None:
        out.print(f"Point your config at it with `feeds_file: {target}`.")
    return 0


def cmd_feeds_export(args: argparse.Namespace) -> int:
    sys.stdout.write(write_opml(_config(args).feeds))
    return 0


def cmd_status(args: argparse.Namespace) -> int:
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
    parser.add_argument("-v", "--verbose", action="store_true", help="debug logging")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def command(name: str, help: str, handler: object) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, help=help, description=help)
        sub.set_defaults(handler=handler)
        return sub

    def with_config(sub: argparse.ArgumentParser) -> None:
        sub.add_argument("-c", "--config", help="config file (default: embedded defaults)")

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
    check = rule_commands.add_parser("check", help="validate rule files; problems as file:line: message")
    check.set_defaults(handler=cmd_rules_check)
    check.add_argument("directory", nargs="?", default="rules")
    test = rule_commands.add_parser("test", help="run the examples written in rule files")
    test.set_defaults(handler=cmd_rules_test)
    test.add_argument("directory", nargs="?", default="rules")
    back = rule_commands.add_parser(
        "backtest", help="what rules (including edited files not yet live) would have alerted on stored entries"
    )
    back.set_defaults(handler=cmd_rules_backtest)
    with_config(back)
    back.add_argument("--since", default="7d", type=_period, help="stored entries of this period (default 7d)")
    back.add_argument("--show", type=int, default=10, help="latest matches to list per rule (default 10)")
    back.add_argument("files", nargs="*", metavar="RULE_FILE", help="edited rule files to try instead of the live ones")

    feeds = command("feeds", "import or export the feed list as OPML", None)
    feed_commands = feeds.add_subparsers(dest="feeds_command", required=True, metavar="ACTION")
    opml_in = feed_commands.add_parser("import", help="add the feeds of an OPML file to feeds.yaml")
    opml_in.set_defaults(handler=cmd_feeds_import)
    with_config(opml_in)
    opml_in.add_argument("file", metavar="FILE.opml")
    opml_out = feed_commands.add_parser("export", help="print the configured feeds as OPML")
    opml_out.set_defaults(handler=cmd_feeds_export)
    with_config(opml_out)

    stories = command("stories", "stories with their outlets, credits and origin", cmd_stories)
    with_config(stories)
    stories.add_argument("--since", default="2d", type=_period, help="stories that grew in this period (default 2d)")
    stories.add_argument("--json", action="store_true", help="one JSON object per story per line")

    status = command("status", "feed health and alert latency", cmd_status)
    with_config(status)
    status.add_argument("--since", default="7d", type=_period, help="latency over this period (default 7d)")
    return parser


def _period(text: str) -> str:
    """A --since value, checked where it is read: a bad one is argparse's one-line usage error."""
    try:
        parse_duration(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    return text


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except (ConfigError, DatabaseError, OpmlError, UsageError) as exc:
        err.print(f"newsbot: {exc}", style="red", markup=False, highlight=False)
        return 2
    except DBAPIError as exc:
        err.print(f"newsbot: {database_reason(exc)}", style="red", markup=False, highlight=False)
        return 2
    except InvalidToken:
        err.print("newsbot: Telegram refused the bot token; check telegram.token", style="red", markup=False)
        return 2
    except KeyboardInterrupt:
        return 130
