"""Outbox lanes (safety replies, replies, broadcasts), the claiming process of queued rows and the
table of live gateway processes (heartbeats) for fast crash recovery.

Revision ID: 0005_lanes
Revises: 0001_core
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005_lanes"
down_revision = "0001_core"
branch_labels = None
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "gateway_instances",
        sa.Column("id", sa.String(36), nullable=False),
        sa.Column("hostname", sa.String(255), nullable=False),
        sa.Column("pid", sa.Integer(), nullable=False),
        sa.Column("started_at", TS, nullable=False),
        sa.Column("heartbeat_at", TS, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_gateway_instances"),
    )
    op.create_index("ix_gateway_instances_heartbeat_at", "gateway_instances", ["heartbeat_at"])
    with op.batch_alter_table("outbound_messages") as batch:
        # Rows queued before lanes existed are ordinary replies (or broadcasts, set just below).
        batch.add_column(sa.Column("lane", sa.SmallInteger(), nullable=False, server_default="1"))
        batch.add_column(sa.Column("claimed_by", sa.String(36), nullable=True))
        batch.create_index("ix_outbound_messages_status_lane", ["status", "lane", "id"])
    op.execute("UPDATE outbound_messages SET lane = 2 WHERE source = 'broadcast'")
    op.execute("UPDATE outbound_messages SET lane = 0 WHERE source = 'counselor'")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.add_column(sa.Column("claimed_by", sa.String(36), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("claimed_by")
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_index("ix_outbound_messages_status_lane")
        batch.drop_column("claimed_by")
        batch.drop_column("lane")
    op.drop_index("ix_gateway_instances_heartbeat_at", table_name="gateway_instances")
    op.drop_table("gateway_instances")
