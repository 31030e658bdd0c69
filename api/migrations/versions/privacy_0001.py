"""Privacy records: legal holds on cases, erasure requests and their tombstones, consent and legal
basis per purpose of a conversation.

Revision ID: privacy_0001
Revises: 0002_cases
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'privacy_0001'
down_revision: str | Sequence[str] | None = '0002_cases'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('privacy_consents',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('purpose', sa.String(length=32), nullable=False),
    sa.Column('legal_basis', sa.String(length=32), nullable=False),
    sa.Column('notice_shown_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('granted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('withdrawn_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('age_told', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                            name=op.f('fk_privacy_consents_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id',
                            name=op.f('pk_privacy_consents')),
    sa.UniqueConstraint('conversation_id', 'purpose', name='uq_privacy_consents_purpose')
    )
    op.create_table('privacy_erasure_requests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('sender_id', sa.String(length=64), nullable=True),
    sa.Column('conversation_id', sa.Integer(), nullable=True),
    sa.Column('via', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=24), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('requested_by', sa.Integer(), nullable=True),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decision_reason', sa.String(length=500), nullable=False),
    sa.Column('counts', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'],
                            name=op.f('fk_privacy_erasure_requests_conversation_id_conversations'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'],
                            name=op.f('fk_privacy_erasure_requests_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['requested_by'], ['users.id'],
                            name=op.f('fk_privacy_erasure_requests_requested_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id',
                            name=op.f('pk_privacy_erasure_requests'))
    )
    with op.batch_alter_table('privacy_erasure_requests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_privacy_erasure_requests_sender_id'), ['sender_id'], unique=False)
        batch_op.create_index('ix_privacy_erasure_requests_status', ['status', 'id'], unique=False)

    op.create_table('privacy_legal_holds',
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('held_by', sa.Integer(), nullable=True),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('held_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                            name=op.f('fk_privacy_legal_holds_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['held_by'], ['users.id'],
                            name=op.f('fk_privacy_legal_holds_held_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('case_id',
                            name=op.f('pk_privacy_legal_holds'))
    )


def downgrade() -> None:
    op.drop_table('privacy_legal_holds')
    with op.batch_alter_table('privacy_erasure_requests', schema=None) as batch_op:
        batch_op.drop_index('ix_privacy_erasure_requests_status')
        batch_op.drop_index(batch_op.f('ix_privacy_erasure_requests_sender_id'))

    op.drop_table('privacy_erasure_requests')
    op.drop_table('privacy_consents')
