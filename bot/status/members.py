"""The processes sharing a PostgreSQL database, for `newsbot status` and /status: their roles, their last
heartbeat (a process silent for three heartbeats is stale: dead, or cut off), the feeds each is polling,
and how many handed-over entries wait for the ingest holder."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncEngine

from bot.config import ClusterConfig
from bot.counts import plural
from bot.store.claims import claims_by_owner
from bot.store.processes import ProcessRow, list_processes
from bot.store.unfiled import unfiled_count
from bot.store.untold import untold_count


@dataclass(frozen=True, slots=True)
class ProcessHealth:
    """A process as recorded, with the feeds it is polling now and whether it has gone silent."""

    process: ProcessRow
    polling: int
    stale: bool


@dataclass(frozen=True, slots=True)
class ProcessReport:
    processes: tuple[ProcessHealth, ...]
    unfiled: int
    untold: int


async def process_report(engine: AsyncEngine, now: datetime, settings: ClusterConfig) -> ProcessReport:
    """Every recorded process, oldest first (on SQLite the one `run`), and the work waiting between them."""
    claims = await claims_by_owner(engine)
    processes = tuple(
        ProcessHealth(
            row, polling=claims.get(row.id, 0), stale=now - row.heartbeat_at > settings.stale_after
        )
        for row in await list_processes(engine)
    )
    return ProcessReport(processes, await unfiled_count(engine), await untold_count(engine))


def work_waiting(report: ProcessReport) -> str:
    """The work waiting between the roles, in words."""
    unfiled = plural(report.unfiled, "fetched entry waits", "fetched entries wait")
    untold = plural(report.untold, "filed story waits", "filed stories wait")
    return f"{unfiled} to be filed, {untold} to be told"
