"""Commands for the bot's operators (`telegram.admins`): health at a glance, rule activity, and reloading."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from bot import clock
from bot.chat.runtime import reply, rules_of, runtime_of
from bot.config import human_duration, relative_time
from bot.counts import plural
from bot.deliver.format import fit_message
from bot.logs import redact
from bot.status.health import FeedHealth, Latency, health_report
from bot.status.members import ProcessHealth, process_report, work_waiting
from bot.status.schedule import next_poll
from bot.store import outbox
from bot.store.alerts import alert_counts


def _latency(latency: Latency | None) -> str:
    if latency is None:
        return ""
    return f", latency p50 {human_duration(latency.p50)} / p95 {human_duration(latency.p95)}"


def _feed_line(feed: FeedHealth, now: datetime, notice_after: timedelta) -> str:
    rate = f", {feed.items_per_day:.0f}/day" if feed.items_per_day is not None else ""
    line = (
        f"• {escape(feed.name)}: ok {relative_time(feed.last_success_at, now)}{rate}{_latency(feed.latency)}; "
        f"next poll {next_poll(feed.next_poll_at, feed.why, now)}"
    )
    if feed.last_error:
        failing = now - (feed.failing_since or now)
        mark = "⚠ " if failing >= notice_after else ""
        line += f"\n  {mark}failing for {human_duration(failing)}: {escape(feed.last_error[:200])}"
    return line


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status (bot admins): each feed's last success, next poll, rate, latency and ongoing failure;
    latency per topic; rule-file errors; the outbox backlog; the processes sharing a PostgreSQL database."""
    runtime = runtime_of(context)
    now = clock.now()
    report = await health_report(runtime.engine, now - timedelta(days=7))
    notice_after = runtime.config.polling.outage_notice_after
    lines = ["<b>Feeds</b> (latency: publication to alert, last 7 days)"]
    lines += [_feed_line(feed, now, notice_after) for feed in report.feeds]
    if report.topics:
        lines.append("<b>Topics</b>")
        lines += [f"• {escape(rule_id)}{_latency(latency)}" for rule_id, latency in report.topics]
    errors = runtime.rulebook.current.ruleset.errors
    lines.append(f"<b>Rules</b>: {len(rules_of(context))} loaded, {len(errors)} with errors")
    lines += [f"• {escape(str(e))}" for e in errors[:20]]
    waiting = await outbox.queue_counts(runtime.engine)
    lines.append(
        f"<b>Outbox</b>: {waiting.get('pending', 0)} to send, {waiting.get('held', 0)} held for digests, "
        f"{waiting.get('failed', 0)} failed"
    )
    processes = await process_report(runtime.engine, now, runtime.config.cluster)
    if processes.processes:
        lines.append(f"<b>Processes</b> ({work_waiting(processes)})")
        lines += [_process_line(process, now) for process in processes.processes]
    await reply(update, redact(fit_message(lines)))  # feed errors may quote a URL that holds a key


def _process_line(health: ProcessHealth, now: datetime) -> str:
    process = health.process
    roles = ", ".join(process.roles) or "no role"
    beat = relative_time(process.heartbeat_at, now, seconds=True)
    mark = "⚠ stale, " if health.stale else ""
    return (
        f"• <code>{process.id}</code> {escape(process.host)} pid {process.pid}: {roles}, "
        f"polling {health.polling} feeds; {mark}heartbeat {beat}"
    )


async def rules(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/rules: every rule in force with its alerts over the last 24 hours and 7 days."""
    runtime = runtime_of(context)
    now = clock.now()
    day = await alert_counts(runtime.engine, now - timedelta(days=1))
    week = await alert_counts(runtime.engine, now - timedelta(days=7))
    lines = ["<b>Rules</b>: alerts in the last 24 h / 7 d"]
    lines += [
        f"• <code>{escape(rule.id)}</code> {escape(rule.title)}: {day.get(rule.id, 0)} / {week.get(rule.id, 0)}"
        for rule in rules_of(context)
    ]
    await reply(update, fit_message(lines))


async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload (bot admins): read the rule files again; a broken file is reported and its previous version
    keeps running."""
    ruleset = (await runtime_of(context).rulebook.reload()).ruleset
    found = (*ruleset.errors, *ruleset.warnings)
    problems = "".join(f"\n• {escape(str(e))}" for e in found[:20])
    await reply(
        update,
        f"Reloaded {plural(len(ruleset.rules), 'rule')}, {len(ruleset.errors)} with errors, "
        f"{plural(len(ruleset.warnings), 'warning')}.{problems}",
    )
