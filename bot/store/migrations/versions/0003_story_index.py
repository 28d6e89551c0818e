"""Stories at scale: each entry keeps its story features and credits; merged stories point to the survivor.

Revision ID: 0003
Revises: 0002
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("entries") as batch:
        batch.add_column(sa.Column("story_features", sa.LargeBinary))
        batch.add_column(sa.Column("credits", sa.JSON))
        batch.add_column(sa.Column("story_closed", sa.Boolean, nullable=False, server_default=sa.false()))
    op.create_table(
        "story_merges",
        sa.Column("story_id", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("merged_into", sa.Integer, nullable=False),
        sa.Column("merged_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("story_id", name="pk_story_merges"),
    )
    op.create_index("ix_story_merges_merged_into", "story_merges", ["merged_into"])


def downgrade() -> None:
    op.drop_index("ix_story_merges_merged_into", table_name="story_merges")
    op.drop_table("story_merges")
    with op.batch_alter_table("entries") as batch:
        batch.drop_column("story_closed")
        batch.drop_column("credits")
        batch.drop_column("story_features")
