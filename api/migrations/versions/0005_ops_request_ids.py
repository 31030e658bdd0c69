"""Request ids on the message path: the webhook's id stored with the inbound row and its outbox rows,
so the worker's, Rasa's and the delivery's logs carry it.

Revision ID: 0005_ops_request_ids
Revises: 0001_core
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005_ops_request_ids"
down_revision: str | Sequence[str] | None = "0001_core"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("inbound_messages", sa.Column("request_id", sa.String(64), nullable=True))
    op.add_column("outbound_messages", sa.Column("request_id", sa.String(64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("outbound_messages") as batch:
        batch.drop_column("request_id")
    with op.batch_alter_table("inbound_messages") as batch:
        batch.drop_column("request_id")
