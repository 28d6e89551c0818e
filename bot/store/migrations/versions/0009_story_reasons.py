"""What joined each entry to its story (shared words, names, entities, the meaning score) and the language
the story index read it in, for Why? and for alerts that name a story's languages.

Revision ID: 0009
Revises: 0008
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("entries", sa.Column("story_reason", sa.Text))
    op.add_column("entries", sa.Column("story_language", sa.String(8)))


def downgrade() -> None:
    # Never a copy of the table (SQLite's batch mode would copy it, and dropping the old one would delete the
    # rows that refer to it): ALTER TABLE ... DROP COLUMN, which SQLite has since 3.35.
    with op.batch_alter_table("entries", recreate="never") as batch:
        batch.drop_column("story_language")
        batch.drop_column("story_reason")
