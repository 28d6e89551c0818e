"""The complete schema: every module that defines tables is imported here, so Alembic and the
schema test see all of them through one `metadata`."""

# Importing these modules adds their tables to `metadata`.
from bot.store import chats, outbox, processes, surges, volume  # noqa: F401
from bot.store.tables import metadata

__all__ = ["metadata"]
