"""Issue 20, item 8: every chat handler answers bad input in one sentence. Hypothesis writes commands with
hostile arguments and forged button data (why:, why:s, sub:, unsub: followed by anything); each goes
through the strict fake Bot API to the real front (PTB Application, SQLite store, rule files), and each must
get its answer, with no handler error (an error handler records any).

The front runs on an event loop in a thread of its own for the whole test, so hypothesis (synchronous)
drives one front across all its examples; each example writes from a chat of its own, so the per-chat
command quota never drops one.
"""

from __future__ import annotations

import asyncio
import itertools
import shutil
import threading
from collections.abc import Awaitable, Iterator
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from telegram.ext import Application, ContextTypes

from bot.chat.front import build_application
from bot.chat.handlers import COMMANDS, SORRY
from bot.config import Config, TelegramConfig
from bot.rulebook.book import RuleBook
from bot.store.db import open_database
from tests.chat.test_handlers import RULES, ChatRuntime
from tests.e2e.fake_botapi import FakeBotApi, FakeLimits

T = TypeVar("T")
NASTY = [
    "²", "٣", "99999999999999999999999", "-1", "0", "1e9", "<b>", "&amp;", "</i>", "\u202e", "\ud7ff", "all",
    "9999999w", "1d", "troop-deployment", "s1", "s99999999999999999999999", "%s", "{0}", "\\", "'", '"',
]  # fmt: skip
words = st.one_of(st.sampled_from(NASTY), st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20))
arguments = st.lists(words, max_size=4).map(" ".join)
long_argument = st.integers(1, 4000).map(lambda n: "x" * n)
button_data = (
    st.tuples(st.sampled_from(["why:", "why:s", "sub:", "unsub:"]), words)
    .map("".join)
    .filter(lambda data: len(data.encode()) <= 64)
)


class Front:
    """The front on its own event loop thread."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp_path = tmp_path
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.errors: list[BaseException] = []
        self.chats = itertools.count(10_000)
        self.api: FakeBotApi
        self.app: Application  # type: ignore[type-arg]

    def run(self, coroutine: Awaitable[T], timeout: float = 30) -> T:
        future: Future[T] = asyncio.run_coroutine_threadsafe(coroutine, self.loop)  # type: ignore[arg-type]
        return future.result(timeout)

    async def _record(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        assert context.error is not None
        self.errors.append(context.error)

    async def start(self) -> None:
        rules = self.tmp_path / "rules"
        shutil.copytree(RULES, rules)
        self.api = await FakeBotApi(limits=FakeLimits(private_burst=1000, global_per_second=1000)).__aenter__()
        telegram = TelegramConfig(token=self.api.token, base_url=self.api.base_url, admins=[99])
        config = Config(database=f"sqlite:///{self.tmp_path / 'bot.db'}", rules=rules, telegram=telegram)
        self.engine = await open_database(config.database)
        self.app = build_application(ChatRuntime(config, self.engine, RuleBook.load(rules)))
        self.app.add_error_handler(self._record)
        await self.app.initialize()
        await self.app.start()
        assert self.app.updater is not None
        await self.app.updater.start_polling(poll_interval=0, timeout=1)

    async def stop(self) -> None:
        assert self.app.updater is not None
        await self.app.updater.stop()
        await self.app.stop()
        await self.app.shutdown()
        await self.engine.dispose()
        await self.api.__aexit__(None, None, None)

    async def command(self, text: str) -> str:
        """A new private chat sends `text`; the bot's answer."""
        self.errors.clear()
        chat = next(self.chats)
        self.api.private_chat(chat)
        await self.api.user_says(chat, chat, text)
        await self.api.wait_until(lambda: bool(self.api.sent(chat) or self.errors), timeout=20)
        return self.api.sent(chat)[-1].text if self.api.sent(chat) else ""

    async def press(self, data: str) -> Any:
        """A new private chat gets /start's answer and presses a forged button under it; the bot's answer."""
        self.errors.clear()
        chat = next(self.chats)
        self.api.private_chat(chat)
        await self.api.user_says(chat, chat, "/start")
        await self.api.wait_until(lambda: bool(self.api.sent(chat)), timeout=20)
        query = await self.api.press(chat, chat, self.api.sent(chat)[0].message_id, data, forged=True)
        await self.api.wait_until(lambda: query in self.api.answered or bool(self.errors), timeout=20)
        await self.api.wait_until(lambda: len(self.api.sent(chat)) > 1 or "text" in self.api.answered[query], 5)
        return self.api.sent(chat)[-1].text if len(self.api.sent(chat)) > 1 else self.api.answered[query]["text"]


@pytest.fixture(scope="module")
def front(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Front]:
    running = Front(tmp_path_factory.mktemp("fuzz-front"))
    running.thread.start()
    running.run(running.start())
    try:
        yield running
    finally:
        running.run(running.stop())
        running.loop.call_soon_threadsafe(running.loop.stop)
        running.thread.join(10)


FUZZ = settings(deadline=None, max_examples=120, suppress_health_check=list(HealthCheck))


@FUZZ
@given(name=st.sampled_from([name for name, _ in COMMANDS]), args=st.one_of(arguments, long_argument))
def test_every_command_answers_any_argument_in_one_sentence(front: Front, name: str, args: str) -> None:
    answer = front.run(front.command(f"/{name} {args}".strip()))
    assert not front.errors, f"/{name} {args!r}: {front.errors!r}"
    assert answer and answer != SORRY


@FUZZ
@given(data=button_data)
def test_every_forged_button_gets_an_answer(front: Front, data: str) -> None:
    answer = front.run(front.press(data))
    assert not front.errors, f"{data!r}: {front.errors!r}"
    assert answer and answer != SORRY


@pytest.mark.parametrize("text", ["/why ²", "/why 99999999999999999999999", "/why -5", "/why 12abc"])
def test_odd_alert_numbers_are_one_sentence(front: Front, text: str) -> None:
    answer = front.run(front.command(text))
    assert not front.errors and answer.startswith("No alert number ") and answer.endswith(" was sent to this chat.")


@pytest.mark.parametrize("data", ["why:s99999999999999999999999", "why:s²", "why:99999999999999999999999", "why:s"])
def test_forged_why_buttons_are_one_sentence(front: Front, data: str) -> None:
    answer = front.run(front.press(data))
    assert not front.errors and answer.endswith("sent to this chat."), answer
