"""Stories filed but not yet told: the filing transaction records them, the delivery role tells the readers.

Revision ID: 0008
Revises: 0007
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision: str = "0008"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "untold",
        sa.Column("id", sa.Integer, nullable=False),
        sa.Column("story_id", sa.Integer),
        sa.Column("alert_ids", sa.JSON, nullable=False),
        sa.Column("grown", sa.Boolean, nullable=False),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_untold"),
    )


def downgrade() -> None:
    op.drop_table("untold")
