"""What each `newsbot` command does: read the config, call the app or the store, print through cli_views.

Heavy libraries are imported inside each command, so that `newsbot --help` and `rules check` start at once.
"""

from __future__ import annotations

import argparse
import gc
import logging
import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from bot.counts import plural

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.app import Delivery
    from bot.config import Config
    from bot.deliver.sink import Sink
    from bot.match.rules import Rule
    from bot.model import Entry, StoredEntry
    from bot.status.health import HealthReport
    from bot.status.members import ProcessReport

T = TypeVar("T")
log = logging.getLogger(__name__)


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
    from bot.config_file import find_config, load_config
    from bot.logs import hide_secrets

    config = load_config(find_config(Path(args.config) if args.config else None))
    hide_secrets(config.secrets(), config.secret_urls())
    return config


def _no_config_file(config: Config) -> None:
    """Refuse a command that needs feeds when there are none and no config file was found at all."""
    from bot.config_file import where_config_was_sought

    if config.config_file is None and not config.feeds:
        raise UsageError(
            f"no feeds configured: no config file found ({where_config_was_sought()}); "
            "`newsbot init` writes one, or name yours with -c FILE"
        )


def _where_alerts_go(config: Config, chosen: Delivery) -> str:
    """One sentence for the start of `run` and `poll`: Telegram (with a token) or this terminal, and Apprise."""
    where = f"telegram.token in {config.config_file}" if config.config_file else "telegram.token"
    if chosen.telegram is None:
        said = (
            f"alerts are printed here: no Telegram token is set ({where}; the starter config reads it from "
            "$TELEGRAM_BOT_TOKEN)"
        )
    else:
        said = "alerts go to the Telegram chats that subscribe to their topics (send /start to the bot)"
    if config.apprise:
        said += f", and to {plural(len(config.apprise), 'Apprise channel')}"
    return said


