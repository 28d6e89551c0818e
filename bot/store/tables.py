"""Tables of the pipeline's own state: feeds (with fetch state), entries, matches and alerts.

A story has no table of its own: its id is the id of the entry that opened it, and `entries.story_id`
lists its members. When stories merge, their members move to the oldest and `story_merges` points the
others' ids at it, so alerts and messages of a merged story still find their story. Each entry keeps
what the story index needs to restore it (`story_features`, `story_closed` when it opened a story that
nothing may join, `meaning_kept` when the index kept its texts for the meaning signal) and the credits found
in its text.
An alert belongs to one (rule, story): outlets that join later edit it.
On PostgreSQL, the process polling a feed holds a claim on its row (`claimed_by`, until `claim_expires`;
see bot/store/claims.py). Every entry travels the same way (bot/ingest/pipeline.py): a poll stores it as an
`unfiled` row (bot/store/unfiled.py), the ingest role files it and records each story that alerted or grew
as an `untold` row (bot/store/untold.py), and the delivery role tells the readers (the outbox).

Other modules of bot/store/ add their tables to the same `metadata`; every table is created by an Alembic
migration in bot/store/migrations/versions, and a test checks the two agree.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Timestamps stored as UTC and always read back timezone-aware (SQLite forgets the zone)."""

    impl = sa.DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the store; use timezone-aware UTC")
        return value.astimezone(UTC)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def inserted_id(result: sa.CursorResult[Any]) -> int:
    """The primary key an INSERT produced."""
    key = result.inserted_primary_key
    if key is None:
        raise RuntimeError("the database returned no primary key for an insert")
    return int(key[0])


feeds = sa.Table(
    "feeds",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("url", sa.Text, nullable=False, unique=True),
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
    sa.Column("next_poll_reason", sa.String(32)),
    sa.Column("schedule_key", sa.Text),
    sa.Column("first_poll_done", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("claimed_by", sa.String(64)),
    sa.Column("claim_expires", UTCDateTime),
    sa.Index("ix_feeds_next_poll_at", "next_poll_at"),
)


def _entry_columns() -> list[sa.Column[Any]]:
    """An entry as fetched: the columns `entries` and `unfiled` share (each table gets its own copies)."""
    return [
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("feed_id", sa.Integer, sa.ForeignKey("feeds.id", ondelete="CASCADE"), nullable=False),
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
    ]


entries = sa.Table(
    "entries",
    metadata,
    *_entry_columns(),
    sa.Column("story_id", sa.Integer),
    sa.Column("copy_of", sa.Integer),
    sa.Column("story_features", sa.LargeBinary),
    sa.Column("credits", sa.JSON),
    sa.Column("story_closed", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("story_reason", sa.Text),
    sa.Column("story_language", sa.String(8)),
    sa.Column("meaning_kept", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("feed_id", "key_hash", name="uq_entries_feed_key"),
    sa.Index("ix_entries_seen_at", "seen_at"),
    sa.Index("ix_entries_url", "url"),
    sa.Index("ix_entries_story_id", "story_id"),
)

story_merges = sa.Table(
    "story_merges",
    metadata,
    sa.Column("story_id", sa.Integer, primary_key=True, autoincrement=False),
    sa.Column("merged_into", sa.Integer, nullable=False),
    sa.Column("merged_at", UTCDateTime, nullable=False),
    sa.Index("ix_story_merges_merged_into", "merged_into"),
)

matches = sa.Table(
    "matches",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("rule_id", sa.String(200), nullable=False),
    sa.Column("rule_title", sa.Text, nullable=False),
    sa.Column("clauses", sa.JSON, nullable=False),
    sa.Column("score", sa.Float),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("entry_id", "rule_id", name="uq_matches_entry_rule"),
)

alerts = sa.Table(
    "alerts",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("match_id", sa.Integer, sa.ForeignKey("matches.id", ondelete="CASCADE"), nullable=False),
    sa.Column("entry_id", sa.Integer, sa.ForeignKey("entries.id", ondelete="CASCADE"), nullable=False),
    sa.Column("rule_id", sa.String(200), nullable=False),
    sa.Column("story_id", sa.Integer),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("rule_id", "entry_id", name="uq_alerts_rule_entry"),
    sa.UniqueConstraint("rule_id", "story_id", name="uq_alerts_rule_story"),
    sa.Index("ix_alerts_rule_created", "rule_id", "created_at"),
)

unfiled = sa.Table(
    "unfiled",
    metadata,
    *_entry_columns(),
    sa.Column("may_alert", sa.Boolean, nullable=False),
    sa.UniqueConstraint("feed_id", "key_hash", name="uq_unfiled_feed_key"),
)

untold = sa.Table(
    "untold",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("story_id", sa.Integer),
    sa.Column("alert_ids", sa.JSON, nullable=False),
    sa.Column("grown", sa.Boolean, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
)
