"""Opening the database: async engine for SQLite or PostgreSQL, brought up to date by Alembic."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config as AlembicConfig
from sqlalchemy import event
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

MIGRATIONS = Path(__file__).parent / "migrations"
_ASYNC_DRIVERS = {"sqlite": "sqlite+aiosqlite", "postgresql": "postgresql+asyncpg"}


class DatabaseError(Exception):
    """The database cannot be opened or migrated; the message says which and why."""


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


def _upgrade(connection: Connection) -> None:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "heads")


def create_engine(url: str) -> AsyncEngine:
    """An engine for `url`; a SQLite file's folder is created on first use."""
    engine_url = make_url(async_url(url))
    if engine_url.get_backend_name() == "sqlite":
        if engine_url.database and engine_url.database != ":memory:":
            Path(engine_url.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(engine_url)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(engine_url, pool_pre_ping=True)


async def open_database(url: str) -> AsyncEngine:
    """Connect and apply pending migrations; nothing stored is touched except by a migration."""
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.run_sync(_upgrade)
    except Exception as exc:
        await engine.dispose()
        shown = make_url(url).render_as_string(hide_password=True)
        raise DatabaseError(f"cannot open database {shown}: {exc}") from exc
    return engine