def cmd_run(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import delivery
    from bot.daemon import run_daemon

    config = _config(args)
    _no_config_file(config)
    chosen = delivery(config, None)
    log.info("%s", _where_alerts_go(config, chosen))
    asyncio.run(run_daemon(config, chosen, front=True))
    return 0


def _poll_once(config: Config, sink: Sink, show_progress: bool) -> int:
    """One poll cycle; the exit status: 0 when every feed was polled, 1 when any failed."""
    import asyncio

    from bot.app import poll_once
    from bot.cli_views import poll_progress, show_poll_reports

    with poll_progress(len(config.feeds), show_progress) as advance:
        reports = asyncio.run(poll_once(config, sink, advance))
    return show_poll_reports(reports, config)


def cmd_poll(args: argparse.Namespace) -> int:
    import asyncio

    from bot.app import delivery, print_sink
    from bot.daemon import run_daemon

    config = _config(args)
    _no_config_file(config)
    if not config.feeds:
        raise UsageError(f"no feeds configured: add some under `feeds:` in {config.config_file}")
    # Alerts are printed, and also queued for Telegram subscribers and Apprise channels that `run` delivers.
    chosen = delivery(config, print_sink(args.json))
    if args.once:
        return _poll_once(config, chosen.sink, show_progress=not args.json)
    log.info("alerts are printed here%s", "; `newsbot run` sends them to Telegram" if chosen.telegram else "")
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
    """DIR when given, else the rules folder of the config (see _config); a missing folder is a usage error
    that says where the folder was taken from and how to name another."""
    if args.directory:
        folder = Path(args.directory)
        if not folder.is_dir():
            raise UsageError(f"{folder}: no such rules folder")
        return folder
    config = _config(args)
    folder = config.rules_dir
    if not folder.is_dir():
        source = f"the `rules` of {config.config_file}" if config.config_file else "no config file was found"
        raise UsageError(
            f"{folder}: no such rules folder ({source}); name the folder (`newsbot rules {args.rules_command} DIR`) "
            "or a config with -c FILE; `newsbot init` writes both"
        )
    return folder


def _stored(args: argparse.Namespace, config: Config) -> bool:
    """For a command that only reads what was stored: without a config file it is refused (as `poll` is), and
    before the first poll it says so instead of creating an empty database (False: nothing to read)."""
    from sqlalchemy.engine import make_url

    from bot.cli_views import err
    from bot.store.db import database_exists

    _no_config_file(config)
    if database_exists(config.database_url):
        return True
    flag = f" -c {args.config}" if args.config else ""
    err.print(
        f"nothing polled yet: there is no database at {make_url(config.database_url).database}; "
        f"`newsbot poll{flag} --once` or `newsbot run{flag}` makes it",
        highlight=False,
        markup=False,
    )
    return False


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
    if not _stored(args, config):
        return 0
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
    from bot.status.story_views import recent_stories

    config = _config(args)
    rule = _topic(config, args.topic) if args.topic else None
    if not _stored(args, config):
        return 0
    since = clock.now() - parse_duration(args.since)
    found = _query(config, lambda engine: recent_stories(engine, since, config.stories, rule.id if rule else None))
    shown = [story for story in found if len(story.outlets) >= args.min_outlets]
    show_stories(shown, args.json, args.since, topic=rule.title if rule else None, min_outlets=args.min_outlets)
    return 0


def _topic(config: Config, wanted: str) -> Rule:
    """The rule a --topic names, by id or title (any case)."""
    (rule,) = _topics(config, [wanted])
    return rule


def _topics(config: Config, names: Sequence[str]) -> list[Rule]:
    """The rules these names name, by id or title (any case), in their order."""
    from bot.rulebook.load import load_ruleset

    rules = load_ruleset(config.rules_dir).rules
    found = []
    for wanted in names:
        folded = wanted.strip().casefold()
        rule = next((rule for rule in rules if folded in (rule.id.casefold(), rule.title.casefold())), None)
        if rule is None:
            known = ", ".join(rule.id for rule in rules) or f"none: {config.rules_dir} has no rules"
            raise UsageError(f"no topic {wanted!r} (topics by id or title; known: {known})")
        found.append(rule)
    return found


def cmd_trend(args: argparse.Namespace) -> int:
    from bot import clock
    from bot.cli_views import out, show_trend
    from bot.config import parse_duration
    from bot.trends.series import load_trend

    config = _config(args)
    topics = {rule.id: rule.title for rule in _topics(config, args.topics)}
    period = parse_duration(args.since)
    until = args.until or clock.now()
    trend = _query(config, lambda engine: load_trend(engine, topics, period, until, config.spikes))
    period_text = f"the {args.since} before {until:%Y-%m-%d %H:%M} UTC" if args.until else f"the last {args.since}"
    if args.png is None:
        show_trend(trend, period_text)
        return 0
    from bot.trends.chart import render_png

    target = Path(args.png)
    try:
        target.write_bytes(render_png(trend, ", ".join(topics.values())))
    except OSError as exc:
        raise UsageError(f"{target}: cannot write the chart ({exc.strerror})") from None
    shown = plural(sum(topic.total for topic in trend.topics), "story", "stories")
    out.print(f"Wrote {target}: {shown} in {period_text}.", markup=False, highlight=False)
    return 0


def _text_entry(path: Path) -> Entry:
    """A text file as an entry: its first non-empty line is the title, the rest the body."""
    from bot.model import Entry

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{path}: cannot read it as UTF-8 text ({exc})") from None
    title, _, body = text.strip().partition("\n")
    uri = path.resolve().as_uri()
    return Entry(feed_url=uri, outlet=path.name, url=uri, title=title, summary=body)


def cmd_match(args: argparse.Namespace) -> int:
    from bot.cli_views import problems, show_matches
    from bot.match.matcher import Matcher
    from bot.rulebook.load import load_ruleset

    config = _config(args)
    ruleset = load_ruleset(config.rules_dir)
    problems(ruleset.errors)
    matcher = Matcher(ruleset)
    gc.freeze()  # the compiled rules stay until the end: the collector need not rescan them (match/gc_pause.py)
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
    sys.stdout.write(write_opml(config.feeds, _stored_titles(config), as_written=config.as_written))
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
    from bot.cli_views import problems, show_processes, show_status
    from bot.config import parse_duration
    from bot.rulebook.load import load_ruleset
    from bot.status.health import health_report
    from bot.status.members import process_report

    config = _config(args)
    if not _stored(args, config):
        return 0
    since = clock.now() - parse_duration(args.since)

    async def reports(engine: AsyncEngine) -> tuple[HealthReport, ProcessReport]:
        return await health_report(engine, since), await process_report(engine, clock.now(), config.cluster)

    health, processes = _query(config, reports)
    show_status(health, clock.now(), args.since, wide=args.wide)
    show_processes(processes, clock.now(), wide=args.wide)
    problems(load_ruleset(config.rules_dir).errors)
    return 0


