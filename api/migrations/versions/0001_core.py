"""Core message path: conversations, inbound queue, outbox, button payload keys.

Revision ID: 0001_core
Revises:
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001_core"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "conversations",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("sender_id", sa.String(64), nullable=False),
        sa.Column("platform_user_id_encrypted", sa.Text(), nullable=False),
        sa.Column("state", sa.String(16), nullable=False, server_default="bot"),
        sa.Column("last_user_message_at", TS, nullable=True),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_conversations"),
        sa.UniqueConstraint("sender_id", name="uq_conversations_sender_id"),
    )
    op.create_table(
        "inbound_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("platform_message_key", sa.String(128), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("text_encrypted", sa.Text(), nullable=True),
        sa.Column("metadata", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("fallback_sent", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("lease_expires_at", TS, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("received_at", TS, nullable=False),
        sa.Column("processed_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_inbound_messages"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_inbound_messages_conversation_id_conversations"),
        sa.UniqueConstraint("channel", "platform_message_key", name="uq_inbound_messages_channel_key"),
    )
    op.create_index("ix_inbound_messages_status_due", "inbound_messages", ["status", "next_attempt_at"])
    op.create_index("ix_inbound_messages_conversation_order", "inbound_messages", ["conversation_id", "id"])
    op.create_table(
        "outbound_messages",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("channel", sa.String(16), nullable=False),
        sa.Column("payload_encrypted", sa.Text(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("next_attempt_at", TS, nullable=True),
        sa.Column("lease_expires_at", TS, nullable=True),
        sa.Column("last_error", sa.String(500), nullable=True),
        sa.Column("idempotency_key", sa.String(128), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.Column("sent_at", TS, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbound_messages"),
        sa.ForeignKeyConstraint(["conversation_id"], ["conversations.id"], ondelete="CASCADE",
                                name="fk_outbound_messages_conversation_id_conversations"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbound_messages_idempotency_key"),
    )
    op.create_index("ix_outbound_messages_status_due", "outbound_messages", ["status", "next_attempt_at"])
    op.create_index("ix_outbound_messages_conversation_order", "outbound_messages", ["conversation_id", "id"])
    op.create_table(
        "button_payloads",
        sa.Column("key", sa.String(32), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_button_payloads"),
    )


def downgrade() -> None:
    op.drop_table("button_payloads")
    op.drop_index("ix_outbound_messages_conversation_order", table_name="outbound_messages")
    op.drop_index("ix_outbound_messages_status_due", table_name="outbound_messages")
    op.drop_table("outbound_messages")
    op.drop_index("ix_inbound_messages_conversation_order", table_name="inbound_messages")
    op.drop_index("ix_inbound_messages_status_due", table_name="inbound_messages")
    op.drop_table("inbound_messages")
    op.drop_table("conversations")
