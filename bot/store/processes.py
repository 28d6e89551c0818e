"""The processes sharing a PostgreSQL database: who they are, which roles they hold, when they last said so.

Each `newsbot run` on PostgreSQL writes its row at start and every heartbeat, and deletes it when it stops;
the row of a process that died stays until a live one forgets it. Status shows the rows; the roles
themselves are PostgreSQL's advisory locks (store/locks.py), so a row is a report, never the authority.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.tables import UTCDateTime, metadata

processes = sa.Table(
    "processes",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),
    sa.Column("host", sa.Text, nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("roles", sa.JSON, nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("heartbeat_at", UTCDateTime, nullable=False),
)


@dataclass(frozen=True, slots=True)
class ProcessRow:
    id: str
    host: str
    pid: int
    roles: tuple[str, ...]
    started_at: datetime
    heartbeat_at: datetime


async def beat(conn: AsyncConnection, row: ProcessRow) -> None:
    """Write this process's row: its roles and its heartbeat (the row is written anew if it was forgotten)."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    values = {
        "id": row.id,
        "host": row.host,
        "pid": row.pid,
        "roles": list(row.roles),
        "started_at": row.started_at,
        "heartbeat_at": row.heartbeat_at,
    }
    statement = dialect.insert(processes).values(values)
    changed = {"roles": statement.excluded.roles, "heartbeat_at": statement.excluded.heartbeat_at}
    await conn.execute(statement.on_conflict_do_update(index_elements=["id"], set_=changed))


async def leave(engine: AsyncEngine, process_id: str) -> None:
    async with engine.begin() as conn:
        await conn.execute(sa.delete(processes).where(processes.c.id == process_id))


async def forget_stale(conn: AsyncConnection, before: datetime) -> None:
    """Delete the rows of processes silent since before `before`."""
    await conn.execute(sa.delete(processes).where(processes.c.heartbeat_at < before))


async def list_processes(engine: AsyncEngine) -> list[ProcessRow]:
    """Every recorded process, oldest first."""
    async with engine.connect() as conn:
        rows = (await conn.execute(sa.select(processes).order_by(processes.c.started_at, processes.c.id))).all()
    return [
        ProcessRow(row.id, row.host, row.pid, tuple(row.roles), row.started_at, row.heartbeat_at) for row in rows
    ]
