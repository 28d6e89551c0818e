"""Why each feed's next poll is when it is, and the settings it was planned with.

Rows of earlier versions have no `schedule_key`, so every feed is planned anew at the first start: a
fixed `every` counts as written from then on.

Revision ID: 0004
Revises: 0003
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.add_column(sa.Column("next_poll_reason", sa.String(32)))
        batch.add_column(sa.Column("schedule_key", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("feeds") as batch:
        batch.drop_column("schedule_key")
        batch.drop_column("next_poll_reason")
