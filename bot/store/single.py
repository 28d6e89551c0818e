"""On SQLite, newsbot is one process: a second `run` or `poll` on the same database file refuses to start.

Two pollers on one SQLite file would both insert the same entries and fight over its write lock. The
guard is an exclusive OS lock (flock) on `<database>.lock` beside the file, held for the life of the
process: the kernel drops it however the process ends, even on kill -9, so a stale lock never blocks a
restart. (Several processes on PostgreSQL are another matter, not handled here.)
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy.engine import make_url

from bot.store.db import DatabaseError


def sqlite_file(url: str) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and in-memory databases."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite" or not parsed.database or parsed.database == ":memory:":
        return None
    return Path(parsed.database)


@contextmanager
def only_process(url: str) -> Iterator[None]:
    """Hold the SQLite file's process lock for the block; DatabaseError at once when another process has it."""
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
