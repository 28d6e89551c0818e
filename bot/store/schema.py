"""The complete schema: every module that defines tables is imported here, so Alembic and the
schema test see all of them through one `metadata`."""

from bot.store.tables import metadata

__all__ = ["metadata"]
