"""Content run by campaign staff: responses and versions, inbox, retraining, subscribers,
broadcasts, quizzes and the help directory (seeded with the national numbers by the app).

Revision ID: 0004_content
Revises: 0002_cases
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_content"
down_revision = "0002_cases"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('content_directory_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=200), nullable=False),
    sa.Column('kind', sa.String(length=32), nullable=False),
    sa.Column('province', sa.String(length=100), nullable=False),
    sa.Column('district', sa.String(length=100), nullable=False),
    sa.Column('commune', sa.String(length=100), nullable=False),
    sa.Column('phone', sa.String(length=40), nullable=False),
    sa.Column('hours', sa.String(length=100), nullable=False),
    sa.Column('national', sa.Boolean(), nullable=False),
    sa.Column('place_key', sa.String(length=400), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_directory_entries'))
    )
    op.create_table('content_inbox_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('sender_id', sa.String(length=64), nullable=False),
    sa.Column('text_encrypted', sa.Text(), nullable=False),
    sa.Column('risk_level', sa.String(length=16), nullable=False),
    sa.Column('intent', sa.String(length=120), nullable=True),
    sa.Column('confidence', sa.Double(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=120), nullable=True),
    sa.Column('proposed_answer', sa.Text(), nullable=True),
    sa.Column('reviewed_by', sa.String(length=254), nullable=True),
    sa.Column('reviewed_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('exported_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_inbox_items'))
    )
    op.create_index(op.f('ix_content_inbox_items_created_at'), 'content_inbox_items', ['created_at'], unique=False)
    op.create_index(op.f('ix_content_inbox_items_status'), 'content_inbox_items', ['status'], unique=False)
    op.create_table('content_quizzes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('questions', sa.JSON(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_quizzes'))
    )
    op.create_table('content_responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('safety_critical', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_responses')),
    sa.UniqueConstraint('name', name=op.f('uq_content_responses_name'))
    )
    op.create_table('content_retrain_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('stage', sa.String(length=200), nullable=False),
    sa.Column('model_path', sa.String(length=500), nullable=True),
    sa.Column('candidate_metrics', sa.JSON(), nullable=True),
    sa.Column('baseline_metrics', sa.JSON(), nullable=True),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('log_tail', sa.Text(), nullable=False),
    sa.Column('started_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_retrain_jobs'))
    )
    op.create_table('content_broadcasts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('title', sa.String(length=200), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('buttons', sa.JSON(), nullable=False),
    sa.Column('channels', sa.JSON(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('scheduled_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('created_by', sa.String(length=254), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(
        ['quiz_id'],
        ['content_quizzes.id'],
        name=op.f('fk_content_broadcasts_quiz_id_content_quizzes'),
        ondelete='SET NULL',
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_broadcasts'))
    )
    op.create_index(op.f('ix_content_broadcasts_status'), 'content_broadcasts', ['status'], unique=False)
    op.create_table('content_quiz_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('quiz_id', sa.Integer(), nullable=False),
    sa.Column('question_index', sa.Integer(), nullable=False),
    sa.Column('correct_answers', sa.Integer(), nullable=False),
    sa.Column('finished', sa.Boolean(), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ['conversation_id'],
        ['conversations.id'],
        name=op.f('fk_content_quiz_sessions_conversation_id_conversations'),
        ondelete='CASCADE',
    ),
    sa.ForeignKeyConstraint(
        ['quiz_id'],
        ['content_quizzes.id'],
        name=op.f('fk_content_quiz_sessions_quiz_id_content_quizzes'),
        ondelete='CASCADE',
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_quiz_sessions'))
    )
    op.create_index(
        'ix_content_quiz_sessions_running',
        'content_quiz_sessions',
        ['conversation_id', 'finished'],
        unique=False,
    )
    op.create_table('content_response_versions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.Column('variations', sa.JSON(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('author', sa.String(length=254), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('approved_by', sa.String(length=254), nullable=True),
    sa.Column('approved_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('rollback_of', sa.Integer(), nullable=True),
    sa.Column('note', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(
        ['response_id'],
        ['content_responses.id'],
        name=op.f('fk_content_response_versions_response_id_content_responses'),
        ondelete='CASCADE',
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_response_versions')),
    sa.UniqueConstraint('response_id', 'version', name='uq_content_response_versions_number')
    )
    op.create_index(
        op.f('ix_content_response_versions_response_id'),
        'content_response_versions',
        ['response_id'],
        unique=False,
    )
    op.create_table('content_subscribers',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('subscribed', sa.Boolean(), nullable=False),
    sa.Column('opted_in_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('opted_out_at', sa.DateTime(timezone=True), nullable=True),
    sa.ForeignKeyConstraint(
        ['conversation_id'],
        ['conversations.id'],
        name=op.f('fk_content_subscribers_conversation_id_conversations'),
        ondelete='CASCADE',
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_subscribers')),
    sa.UniqueConstraint('conversation_id', name=op.f('uq_content_subscribers_conversation_id'))
    )
    op.create_index(op.f('ix_content_subscribers_channel'), 'content_subscribers', ['channel'], unique=False)
    op.create_table('content_broadcast_deliveries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('broadcast_id', sa.Integer(), nullable=False),
    sa.Column('conversation_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('skip_reason', sa.String(length=64), nullable=True),
    sa.Column('outbound_message_id', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(
        ['broadcast_id'],
        ['content_broadcasts.id'],
        name=op.f('fk_content_broadcast_deliveries_broadcast_id_content_broadcasts'),
        ondelete='CASCADE',
    ),
    sa.ForeignKeyConstraint(
        ['conversation_id'],
        ['conversations.id'],
        name=op.f('fk_content_broadcast_deliveries_conversation_id_conversations'),
        ondelete='CASCADE',
    ),
    sa.ForeignKeyConstraint(
        ['outbound_message_id'],
        ['outbound_messages.id'],
        name=op.f('fk_content_broadcast_deliveries_outbound_message_id_outbound_messages'),
        ondelete='SET NULL',
    ),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_broadcast_deliveries')),
    sa.UniqueConstraint('broadcast_id', 'conversation_id', name='uq_content_broadcast_deliveries_once')
    )
    op.create_index(
        op.f('ix_content_broadcast_deliveries_broadcast_id'),
        'content_broadcast_deliveries',
        ['broadcast_id'],
        unique=False,
    )

    op.create_table('content_message_stats',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('day', sa.String(length=10), nullable=False),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('topic', sa.String(length=120), nullable=False),
    sa.Column('risk_level', sa.String(length=16), nullable=False),
    sa.Column('messages', sa.Integer(), nullable=False),
    sa.Column('fallbacks', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_content_message_stats')),
    sa.UniqueConstraint('day', 'channel', 'topic', 'risk_level', name='uq_content_message_stats_key')
    )


def downgrade() -> None:
    op.drop_table('content_message_stats')
    op.drop_index(op.f('ix_content_broadcast_deliveries_broadcast_id'), table_name='content_broadcast_deliveries')
    op.drop_table('content_broadcast_deliveries')
    op.drop_index(op.f('ix_content_subscribers_channel'), table_name='content_subscribers')
    op.drop_table('content_subscribers')
    op.drop_index(op.f('ix_content_response_versions_response_id'), table_name='content_response_versions')
    op.drop_table('content_response_versions')
    op.drop_index('ix_content_quiz_sessions_running', table_name='content_quiz_sessions')
    op.drop_table('content_quiz_sessions')
    op.drop_index(op.f('ix_content_broadcasts_status'), table_name='content_broadcasts')
    op.drop_table('content_broadcasts')
    op.drop_table('content_retrain_jobs')
    op.drop_table('content_responses')
    op.drop_table('content_quizzes')
    op.drop_index(op.f('ix_content_inbox_items_status'), table_name='content_inbox_items')
    op.drop_index(op.f('ix_content_inbox_items_created_at'), table_name='content_inbox_items')
    op.drop_table('content_inbox_items')
    op.drop_table('content_directory_entries')
