"""Feeds with fetch state, entries (with their story), matches and alerts (one per rule and story).

Revision ID: 0001
Revises:
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "feeds",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("every_seconds", sa.Float),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("content_hash", sa.String(64)),
        sa.Column("last_polled_at", UTCDateTime),
        sa.Column("last_success_at", UTCDateTime),
        sa.Column("last_error", sa.Text),
        sa.Column("last_error_at", UTCDateTime),
        sa.Column("consecutive_errors", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_poll_at", UTCDateTime),
        sa.Column("items_per_day", sa.Float),
        sa.Column("failing_since", UTCDateTime),
        sa.Column("newest_entry_at", UTCDateTime),
        sa.Column("ttl_seconds", sa.Float),
        sa.Column("first_poll_done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_feeds"),
        sa.UniqueConstraint("url", name="uq_feeds_url"),
    )
    op.create_table(
        "entries",
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
        sa.Column("story_id", sa.Integer),
        sa.Column("copy_of", sa.Integer),
        sa.PrimaryKeyConstraint("id", name="pk_entries"),
        sa.ForeignKeyConstraint(
            ["feed_id"], ["feeds.id"], name="fk_entries_feed_id_feeds", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("feed_id", "key_hash", name="uq_entries_feed_key"),
    )
    op.create_index("ix_entries_seen_at", "entries", ["seen_at"])
    op.create_index("ix_entries_url", "entries", ["url"])
    op.create_index("ix_entries_story_id", "entries", ["story_id"])
    op.create_table(
        "matches",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("entry_id", sa.Integer, nullable=False),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("rule_title", sa.Text, nullable=False),
        sa.Column("clauses", sa.JSON, nullable=False),
        sa.Column("score", sa.Float),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_matches"),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_matches_entry_id_entries", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("entry_id", "rule_id", name="uq_matches_entry_rule"),
    )
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("match_id", sa.Integer, nullable=False),
        sa.Column("entry_id", sa.Integer, nullable=False),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("story_id", sa.Integer),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_alerts"),
        sa.ForeignKeyConstraint(
            ["match_id"], ["matches.id"], name="fk_alerts_match_id_matches", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["entry_id"], ["entries.id"], name="fk_alerts_entry_id_entries", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("rule_id", "entry_id", name="uq_alerts_rule_entry"),
        sa.UniqueConstraint("rule_id", "story_id", name="uq_alerts_rule_story"),
    )
    op.create_index("ix_alerts_rule_created", "alerts", ["rule_id", "created_at"])


def downgrade() -> None:
    op.drop_table("alerts")
    op.drop_table("matches")
    op.drop_table("entries")
    op.drop_table("feeds")
