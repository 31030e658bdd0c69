"""Casework: record fields (data), case records, referrals with follow-up, canned replies.

Revision ID: casework_0001
Revises: 0004_content
"""
from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = 'casework_0001'
down_revision: str | Sequence[str] | None = '0004_content'
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table('casework_record_fields',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=40), nullable=False),
    sa.Column('label', sa.String(length=120), nullable=False),
    sa.Column('kind', sa.String(length=16), nullable=False),
    sa.Column('help', sa.String(length=300), nullable=False),
    sa.Column('options', sa.JSON(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casework_record_fields')),
    sa.UniqueConstraint('key', name=op.f('uq_casework_record_fields_key'))
    )
    op.create_table('casework_canned_replies',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('key', sa.String(length=60), nullable=False),
    sa.Column('situation', sa.String(length=80), nullable=False),
    sa.Column('title', sa.String(length=120), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('safety_critical', sa.Boolean(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'],
                            name=op.f('fk_casework_canned_replies_updated_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casework_canned_replies')),
    sa.UniqueConstraint('key', name=op.f('uq_casework_canned_replies_key'))
    )
    op.create_table('casework_case_records',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('values_encrypted', sa.Text(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.Integer(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                            name=op.f('fk_casework_case_records_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['updated_by'], ['users.id'],
                            name=op.f('fk_casework_case_records_updated_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casework_case_records')),
    sa.UniqueConstraint('case_id', name=op.f('uq_casework_case_records_case_id'))
    )
    op.create_table('casework_referrals',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('case_id', sa.Integer(), nullable=False),
    sa.Column('recipient', sa.String(length=24), nullable=False),
    sa.Column('directory_id', sa.Integer(), nullable=True),
    sa.Column('recipient_name', sa.String(length=200), nullable=False),
    sa.Column('email', sa.String(length=254), nullable=True),
    sa.Column('reason_encrypted', sa.Text(), nullable=False),
    sa.Column('shared_encrypted', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('due_date', sa.Date(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('overdue_alerted_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_status', sa.String(length=16), nullable=False),
    sa.Column('email_attempts', sa.Integer(), nullable=False),
    sa.Column('email_next_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('email_error', sa.String(length=300), nullable=True),
    sa.ForeignKeyConstraint(['case_id'], ['cases.id'],
                            name=op.f('fk_casework_referrals_case_id_cases'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'],
                            name=op.f('fk_casework_referrals_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['directory_id'], ['content_directory_entries.id'],
                            name=op.f('fk_casework_referrals_directory_id_content_directory_entries'),
                            ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_casework_referrals'))
    )
    with op.batch_alter_table('casework_referrals', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_casework_referrals_case_id'), ['case_id'], unique=False)
        batch_op.create_index('ix_casework_referrals_status_due', ['status', 'due_date'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('casework_referrals', schema=None) as batch_op:
        batch_op.drop_index('ix_casework_referrals_status_due')
        batch_op.drop_index(batch_op.f('ix_casework_referrals_case_id'))

    op.drop_table('casework_referrals')
    op.drop_table('casework_case_records')
    op.drop_table('casework_canned_replies')
    op.drop_table('casework_record_fields')
