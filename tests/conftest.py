"""Shared fixtures: real databases (a SQLite file, and PostgreSQL when NEWSBOT_TEST_PG_URL is set).

Outside CI a test whose PostgreSQL server or corpus (../shared/corpus) is absent skips with the reason; under
CI (the CI environment variable set) it fails instead, so a green CI always includes those tests.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import NoReturn

import pytest
import sqlalchemy as sa
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store.db import async_url, open_database
from tests.feedserver import FeedServer

SEEDS = Path(__file__).parent / "fixtures" / "seeds"
CORPUS = Path(__file__).resolve().parents[2] / "shared" / "corpus"
PG_URL_VARIABLE = "NEWSBOT_TEST_PG_URL"


def missing(reason: str) -> NoReturn:
    """Skip for a missing part; under CI, fail: CI must never go green without the parts its tests need."""
    if os.environ.get("CI"):
        pytest.fail(f"{reason}, and CI must run this test", pytrace=False)
    pytest.skip(reason)


CORPUS_ABSENT = "corpus not present at"


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> Iterator[None]:
    """One line just above the counts (below the list of skips) for the tests the corpus's absence skipped:
    "37 skipped" alone left a newcomer guessing why, and where the corpus comes from."""
    yield
    skipped = terminalreporter.stats.get("skipped", [])
    absent = sum(CORPUS_ABSENT in str(report.longrepr) for report in skipped)
    if absent:
        what = "files missing from the corpus" if CORPUS.exists() else "no corpus"
        terminalreporter.write_line(
            f'{absent} skipped: {what} at {CORPUS}, the folder beside the checkout (README, "Try it", says what '
            "it holds and where it comes from)"
        )


def corpus_path(*parts: str) -> Path:
    """A path inside ../shared/corpus, or a clean skip where the corpus is absent (a failure under CI)."""
    path = CORPUS.joinpath(*parts)
    if not path.exists():
        missing(f"{CORPUS_ABSENT} {path}")
    return path


async def _create_pg_database(admin_url: str) -> str:
    """A fresh, empty PostgreSQL database for one test; returns its URL."""
    name = f"newsbot_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(async_url(admin_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    await admin.dispose()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def _drop_pg_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    admin = create_async_engine(async_url(admin_url), isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await admin.dispose()


@asynccontextmanager
async def _pg_database() -> AsyncIterator[str]:
    """A fresh PostgreSQL database for one test, dropped after it; a clean skip where there is no server."""
    admin_url = os.environ.get(PG_URL_VARIABLE)
    if not admin_url:
        missing(f"PostgreSQL tests need {PG_URL_VARIABLE} (e.g. postgresql://postgres@127.0.0.1:5432/test)")
    try:
        url = await _create_pg_database(admin_url)
    except (OSError, sa.exc.OperationalError, sa.exc.InterfaceError) as exc:
        missing(f"PostgreSQL at {admin_url} is not reachable ({exc.__class__.__name__})")
    try:
        yield url
    finally:
        await _drop_pg_database(admin_url, url)


@pytest.fixture(params=["sqlite", "postgresql"])
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL of an empty database: a SQLite file, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'newsbot.db'}"
        return
    async with _pg_database() as url:
        yield url


@pytest.fixture
async def pg_url() -> AsyncIterator[str]:
    """A URL of an empty PostgreSQL database (what several processes share)."""
    async with _pg_database() as url:
        yield url


@asynccontextmanager
async def _migrated(url: str) -> AsyncIterator[AsyncEngine]:
    engine = await open_database(url)
    try:
        yield engine
    finally:
        await engine.dispose()


@pytest.fixture
async def pg_engine(pg_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated PostgreSQL engine."""
    async with _migrated(pg_url) as engine:
        yield engine


@pytest.fixture
async def engine(database_url: str) -> AsyncIterator[AsyncEngine]:
    """A migrated database engine on SQLite and on PostgreSQL."""
    async with _migrated(database_url) as engine:
        yield engine


@pytest.fixture
async def feed_server() -> AsyncIterator[FeedServer]:
    """A live RSS server on 127.0.0.1 (see tests/feedserver.py)."""
    server = await FeedServer().start()
    try:
        yield server
    finally:
        await server.close()


class Webhook:
    """Receives Apprise's json:// notifications; answers 500 while `failing` is set."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.failing = 0
        self.port = 0

    async def handle(self, request: web.Request) -> web.Response:
        if self.failing:
            self.failing -= 1
            return web.Response(status=500)
        self.received.append(await request.json())
        return web.Response(text="ok")


@pytest.fixture
async def webhook() -> AsyncIterator[Webhook]:
    hook = Webhook()
    app = web.Application()
    app.router.add_post("/hook", hook.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    hook.port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    yield hook
    await runner.cleanup()
