"""Telegram front: chats, subscriptions, mutes and the persistent outbox.

Revision ID: 0002
Revises: 0001
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from bot.store.tables import UTCDateTime

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "chats",
        sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
        sa.Column("type", sa.String(20), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False, server_default=sa.true()),
        sa.Column("digest", sa.String(10), nullable=False, server_default="off"),
        sa.Column("digest_sent_at", UTCDateTime),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.Column("deactivated_at", UTCDateTime),
        sa.PrimaryKeyConstraint("id", name="pk_chats"),
    )
    op.create_table(
        "subscriptions",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("thread_id", sa.BigInteger),
        sa.Column("created_by", sa.BigInteger),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_subscriptions"),
        sa.ForeignKeyConstraint(
            ["chat_id"], ["chats.id"], name="fk_subscriptions_chat_id_chats", ondelete="CASCADE"
        ),
        sa.UniqueConstraint("chat_id", "rule_id", name="uq_subscriptions_chat_rule"),
    )
    op.create_index("ix_subscriptions_rule_id", "subscriptions", ["rule_id"])
    op.create_table(
        "mutes",
        sa.Column("chat_id", sa.BigInteger, nullable=False),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("until", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "rule_id", name="pk_mutes"),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name="fk_mutes_chat_id_chats", ondelete="CASCADE"),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("key", sa.String(300), nullable=False),
        sa.Column("chat_id", sa.BigInteger),
        sa.Column("thread_id", sa.BigInteger),
        sa.Column("target", sa.String(64)),
        sa.Column("alert_id", sa.Integer),
        sa.Column("rule_id", sa.String(200), nullable=False),
        sa.Column("story_id", sa.Integer),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("parent_id", sa.Integer),
        sa.Column("edit_of", sa.Integer),
        sa.Column("html", sa.Text, nullable=False),
        sa.Column("plain", sa.Text, nullable=False),
        sa.Column("headline", sa.JSON),
        sa.Column("published_at", UTCDateTime),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", UTCDateTime),
        sa.Column("attempted_at", UTCDateTime),
        sa.Column("sent_at", UTCDateTime),
        sa.Column("message_id", sa.BigInteger),
        sa.Column("error", sa.Text),
        sa.Column("created_at", UTCDateTime, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("key", name="uq_outbox_key"),
    )
    op.create_index("ix_outbox_status_chat", "outbox", ["status", "chat_id"])
    op.create_index("ix_outbox_story", "outbox", ["chat_id", "rule_id", "story_id"])


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("mutes")
    op.drop_table("subscriptions")
    op.drop_table("chats")
