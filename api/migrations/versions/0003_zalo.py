"""Channel tables: the Zalo OA token pair, Zalo per-conversation state, the web chat mailbox.

Revision ID: 0003_zalo
Revises: 0001_core
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003_zalo"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "zalo_oa_tokens",
        sa.Column("app_id", sa.String(64), nullable=False),
        sa.Column("access_token_encrypted", sa.Text(), nullable=False),
        sa.Column("refresh_token_encrypted", sa.Text(), nullable=False),
        sa.Column("expires_at", TS, nullable=False),
        sa.Column("seed_fingerprint", sa.String(64), nullable=False),
        sa.Column("refresh_count", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("lock_version", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("app_id", name="pk_zalo_oa_tokens"),
    )
    op.create_table(
        "zalo_conversation_states",
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("choices", sa.JSON(), nullable=True),
        sa.Column("choices_offered_at", TS, nullable=True),
        sa.Column("unsubscribed_at", TS, nullable=True),
        sa.Column("updated_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("conversation_id", name="pk_zalo_conversation_states"),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], ondelete="CASCADE",
            name="fk_zalo_conversation_states_conversation_id_conversations",
        ),
    )
    op.create_table(
        "webchat_replies",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("conversation_id", sa.Integer(), nullable=False),
        sa.Column("payload_encrypted", sa.Text(), nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_webchat_replies"),
        sa.ForeignKeyConstraint(
            ["conversation_id"], ["conversations.id"], ondelete="CASCADE",
            name="fk_webchat_replies_conversation_id_conversations",
        ),
    )
    op.create_index("ix_webchat_replies_conversation_order", "webchat_replies", ["conversation_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_webchat_replies_conversation_order", table_name="webchat_replies")
    op.drop_table("webchat_replies")
    op.drop_table("zalo_conversation_states")
    op.drop_table("zalo_oa_tokens")
