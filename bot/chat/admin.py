"""Commands for the bot's operators (`telegram.admins`): health at a glance, and reloading rule files."""

from __future__ import annotations

from html import escape

from telegram import Update
from telegram.ext import ContextTypes

from bot.chat.runtime import reply, rules_of, runtime_of
from bot.deliver.format import when
from bot.store import outbox
from bot.store.feeds import load_states


async def status(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/status (bot admins): each feed's last success, last error and next poll; rule errors; outbox."""
    runtime = runtime_of(context)
    lines = ["<b>Feeds</b>"]
    for feed in await load_states(runtime.engine):
        line = f"• {escape(feed.name)}: ok {when(feed.last_success_at)}, next {when(feed.next_poll_at)}"
        if feed.last_error:
            line += f"\n  error {when(feed.last_error_at)}: {escape(feed.last_error[:200])}"
        lines.append(line)
    errors = runtime.rulebook.current.ruleset.errors
    lines.append(f"<b>Rules</b>: {len(rules_of(context))} loaded, {len(errors)} with errors")
    lines += [f"• {escape(str(e))}" for e in errors[:20]]
    waiting = await outbox.backlog(runtime.engine)
    lines.append(
        f"<b>Outbox</b>: {waiting.get('pending', 0)} to send, {waiting.get('held', 0)} held for digests, "
        f"{waiting.get('failed', 0)} failed"
    )
    text = "\n".join(lines)
    await reply(update, text if len(text) < 4000 else text[:3990].rsplit("\n", 1)[0])


async def reload(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/reload (bot admins): read the rule files again; a broken file is reported and its previous version
    keeps running."""
    ruleset = (await runtime_of(context).rulebook.reload()).ruleset
    problems = "".join(f"\n• {escape(str(e))}" for e in ruleset.errors[:20])
    await reply(update, f"Reloaded {len(ruleset.rules)} rules, {len(ruleset.errors)} with errors.{problems}")
