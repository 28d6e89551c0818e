"""Opening the database: async engine for SQLite or PostgreSQL, brought up to date by Alembic; on SQLite,
one process per database file."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, inspect, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from bot.store.locks import Lock, take_turn

MIGRATIONS = Path(__file__).parent / "migrations"
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message says which and why."""


IDLE_IN_TRANSACTION_MS = 30_000
"""PostgreSQL ends a transaction left open this long without a statement (a process paused or frozen inside
it), so the row and step locks it holds never stop the other processes for longer."""

MAX_PARAMETERS = 30_000
"""Values bound in one statement, at most: asyncpg refuses more than 32,767 and SQLite 32,766."""


def async_url(url: str) -> str:
    """Swap a plain `sqlite://` or `postgresql://` URL to its asyncio driver."""
    parsed = make_url(url)
    driver = _ASYNC_DRIVERS.get(parsed.drivername)
    return parsed.set(drivername=driver).render_as_string(hide_password=False) if driver else url


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


_STORABLE = {0: None, **{code: 0xFFFD for code in range(0xD800, 0xE000)}}


def storable(value: str) -> str:
    """`value` as both databases take it: NULs dropped (PostgreSQL refuses them), lone surrogates (which UTF-8
    cannot encode) replaced by U+FFFD. Parsers clean feed text already; this covers everything else."""
    if "\x00" not in value:
        try:
            value.encode("utf-8")
            return value
        except UnicodeEncodeError:
            pass
    return value.translate(_STORABLE)


def _storable_parameters(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, tuple | list):
        return type(value)(_storable_parameters(item) for item in value)
    if isinstance(value, dict):
        return {key: _storable_parameters(item) for key, item in value.items()}
    return value


def _clean_parameters(
    conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
) -> tuple[str, Any]:
    """Every string bound to any statement made storable, so no text from anywhere can fail a transaction."""
    return statement, _storable_parameters(parameters)


def describe_error(error: BaseException) -> str:
    """One sentence for an unexpected error while polling or storing: the database's own first line for
    database errors (never the SQL and its parameters), the type and first line for anything else."""
    if isinstance(error, DBAPIError):
        return f"{database_reason(error)}; nothing of this poll was stored"
    return f"internal error: {type(error).__name__}" + (f": {_first_line(error)}" if _first_line(error) else "")


_REFUSALS = {
    "53100": "the database is full",
    "25006": "the database is read-only",
}
"""PostgreSQL's SQLSTATEs for a disk full and a read-only transaction."""


def refusal(error: BaseException) -> str | None:
    """"the database is full" or "the database is read-only" when `error` is the database refusing a write
    for want of room or permission (it still answers reads); None for anything else."""
    if not isinstance(error, DBAPIError):
        return None
    sqlstate = getattr(error.orig, "sqlstate", None)
    if sqlstate in _REFUSALS:
        return _REFUSALS[sqlstate]
    text = str(error.orig).lower()
    if "database or disk is full" in text or "no space left on device" in text:
        return "the database is full"
    if "readonly database" in text or "read-only" in text:
        return "the database is read-only"
    return None


def failure_reason(error: BaseException) -> str:
    """`describe_error` without the words about a poll: for the heartbeat, the outbox and the roles' loops."""
    return database_reason(error) if isinstance(error, DBAPIError) else describe_error(error)


def database_reason(error: DBAPIError) -> str:
    """A database error's own first line (never the SQL and its parameters), in words for a locked SQLite file."""
    reason = (_first_line(error.orig) if error.orig is not None else "") or type(error.orig).__name__
    if "database is locked" in reason:
        return "the database is locked by another program (waited 10 s)"
    return f"database error: {reason}"


def _first_line(error: object) -> str:
    text = str(error).strip()
    return text.splitlines()[0] if text else ""


def newest_revision() -> str:
    """The head revision, read from the file names (versions/NNNN_what.py holds revision "NNNN"; a test
    holds that to what alembic finds)."""
    return max(path.name.split("_", 1)[0] for path in (MIGRATIONS / "versions").glob("[0-9]*_*.py"))


def _upgrade(connection: Connection) -> None:
    """Bring the schema to the newest revision. An up-to-date database, every start but the first, is
    seen with one query and never imports alembic (0.15 s of every command's start)."""
    if inspect(connection).has_table("alembic_version"):
        stamped = connection.execute(text("SELECT version_num FROM alembic_version")).scalars().all()
        if stamped == [newest_revision()]:
            return
    from alembic import command
    from alembic.config import Config as AlembicConfig

    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")


def database_exists(url: str) -> bool:
    """False only for a SQLite file that is not there yet: read-only commands need not create one."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return True
    return Path(parsed.database).exists()


def create_engine(url: str) -> AsyncEngine:
    """An engine for `url`; a SQLite file's folder is created on first use."""
    engine_url = make_url(async_url(url))
    if engine_url.get_backend_name() == "sqlite":
        if engine_url.database and engine_url.database != ":memory:":
            Path(engine_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(engine_url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        settings = {"idle_in_transaction_session_timeout": str(IDLE_IN_TRANSACTION_MS)}
        engine = create_async_engine(engine_url, pool_pre_ping=True, connect_args={"server_settings": settings})
    event.listen(engine.sync_engine, "before_cursor_execute", _clean_parameters, retval=True)
    return engine


async def open_database(url: str) -> AsyncEngine:
    """Connect and apply pending migrations; nothing stored is touched except by a migration. Processes
    starting together on one PostgreSQL database migrate it in turn (the later ones find nothing to do)."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await take_turn(connection, Lock.SETUP)
            await connection.run_sync(_upgrade)
    except Exception as exc:
        await engine.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        reason = database_reason(exc) if isinstance(exc, DBAPIError) else _first_line(exc) or type(exc).__name__
        raise DatabaseError(f"cannot open database {shown}: {reason}") from exc
    return engine


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


@contextmanager
def only_process(url: str) -> Iterator[None]:
    """On SQLite, hold the database file's process lock for the block; DatabaseError at once when another
    process has it. Two processes on one SQLite file would both insert the same entries and fight over its
    write lock. The lock is an exclusive flock on `<database>.lock`, which the kernel drops however the
    process ends, even on kill -9, so a stale lock never blocks a restart."""
    database = sqlite_file(url)
    if database is None:
        yield
        return
    database.parent.mkdir(parents=True, exist_ok=True)
    lock = database.with_name(database.name + ".lock")
    handle = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(handle, 32, 0).decode(errors="replace").strip() or "unknown"
            raise DatabaseError(
                f"another newsbot (pid {holder}) is already using {database}; stop it first, "
                "or give this one its own database"
            ) from None
        os.ftruncate(handle, 0)
        os.pwrite(handle, str(os.getpid()).encode(), 0)
        yield
    finally:
        os.close(handle)
