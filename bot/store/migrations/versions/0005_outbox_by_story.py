"""One message per chat and story: the outbox is looked up by story (and chat), not by topic.

Revision ID: 0005
Revises: 0004
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_outbox_story", table_name="outbox")
    op.create_index("ix_outbox_story_chat", "outbox", ["story_id", "chat_id"])


def downgrade() -> None:
    op.drop_index("ix_outbox_story_chat", table_name="outbox")
    op.create_index("ix_outbox_story", "outbox", ["chat_id", "rule_id", "story_id"])
