"""Several processes on one PostgreSQL database: feed claims, entries handed over for filing, the processes.

On SQLite (one process) the new columns stay empty and the new tables unused.

Revision ID: 0006
Revises: 0005
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(64)))
        batch.add_column(sa.Column("claim_expires", UTCDateTime))
    op.create_index("ix_feeds_next_poll_at", "feeds", ["next_poll_at"])
    op.create_table(
        "unfiled",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("feed_id", sa.Integer, nullable=False),
        sa.Column("key_hash", sa.String(64), nullable=False),
        sa.Column("key", sa.Text, nullable=False),
        sa.Column("guid", sa.Text),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("outlet", sa.Text, nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("content", sa.Text, nullable=False, server_default=""),
        sa.Column("published_at", UTCDateTime),
        sa.Column("language", sa.Text),
        sa.Column("author", sa.Text),
        sa.Column("seen_at", UTCDateTime, nullable=False),
        sa.Column("may_alert", sa.Boolean, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_unfiled"),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_unfiled_feed_id_feeds", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("feed_id", "key_hash", name="uq_unfiled_feed_key"),
    )
    op.create_table(
        "processes",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("host", sa.Text, nullable=False),
        sa.Column("pid", sa.Integer, nullable=False),
        sa.Column("roles", sa.JSON, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("heartbeat_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_processes"),
    )


def downgrade() -> None:
    op.drop_table("processes")
    op.drop_table("unfiled")
    op.drop_index("ix_feeds_next_poll_at", table_name="feeds")
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("claim_expires")
        batch.drop_column("claimed_by")
