"""Which entries' texts the story index keeps for the meaning signal (it may alert and opened a story), so a
restart keeps them again: a report that arrives after it can still be compared in meaning with a story opened
before it.

Revision ID: 0010
Revises: 0009
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0010"
down_revision: str | Sequence[str] | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("entries", sa.Column("meaning_kept", sa.Boolean, nullable=False, server_default=sa.false()))


def downgrade() -> None:
    # ALTER TABLE ... DROP COLUMN, never a copy of the table (see 0009).
    with op.batch_alter_table("entries", recreate="never") as batch:
        batch.drop_column("meaning_kept")
