"""Trends and spikes: each topic's stories at their first publication time (filled from the stories stored),
each topic's latest surge, and whether a chat takes spike messages.

Revision ID: 0007
Revises: 0006
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_FIRST_AT = """
    SELECT story_id, MIN(CASE WHEN published_at IS NULL OR published_at > seen_at THEN seen_at ELSE published_at END)
        AS first_at
    FROM entries WHERE story_id IS NOT NULL GROUP BY story_id
"""
_HOUR = {
    "sqlite": "CAST(strftime('%s', s.first_at) AS INTEGER) / 3600",
    "postgresql": "CAST(FLOOR(EXTRACT(EPOCH FROM s.first_at) / 3600) AS INTEGER)",
}


def upgrade() -> None:
    op.create_table(
        "topic_stories",
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("story_id", sa.Integer, nullable=False, autoincrement=False),
        sa.Column("first_at", UTCDateTime, nullable=False),
        sa.Column("hour", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "story_id", name="pk_topic_stories"),
    )
    op.create_index("ix_topic_stories_rule_hour", "topic_stories", ["rule_id", "hour"])
    op.create_index("ix_topic_stories_story_id", "topic_stories", ["story_id"])
    op.create_table(
        "topic_surges",
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("number", sa.Integer, nullable=False),
        sa.Column("started_at", UTCDateTime, nullable=False),
        sa.Column("fired_at", UTCDateTime, nullable=False),
        sa.Column("peak", sa.Integer, nullable=False),
        sa.PrimaryKeyConstraint("rule_id", name="pk_topic_surges"),
    )
    with op.batch_alter_table("chats") as batch:
        batch.add_column(sa.Column("spikes", sa.Boolean, nullable=False, server_default=sa.true()))
    hour = _HOUR[op.get_bind().dialect.name]
    op.execute(
        f"""
        INSERT INTO topic_stories (rule_id, story_id, first_at, hour)
        SELECT t.rule_id, t.story_id, s.first_at, {hour}
        FROM (
            SELECT DISTINCT matches.rule_id, entries.story_id
            FROM matches JOIN entries ON entries.id = matches.entry_id
            WHERE entries.story_id IS NOT NULL
        ) AS t
        JOIN ({_FIRST_AT}) AS s ON s.story_id = t.story_id
        """
    )


def downgrade() -> None:
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("spikes")
    op.drop_table("topic_surges")
    op.drop_index("ix_topic_stories_story_id", table_name="topic_stories")
    op.drop_index("ix_topic_stories_rule_hour", table_name="topic_stories")
    op.drop_table("topic_stories")
